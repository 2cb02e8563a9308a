"""The etcd strategy's I/O: etcd's own lock (a key created only if absent, bound to a lease)
through etcd3gw, in worker threads so the event loop never waits on HTTP.

The fencing token is the lock key's create revision: etcd revisions only grow, and a key made
later always has a larger one. requests sessions are built with trust_env=False, so the
REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE of the environment cannot replace the configured CA
(research gotcha 8).
"""
from __future__ import annotations

import asyncio
import base64
import logging
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from ..core.lock_config import etcd_settings
from ..core.lock_etcd import EtcdLockCall, EtcdLockResult

log = logging.getLogger("ekka.locks.etcd")


def extras(agent) -> list:
    st = etcd_settings(agent.cfg.as_dict())
    return [EtcdLocks(agent, st)] if st else []


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def _unb64(s: str) -> str:
    return base64.b64decode(s).decode(errors="replace")


class EtcdLockStore:
    """Blocking calls on one etcd cluster (one client per thread, rotating through the URLs)."""

    def __init__(self, settings: dict):
        self.servers = settings["servers"]
        self.prefix = settings["prefix"].strip("/")
        self.ssl = settings["ssl"]
        self.timeout = settings["timeout"]
        self.local = threading.local()
        self.leases: dict[str, int] = {}          # key -> lease id of our hold
        self.lock = threading.Lock()
        self.current = 0

    def key(self, resource: str) -> str:
        return "/%s/%s" % (self.prefix, resource)

    def _client(self, index: int):
        import requests
        from etcd3gw.client import Etcd3Client
        cache = getattr(self.local, "clients", None)
        if cache is None:
            cache = self.local.clients = {}
        if index not in cache:
            u = urlsplit(self.servers[index])
            s = requests.Session()
            s.trust_env = False
            if u.scheme == "https":
                s.verify = self.ssl.get("cacertfile") or True
                if self.ssl.get("certfile") and self.ssl.get("keyfile"):
                    s.cert = (self.ssl["certfile"], self.ssl["keyfile"])
            cache[index] = Etcd3Client(host=u.hostname, port=u.port, protocol=u.scheme, timeout=self.timeout,
                                       api_path="/v3/", session=s)
        return cache[index]

    def post(self, path: str, body: dict) -> dict:
        """POST to the first server that answers; remember it for the next call."""
        from etcd3gw import exceptions as ex
        last = None
        for i in range(len(self.servers)):
            idx = (self.current + i) % len(self.servers)
            c = self._client(idx)
            try:
                r = c.post(c.get_url(path), json=body)
                self.current = idx
                return r
            except (ex.ConnectionFailedError, ex.ConnectionTimeoutError) as e:
                last = e
        raise ConnectionError("no etcd server answers (%s): %s" % (", ".join(self.servers), last))

    # ---- operations ----
    def acquire(self, resource: str, owner: str, lease: float) -> dict:
        k = self.key(resource)
        lid = int(self.post("/lease/grant", {"TTL": max(1, math.ceil(lease))})["ID"])
        kb = _b64(k)
        r = self.post("/kv/txn", {
            "compare": [{"key": kb, "result": "EQUAL", "target": "CREATE", "create_revision": 0}],
            "success": [{"request_put": {"key": kb, "value": _b64(owner), "lease": lid}}],
            "failure": [{"request_range": {"key": kb}}]})
        if r.get("succeeded"):
            with self.lock:
                self.leases[k] = lid
            return {"ok": True, "token": int(r["header"]["revision"])}
        self.post("/kv/lease/revoke", {"ID": lid})
        kvs = r["responses"][0]["response_range"].get("kvs") or []
        if kvs and _unb64(kvs[0]["value"]) == owner:
            # Re-entrant: keep the first hold's lease and token, and refresh it.
            held = int(kvs[0].get("lease") or 0)
            with self.lock:
                self.leases[k] = held
            if held:
                self.post("/lease/keepalive", {"ID": held})
            return {"ok": True, "token": int(kvs[0]["create_revision"])}
        holder = _unb64(kvs[0]["value"]) if kvs else "?"
        return {"ok": False, "error": "locked", "message": "%r is held in etcd by %s" % (resource, holder)}

    def renew(self, resource: str, owner: str) -> dict:
        k = self.key(resource)
        with self.lock:
            lid = self.leases.get(k)
        if lid is None:
            lid = self._owned_lease(k, owner)
        if lid:
            r = self.post("/lease/keepalive", {"ID": lid})
            if int(r.get("result", {}).get("TTL", -1)) > 0:
                kv = self._get(k)
                if kv and _unb64(kv["value"]) == owner:
                    return {"ok": True, "token": int(kv["create_revision"])}
        return {"ok": False, "error": "lost", "message": "the etcd lease of %r has expired" % resource}

    def release(self, resource: str, owner: str) -> dict:
        k = self.key(resource)
        kb = _b64(k)
        r = self.post("/kv/txn", {
            "compare": [{"key": kb, "result": "EQUAL", "target": "VALUE", "value": _b64(owner)}],
            "success": [{"request_delete_range": {"key": kb}}]})
        with self.lock:
            lid = self.leases.pop(k, None)
        return {"ok": True, "released": bool(r.get("succeeded")), "revoke": lid}

    def revoke(self, lid: int) -> None:
        try:
            self.post("/kv/lease/revoke", {"ID": lid})
        except Exception as e:  # the key is gone already; an orphan lease just times out
            log.debug("could not revoke etcd lease %s: %s", lid, e)

    def _get(self, k: str):
        kvs = self.post("/kv/range", {"key": _b64(k)}).get("kvs") or []
        return kvs[0] if kvs else None

    def _owned_lease(self, k: str, owner: str):
        kv = self._get(k)
        if kv and _unb64(kv["value"]) == owner:
            return int(kv.get("lease") or 0)
        return None


class EtcdLocks:
    def __init__(self, agent, settings: dict):
        self.agent = agent
        self.store = EtcdLockStore(settings)
        self.pool = None

    async def start(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="etcd-locks")

    async def stop(self) -> None:
        if self.pool:
            self.pool.shutdown(wait=False, cancel_futures=True)

    def on_action(self, a) -> bool:
        if not isinstance(a, EtcdLockCall):
            return False
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(self.pool, self._run, a)
        fut.add_done_callback(lambda f: self._done(a, f))
        return True

    def _run(self, a: EtcdLockCall) -> EtcdLockResult:
        s = self.store
        try:
            if a.kind == "acquire":
                r = s.acquire(a.resource, a.owner, a.lease)
            elif a.kind == "renew":
                r = s.renew(a.resource, a.owner)
            else:
                r = s.release(a.resource, a.owner)
                lid = r.pop("revoke", None)
                if lid:   # off the caller's path: the key is already deleted
                    self.pool.submit(s.revoke, lid)
        except ConnectionError as e:
            return EtcdLockResult(a.op, False, error="etcd_unavailable", message=str(e))
        except Exception as e:  # a bad answer from etcd fails this call, not the agent
            return EtcdLockResult(a.op, False, error="etcd_error", message="%s: %s" % (type(e).__name__, e))
        ok = r.pop("ok")
        err, msg = r.pop("error", None), r.pop("message", None)
        r.update(kind=a.kind, resource=a.resource, owner=a.owner)
        return EtcdLockResult(a.op, ok, r, err, msg)

    def _done(self, a: EtcdLockCall, fut) -> None:
        if fut.cancelled():
            return
        try:
            res = fut.result()
        except Exception as e:
            res = EtcdLockResult(a.op, False, error="etcd_error", message=str(e))
        if self.agent.core is not None:
            self.agent.feed(res)
