"""etcd (v3 API through etcd3gw, the JSON gateway client; python-etcd3 does not import with
current protobuf): registry, discovery and the formation lock.

  <prefix>/<cluster>/nodes/<node> = node   on a lease of node_ttl, kept alive at node_ttl/3
  <prefix>/<cluster>/lock         = node   put-if-absent on a short lease; deleted on unlock

etcd3gw is synchronous (requests): every call runs in a thread. The requests session has
trust_env=False, so REQUESTS_CA_BUNDLE / proxies in the environment cannot override our CA
(test-environment.md gotcha 8). An unreachable etcd raises DiscoveryError naming the server;
the core logs it and retries with backoff.
"""
from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlsplit

from .base import BaseStrategy, DiscoveryError

log = logging.getLogger("ekka.discovery")
REQUEST_TIMEOUT = 3.0
LOCK_TTL = 30          # seconds; a holder that dies frees the lock when its lease ends
LOCK_WAIT = 1.0        # how long lock() keeps trying; then the round ends and the next one may
                       # find the cluster the holder formed (and join it without the lock)
LOCK_POLL = 0.2


def parse_servers(servers: list) -> list:
    """['http://h1:2379', 'h2:2379'] -> [('http', 'h1', 2379), ...]; ValueError says what is wrong."""
    out = []
    for s in servers:
        u = urlsplit(s if "://" in s else "http://" + s)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError("%r is not an etcd endpoint such as http://127.0.0.1:2379" % s)
        out.append((u.scheme, u.hostname, u.port or 2379))
    return out


class Strategy(BaseStrategy):
    name = "etcd"
    has_lock = True
    has_registry = True

    def __init__(self, cfg):
        super().__init__(cfg)
        self.servers = parse_servers(cfg["cluster.etcd.server"])
        self.base = "%s/%s" % (cfg["cluster.etcd.prefix"], cfg["cluster.name"])
        self.node_key = "%s/nodes/%s" % (self.base, self.me)
        self.lock_key = "%s/lock" % self.base
        self.ttl = max(1, cfg["cluster.etcd.node_ttl"] // 1000)
        self.ssl = {k: cfg["cluster.etcd.ssl." + k] for k in ("certfile", "keyfile", "cacertfile")}
        self.client = None
        self.current = 0
        self.lease = None
        self.lock_lease = None
        self.keeper = None

    # ---------- the client (sync, called in threads) ----------
    def _client(self):
        if self.client is None:
            import requests
            from etcd3gw.client import Etcd3Client
            scheme, host, port = self.servers[self.current % len(self.servers)]
            if self.ssl["certfile"] or self.ssl["cacertfile"]:
                scheme = "https"
            session = requests.Session()
            session.trust_env = False
            if self.ssl["cacertfile"]:
                session.verify = self.ssl["cacertfile"]
            if self.ssl["certfile"]:
                session.cert = (self.ssl["certfile"], self.ssl["keyfile"])
            self.client = Etcd3Client(host=host, port=port, protocol=scheme, timeout=REQUEST_TIMEOUT,
                                      api_path="/v3/", session=session)
        return self.client

    async def _call(self, what: str, fn, *args):
        """Run fn(client, *args) in a thread; on failure try the next server once, then raise."""
        errors = []
        for _ in range(len(self.servers)):
            try:
                return await asyncio.to_thread(fn, self._client(), *args)
            except Exception as e:  # requests and etcd3gw raise many kinds; all mean "not now"
                c = self.client
                where = "%s://%s:%s" % (c.protocol, c.host, c.port) if c else "?"
                errors.append("%s: %s" % (where, _short(e)))
                self.client = None
                self.current += 1
        raise DiscoveryError("etcd %s failed: %s" % (what, "; ".join(errors)))

    # ---------- strategy ----------
    async def discover(self) -> list:
        kvs = await self._call("discover", lambda c: c.get_prefix(self.base + "/nodes/"))
        nodes = sorted({v.decode() for v, _ in kvs})
        self.info = {"prefix": self.base + "/nodes/", "registered": nodes}
        return [n for n in nodes if n.count("@") == 1 and self.node_of(*n.split("@", 1))]

    async def register(self) -> None:
        def put(c):
            lease = c.lease(self.ttl)
            c.put(self.node_key, self.me, lease=lease)
            return lease
        old = self.lease
        self.lease = await self._call("register", put)
        if old is not None:
            await self._revoke(old)
        if self.keeper is None:
            self.keeper = asyncio.get_running_loop().create_task(self._keepalive())

    async def _keepalive(self) -> None:
        """Refresh the lease; if etcd lost it (restart, long outage) register again."""
        failing = False
        while True:
            await asyncio.sleep(max(0.5, self.ttl / 3))
            try:
                left = await self._call("keepalive", lambda c: _refresh(c, self.lease.id))
                if left <= 0:
                    log.warning("etcd: the lease of %s expired; registering again", self.node_key)
                    await self.register_again()
                elif failing:
                    log.info("etcd: keepalive works again")
                failing = False
            except DiscoveryError as e:
                if not failing:
                    log.warning("%s; will keep trying every %.0fs", e, max(0.5, self.ttl / 3))
                failing = True
            except asyncio.CancelledError:
                raise

    async def register_again(self) -> None:
        def put(c):
            lease = c.lease(self.ttl)
            c.put(self.node_key, self.me, lease=lease)
            return lease
        self.lease = await self._call("register", put)

    async def unregister(self) -> None:
        if self.keeper:
            self.keeper.cancel()
            self.keeper = None
        lease, self.lease = self.lease, None
        await self._call("unregister", lambda c: c.delete(self.node_key))
        if lease is not None:
            await self._revoke(lease)

    async def _revoke(self, lease) -> None:
        try:
            await self._call("revoke", lambda c: c.post(c.get_url("/kv/lease/revoke"), json={"ID": lease.id}))
        except DiscoveryError as e:
            log.info("%s (the lease ends by itself)", e)

    async def lock(self) -> None:
        from etcd3gw.utils import _encode

        def try_lock(c):
            if self.lock_lease is None:
                self.lock_lease = c.lease(LOCK_TTL)
            k = _encode(self.lock_key)
            r = c.transaction({
                "compare": [{"key": k, "result": "EQUAL", "target": "CREATE", "create_revision": 0}],
                "success": [{"request_put": {"key": k, "value": _encode(self.me), "lease": self.lock_lease.id}}],
                "failure": [{"request_range": {"key": k}}]})
            if r.get("succeeded"):
                return None
            got = c.get(self.lock_key)
            return got[0].decode() if got else "?"
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            holder = await self._call("lock", try_lock)
            if holder is None or holder == self.me:
                return
            if time.monotonic() >= deadline:
                raise DiscoveryError("etcd lock %s is held by %s" % (self.lock_key, holder))
            await asyncio.sleep(LOCK_POLL)

    async def unlock(self) -> None:
        from etcd3gw.utils import _encode

        def release(c):
            k = _encode(self.lock_key)
            c.transaction({"compare": [{"key": k, "result": "EQUAL", "target": "VALUE", "value": _encode(self.me)}],
                           "success": [{"request_delete_range": {"key": k}}]})
        try:
            await self._call("unlock", release)
        finally:
            lease, self.lock_lease = self.lock_lease, None
            if lease is not None:
                await self._revoke(lease)

    async def close(self) -> None:
        """Shutdown: stop the keepalive and revoke the lease, which removes our key at once."""
        if self.keeper:
            self.keeper.cancel()
            self.keeper = None
        for lease in (self.lease, self.lock_lease):
            if lease is not None:
                await self._revoke(lease)
        self.lease = self.lock_lease = None


def _refresh(c, lease_id) -> int:
    """Keep a lease alive through whichever server `c` is (the lease object pins its own client)."""
    r = c.post(c.get_url("/lease/keepalive"), json={"ID": lease_id})
    return int(r.get("result", {}).get("TTL", -1))


def _short(e: Exception) -> str:
    s = (str(e).strip() or str(getattr(e, "detail_text", "") or "").strip()  # etcd3gw keeps its text there
         or e.__class__.__name__)
    if "Connection refused" in s:
        return "connection refused"
    if "CERTIFICATE_VERIFY_FAILED" in s:
        return "TLS: certificate verify failed"
    if "SSLError" in s or "SSL" in s.split(":")[0]:
        return "TLS: " + s.splitlines()[0][-160:]
    if "timed out" in s.lower():
        return "timed out"
    return s.splitlines()[0][:200]
