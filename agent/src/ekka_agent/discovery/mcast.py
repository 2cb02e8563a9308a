"""mcast: UDP multicast ping/pong, as Ekka's ekka_cluster_mcast, but authenticated.

A datagram is MAGIC + HMAC-SHA256(key, body) + body, body being JSON {t, node, cluster, n}.
The key is derived from the cookie and the cluster name with HMAC, so neither the cookie nor a
plain hash of it (Ekka sends erlang:phash2(Cookie)) is ever on the wire. Packets of another
cluster name, with a bad MAC or unparsable are dropped and counted. A replayed ping only makes
us probe the named node over the authenticated RPC port, which is harmless.

The outgoing interface is always set explicitly (IP_MULTICAST_IF): with INADDR_ANY a packet
would follow the default route off the machine (test-environment.md gotchas 1-2).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import socket
import time

from ..naming import parse_node
from .base import BaseStrategy, DiscoveryError

log = logging.getLogger("ekka.discovery")
MAGIC = b"EKM1"
MAC_LEN = 32
MAX_DATAGRAM = 2048
SEEN_FOR = 30.0          # a node heard within this many seconds is reported
IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49)


def derive_key(cookie: str, cluster: str) -> bytes:
    return hmac.new(cookie.encode(), b"ekka-mcast-v1|" + cluster.encode(), hashlib.sha256).digest()


def pack(key: bytes, t: str, node: str, cluster: str) -> bytes:
    body = json.dumps({"t": t, "node": node, "cluster": cluster, "n": os.urandom(8).hex()},
                      separators=(",", ":")).encode()
    return MAGIC + hmac.new(key, body, hashlib.sha256).digest() + body


def unpack(key: bytes, cluster: str, data: bytes):
    """(msg, None) or (None, 'corrupt' | 'foreign' | 'forged')."""
    if len(data) <= len(MAGIC) + MAC_LEN or not data.startswith(MAGIC):
        return None, "corrupt"
    mac, body = data[len(MAGIC):len(MAGIC) + MAC_LEN], data[len(MAGIC) + MAC_LEN:]
    try:
        msg = json.loads(body)
        if not isinstance(msg, dict) or msg.get("t") not in ("ping", "pong"):
            return None, "corrupt"
        parse_node(msg.get("node"))
    except ValueError:
        return None, "corrupt"
    if msg.get("cluster") != cluster:
        return None, "foreign"
    if not hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest()):
        return None, "forged"
    return msg, None


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, owner):
        self.owner = owner

    def datagram_received(self, data, addr):
        self.owner.received(data, addr)

    def error_received(self, exc):
        log.debug("mcast socket error: %s", exc)


class Strategy(BaseStrategy):
    name = "mcast"

    def __init__(self, cfg):
        super().__init__(cfg)
        self.cluster = cfg["cluster.name"]
        self.key = derive_key(cfg["node.cookie"], self.cluster)
        self.group = cfg["cluster.mcast.addr"]
        self.ports = cfg["cluster.mcast.ports"]
        iface = cfg["cluster.mcast.iface"]
        if iface == "0.0.0.0":
            iface = parse_node(self.me).host   # the checks made sure it is an IPv4 address
        self.iface = iface
        self.ttl = cfg["cluster.mcast.ttl"]
        self.loop = cfg["cluster.mcast.loop"]
        self.wait = cfg["cluster.mcast.wait"] / 1000
        self.seen: dict = {}
        self.stats = {"sent": 0, "received": 0, "foreign": 0, "forged": 0, "corrupt": 0}
        self.transport = None
        self.port = None

    async def start(self) -> None:
        last = None
        for port in self.ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((self.group, port))   # only datagrams sent to the group reach us
                mreq = socket.inet_aton(self.group) + socket.inet_aton(self.iface)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(self.iface))
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, self.ttl)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1 if self.loop else 0)
                s.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
                s.setblocking(False)
            except OSError as e:
                s.close()
                last = e
                continue
            self.port = port
            self.transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: _Proto(self), sock=s)
            log.info("mcast discovery on %s ports %s, interface %s, bound to port %d",
                     self.group, self.ports, self.iface, port)
            return
        raise DiscoveryError("mcast: cannot open a multicast socket on %s ports %s, interface %s: %s"
                             % (self.group, self.ports, self.iface, last))

    async def close(self) -> None:
        if self.transport:
            self.transport.close()
            self.transport = None

    def send(self, t: str, port: int) -> None:
        if self.transport is None:
            return
        try:
            self.transport.sendto(pack(self.key, t, self.me, self.cluster), (self.group, port))
            self.stats["sent"] += 1
        except OSError as e:
            log.warning("mcast: sending a %s to %s:%d failed: %s", t, self.group, port, e)

    def received(self, data: bytes, addr) -> None:
        msg, bad = unpack(self.key, self.cluster, data)
        if bad:
            self.stats[bad] += 1
            if self.stats[bad] in (1, 10, 100, 1000):
                log.warning("mcast: dropped a %s packet from %s:%s (%d so far)", bad, addr[0], addr[1],
                            self.stats[bad])
            return
        if msg["node"] == self.me:
            return
        self.stats["received"] += 1
        self.seen[msg["node"]] = time.monotonic()
        if msg["t"] == "ping":
            self.send("pong", addr[1])

    async def discover(self) -> list:
        if self.transport is None:
            await self.start()
        for port in self.ports:
            self.send("ping", port)
        await asyncio.sleep(self.wait)
        now = time.monotonic()
        for n in [n for n, t in self.seen.items() if now - t > SEEN_FOR]:
            del self.seen[n]
        self.info = {"port": self.port, "interface": self.iface, "packets": dict(self.stats)}
        return sorted([self.me] + list(self.seen))
