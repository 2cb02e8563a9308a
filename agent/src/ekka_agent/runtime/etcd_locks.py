"""The etcd strategy's I/O: etcd's own lock (a key created only if absent, bound to a lease)
through the one etcd client (etcd_client.py), in worker threads so the event loop never waits
on HTTP.

The fencing token is the lock key's create revision: etcd revisions only grow, and a key made
later always has a larger one.
"""
from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from ..core.lock_config import etcd_settings
from ..etcd_client import EtcdClient
from ..etcd_client import b64 as _b64
from ..etcd_client import unb64 as _unb64
from ..core.lock_etcd import EtcdLockCall, EtcdLockResult
from .extras import Extra

log = logging.getLogger("ekka.locks.etcd")


def extras(agent) -> list:
    st = etcd_settings(agent.cfg.as_dict())
    return [EtcdLocks(agent, st)] if st else []


# Seconds of etcd's lease a holder does not count on: etcd's TTLs are whole seconds and its
# clock need not run at exactly the rate of the holder's.
MARGIN = 1


def ttl_for(lease: float) -> int:
    """The etcd TTL asked for a lease: the lease plus MARGIN, in whole seconds."""
    return math.ceil(lease) + MARGIN


def promise(lease: float, ttl: int) -> float:
    """How long a holder may trust a hold etcd confirmed for ttl seconds: the lease it asked
    for, unless etcd gave less (a keepalive keeps the TTL the lease was granted with)."""
    return float(min(lease, ttl - MARGIN))


class EtcdLockStore:
    """Blocking calls on one etcd cluster (etcd_client.py: endpoints in turn, one session per thread)."""

    def __init__(self, settings: dict):
        self.client = EtcdClient(settings["servers"], settings["ssl"], settings["timeout"])
        self.prefix = settings["prefix"].strip("/")
        self.later = None    # runs a revoke off the caller's path (set by EtcdLocks)

    def key(self, resource: str) -> str:
        return "/%s/%s" % (self.prefix, resource)

    def post(self, path: str, body: dict) -> dict:
        return self.client.post(path, body)

    # ---- operations ----
    # Every hold is the key bound to an etcd lease of its own. A successful acquire binds the key
    # to a lease granted during that call, so its holder may trust it from before it asked for
    # the lease it is told (at most the TTL minus MARGIN). A release names the lease of the hold
    # it means: a late release, or the hand-back of an acquire the core gave up on, cannot free
    # a newer hold, because a re-entrant acquire moves the key to a new lease.
    def _grant(self, ttl: int) -> tuple[int, int]:
        return self.client.grant(ttl)

    def acquire(self, resource: str, owner: str, lease: float) -> dict:
        k = self.key(resource)
        kb = _b64(k)
        for _ in range(3):
            lid, ttl = self._grant(ttl_for(lease))
            r = self.post("/kv/txn", {
                "compare": [{"key": kb, "result": "EQUAL", "target": "CREATE", "create_revision": 0}],
                "success": [{"request_put": {"key": kb, "value": _b64(owner), "lease": lid}}],
                "failure": [{"request_range": {"key": kb}}]})
            if r.get("succeeded"):
                return self._held(int(r["header"]["revision"]), lid, ttl, lease, joined=False)
            kvs = r["responses"][0]["response_range"].get("kvs") or []
            if not kvs or _unb64(kvs[0]["value"]) != owner:
                self._revoke_later(lid)
                holder = _unb64(kvs[0]["value"]) if kvs else "?"
                return {"ok": False, "error": "locked", "message": "%r is held in etcd by %s" % (resource, holder)}
            # Re-entrant: move the key onto the new lease (its create revision, the token, stays).
            old = int(kvs[0].get("lease") or 0)
            old_ttl = self._granted_ttl(old)
            if old_ttl > ttl:
                # Never shorten what the earlier grant promised: etcd keeps the longer TTL.
                self.revoke(lid)
                lid, ttl = self._grant(old_ttl)
            r = self.post("/kv/txn", {
                "compare": [{"key": kb, "result": "EQUAL", "target": "VALUE", "value": _b64(owner)},
                            {"key": kb, "result": "EQUAL", "target": "LEASE", "lease": old}],
                "success": [{"request_put": {"key": kb, "value": _b64(owner), "lease": lid}}]})
            if r.get("succeeded"):
                if old:
                    self._revoke_later(old)   # nothing is bound to it any more
                return self._held(int(kvs[0]["create_revision"]), lid, ttl, lease, joined=True)
            self.revoke(lid)           # the key changed meanwhile: look again
        return {"ok": False, "error": "locked", "message": "%r kept changing in etcd" % resource}

    @staticmethod
    def _held(token: int, lid: int, ttl: int, lease: float, joined: bool) -> dict:
        return {"ok": True, "token": token, "lease_id": lid, "lease": promise(lease, ttl), "joined": joined}

    def _granted_ttl(self, lid: int) -> int:
        if not lid:
            return 0
        return self.client.granted_ttl(lid)

    def renew(self, resource: str, owner: str, lease: float, lid: int | None = None) -> dict:
        k = self.key(resource)
        lost = {"ok": False, "error": "lost", "message": "%s no longer holds %r in etcd" % (owner, resource)}
        if not lid:    # the core does not know the hold's lease (an older state file): the key's
            kv = self._get(k)
            if not kv or _unb64(kv["value"]) != owner:
                return lost
            lid = int(kv.get("lease") or 0)
        # A keepalive only ever lengthens a lease: confirmed alive now, it lasts TTL from now.
        ttl = self.client.keepalive(lid)
        if ttl <= 0:
            return lost
        kv = self._get(k)
        # Still ours and still on that lease (a lease is bound to one hold only, once).
        if not kv or _unb64(kv["value"]) != owner or int(kv.get("lease") or 0) != lid:
            return lost
        return {"ok": True, "token": int(kv["create_revision"]), "lease_id": lid, "lease": promise(lease, ttl)}

    def release(self, resource: str, owner: str, lid: int | None = None) -> dict:
        k = self.key(resource)
        kb = _b64(k)
        if not lid:
            kv = self._get(k)
            if not kv or _unb64(kv["value"]) != owner:
                return {"ok": True, "released": False}
            lid = int(kv.get("lease") or 0)
        r = self.post("/kv/txn", {
            "compare": [{"key": kb, "result": "EQUAL", "target": "VALUE", "value": _b64(owner)},
                        {"key": kb, "result": "EQUAL", "target": "LEASE", "lease": lid}],
            "success": [{"request_delete_range": {"key": kb}}]})
        # Revoking is safe either way: no key is bound to this lease once the compare fails.
        return {"ok": True, "released": bool(r.get("succeeded")), "revoke": lid}

    def _revoke_later(self, lid: int) -> None:
        if self.later is not None:
            self.later(lid)
        else:
            self.revoke(lid)

    def revoke(self, lid: int) -> None:
        try:
            self.client.revoke(lid)
        except Exception as e:  # the key is gone already; an orphan lease just times out
            log.debug("could not revoke etcd lease %s: %s", lid, e)

    def _get(self, k: str):
        return self.client.get(k)


class EtcdLocks(Extra):
    """Runs the core's etcd calls in worker threads, one call at a time per resource and in the
    order the core made them: a release the core sent before an acquire of the same owner has
    finished in etcd before that acquire starts."""

    def __init__(self, agent, settings: dict):
        self.agent = agent
        self.store = EtcdLockStore(settings)
        self.pool = None
        self.queues: dict[str, deque] = {}   # resource -> calls waiting behind the running one
        # An acquire or renew still queued after this long was answered `timeout` by the core:
        # it is dropped rather than run (a release always runs).
        self.stale_after = 2 * settings["timeout"]

    async def start(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="etcd-locks")
        self.store.later = lambda lid: self.pool.submit(self.store.revoke, lid)

    async def stop(self) -> None:
        if self.pool:
            self.pool.shutdown(wait=False, cancel_futures=True)

    def on_action(self, a) -> bool:
        if not isinstance(a, EtcdLockCall):
            return False
        q = self.queues.get(a.resource)
        if q is None:
            self.queues[a.resource] = deque()
            self._submit(a, time.monotonic())
        else:
            q.append((a, time.monotonic()))
        return True

    def _submit(self, a: EtcdLockCall, queued_at: float) -> None:
        loop = asyncio.get_running_loop()
        try:
            fut = loop.run_in_executor(self.pool, self._run, a, queued_at)
        except RuntimeError:   # stopping: the pool is shut down
            return
        fut.add_done_callback(lambda f: self._done(a, f))

    def _run(self, a: EtcdLockCall, queued_at: float) -> EtcdLockResult:
        s = self.store
        if a.kind != "release" and time.monotonic() - queued_at > self.stale_after:
            return EtcdLockResult(a.op, False, error="timeout", message="dropped: waited too long for etcd")
        try:
            if a.kind == "acquire":
                r = s.acquire(a.resource, a.owner, a.lease)
            elif a.kind == "renew":
                r = s.renew(a.resource, a.owner, a.lease, a.lease_id)
            else:
                r = s.release(a.resource, a.owner, a.lease_id)
                lid = r.pop("revoke", None)
                if lid:   # off the caller's path: the key is already deleted
                    s.later(lid)
        except ConnectionError as e:
            return EtcdLockResult(a.op, False, error="etcd_unavailable", message="no etcd server answers: %s" % e)
        except Exception as e:  # a bad answer from etcd fails this call, not the agent
            return EtcdLockResult(a.op, False, error="etcd_error", message="%s: %s" % (type(e).__name__, e))
        ok = r.pop("ok")
        err, msg = r.pop("error", None), r.pop("message", None)
        r.update(kind=a.kind, resource=a.resource, owner=a.owner)
        return EtcdLockResult(a.op, ok, r, err, msg)

    def _done(self, a: EtcdLockCall, fut) -> None:
        q = self.queues.get(a.resource)
        if q:
            self._submit(*q.popleft())
        else:
            self.queues.pop(a.resource, None)
        if fut.cancelled():
            return
        try:
            res = fut.result()
        except Exception as e:
            res = EtcdLockResult(a.op, False, error="etcd_error", message=str(e))
        if self.agent.core is not None:
            self.agent.feed(res)
