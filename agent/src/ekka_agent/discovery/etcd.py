"""etcd discovery: registry, discovery and the formation lock, through the one etcd client
(etcd_client.py, which also says how endpoints, TLS and failures are handled).

  <prefix>/<cluster>/nodes/<node> = node   on a lease of node_ttl, kept alive at node_ttl/3
  <prefix>/<cluster>/lock         = node   put-if-absent on a short lease; deleted on unlock

The client blocks: every call runs in a thread. An unreachable etcd raises DiscoveryError
naming each server and why; the core logs it and retries with backoff.
"""
from __future__ import annotations

import asyncio
import logging
import time

from ..etcd_client import EtcdClient, EtcdError, b64, unb64
from ..etcd_url import parse_endpoint
from .base import BaseStrategy, DiscoveryError

log = logging.getLogger("ekka.discovery")
REQUEST_TIMEOUT = 3.0
LOCK_TTL = 30          # seconds; a holder that dies frees the lock when its lease ends
LOCK_WAIT = 1.0        # how long lock() keeps trying; then the round ends and the next one may
                       # find the cluster the holder formed (and join it without the lock)
LOCK_POLL = 0.2


class Strategy(BaseStrategy):
    name = "etcd"
    has_lock = True
    has_registry = True

    def __init__(self, cfg):
        super().__init__(cfg)
        self.base = "%s/%s" % (cfg["cluster.etcd.prefix"], cfg["cluster.name"])
        self.node_key = "%s/nodes/%s" % (self.base, self.me)
        self.lock_key = "%s/lock" % self.base
        self.ttl = max(1, cfg["cluster.etcd.node_ttl"] // 1000)
        ssl = {k: cfg["cluster.etcd.ssl." + k] for k in ("certfile", "keyfile", "cacertfile")}
        self.client = EtcdClient([parse_endpoint(s) for s in cfg["cluster.etcd.server"]], ssl, REQUEST_TIMEOUT)
        self.lease = None
        self.lock_lease = None
        self.keeper = None

    async def _call(self, what: str, fn, *args):
        """Run fn(*args) in a thread; an etcd that cannot be reached or says no is a DiscoveryError."""
        try:
            return await asyncio.to_thread(fn, *args)
        except (EtcdError, ConnectionError) as e:
            raise DiscoveryError("etcd %s failed: %s" % (what, e)) from None

    # ---------- strategy ----------
    async def discover(self) -> list:
        nodes = sorted(set(await self._call("discover", self.client.values_under, self.base + "/nodes/")))
        self.info = {"prefix": self.base + "/nodes/", "registered": nodes}
        return [n for n in nodes if n.count("@") == 1 and self.node_of(*n.split("@", 1))]

    def _put_node(self) -> int:
        lease, _ = self.client.grant(self.ttl)
        self.client.put(self.node_key, self.me, lease)
        return lease

    async def register(self) -> None:
        old = self.lease
        self.lease = await self._call("register", self._put_node)
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
                left = await self._call("keepalive", self.client.keepalive, self.lease)
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
        self.lease = await self._call("register", self._put_node)

    async def unregister(self) -> None:
        if self.keeper:
            self.keeper.cancel()
            self.keeper = None
        lease, self.lease = self.lease, None
        await self._call("unregister", self.client.delete, self.node_key)
        if lease is not None:
            await self._revoke(lease)

    async def _revoke(self, lease) -> None:
        try:
            await self._call("revoke", self.client.revoke, lease)
        except DiscoveryError as e:
            log.info("%s (the lease ends by itself)", e)

    async def lock(self) -> None:
        c, k = self.client, b64(self.lock_key)

        def try_lock():
            if self.lock_lease is None:
                self.lock_lease, _ = c.grant(LOCK_TTL)
            r = c.txn([{"key": k, "result": "EQUAL", "target": "CREATE", "create_revision": 0}],
                      [{"request_put": {"key": k, "value": b64(self.me), "lease": self.lock_lease}}],
                      [{"request_range": {"key": k}}])
            if r.get("succeeded"):
                return None
            kvs = r["responses"][0]["response_range"].get("kvs") or []
            return unb64(kvs[0]["value"]) if kvs else "?"
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            holder = await self._call("lock", try_lock)
            if holder is None or holder == self.me:
                return
            if time.monotonic() >= deadline:
                raise DiscoveryError("etcd lock %s is held by %s" % (self.lock_key, holder))
            await asyncio.sleep(LOCK_POLL)

    async def unlock(self) -> None:
        k = b64(self.lock_key)
        try:
            await self._call("unlock", self.client.txn,
                             [{"key": k, "result": "EQUAL", "target": "VALUE", "value": b64(self.me)}],
                             [{"request_delete_range": {"key": k}}])
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
