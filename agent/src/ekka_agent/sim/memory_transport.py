"""The in-memory network: real Agents (runtime/agent.py) talk through it instead of TCP.

memberlist's MockNetwork idea: the transport is the only part swapped, so the agent's loop,
its persistence, its runtime helpers and its control socket run as in production. A
MemoryTransport shares all its connection bookkeeping with TcpTransport (runtime/transport.py
PeerLinks); only what carries the bytes differs:
- listening is a name in MemoryNetwork.listeners, keyed by (host, port) as the agent resolves
  a peer (so the naming and port rules run too);
- a dial runs the real cookie handshake (core/handshake.py), its messages through JSON;
- every message crosses as JSON after the real codec (core/messages.py), in order per
  connection (TCP), late by the link's delay and by retransmits of lost segments;
- a partition (sim/net.py Links) makes dials time out; what an open connection sends across
  it waits for TCP's retransmissions and arrives after the heal (sim/stalls.py tells how);
  a message that reaches a connection closed on the far side resets it, as TCP would.
Time is the event loop's, so on sim/virtual_loop.py's loop a simulated minute costs milliseconds.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random

from ..core.handshake import Acceptor, Dialer, HandshakeError, read, refusal
from ..core.messages import Message, to_wire
from ..runtime.transport import PeerLinks
from .net import Links
from .stalls import Held

log = logging.getLogger("ekka.transport")


class MemoryNetwork(Links):
    def __init__(self, seed: int = 0, delay=(0.0005, 0.002), loss: float = 0.0):
        super().__init__(random.Random(seed), delay, loss)
        self.listeners: dict[tuple, tuple] = {}     # (host, port) -> (MemoryTransport, channel)

    def transport(self, agent) -> "MemoryTransport":
        """An Agent's make_transport: Agent(cfg, make_transport=net.transport)."""
        cfg = agent.cfg
        t = MemoryTransport(self, agent.name, cfg["node.cookie"], cfg["cluster.name"], agent._resolve, agent.feed,
                            connect_timeout=cfg["cluster.connect_timeout"] / 1000)
        t.previous = list(cfg["node.cookie_previous"])
        return t


class MemConn:
    """One end of an in-memory connection; the same face as runtime/transport.py Conn."""

    def __init__(self, t: "MemoryTransport", peer: str, channel: str, outbound: bool, hs):
        self.t, self.peer, self.channel, self.outbound, self.hs = t, peer, channel, outbound, hs
        self.other: MemConn | None = None
        self.link = 0             # a cluster link's id (PeerLinks._opened)
        self.opened_at = asyncio.get_running_loop().time()
        self.closed_here = False
        self.closed = False
        self.aborted = False      # reset, not closed: what was in flight is dropped
        self.arrives = 0.0        # when the last thing sent arrives: TCP keeps the order
        self.held: Held | None = None   # sent across a cut, waiting for a retransmission

    def send(self, msg: Message) -> None:
        self._carry(to_wire(msg))

    def send_link(self, obj: dict) -> None:
        self._carry(obj)

    def close(self, abort: bool = False) -> None:
        self.closed_here = True
        self.aborted = abort
        self._shut("closed", tell_peer=True)

    def _shut(self, reason: str, tell_peer: bool) -> None:
        if self.closed:
            return
        self.closed = True
        if self.held is not None:
            self.held.drop()
        asyncio.get_running_loop().call_soon(self.t._closed, self, reason)
        if tell_peer and self.t.net.reachable(self.t.me, self.other.t.me):
            self._later(self.net_delay(), self.other._shut, "closed by peer", False)

    def net_delay(self) -> float:
        return self.t.net.latency() + self.t.net.retransmit_delay()

    def _later(self, delay: float, fn, *args) -> None:
        loop = asyncio.get_running_loop()
        # Strictly later than the last: timers due at the same moment may run in any order.
        self.arrives = max(loop.time() + delay, self.arrives + 1e-6)
        loop.call_at(self.arrives, fn, *args)

    def _carry(self, obj: dict) -> None:
        if self.closed:
            return
        data = json.dumps(obj, separators=(",", ":"))
        if self.held is None or self.held.items is None:
            if self.t.net.reachable(self.t.me, self.other.t.me):
                self._later(self.net_delay(), self._arrive, data)
                return
            self.held = Held(lambda: self.t.net.reachable(self.t.me, self.other.t.me),
                             asyncio.get_running_loop().call_later, self._flush)
        self.held.items.append(data)        # behind what waits already

    def _flush(self, items: list) -> None:
        delay = self.net_delay()
        for data in items:
            self._later(delay, self._arrive, data)

    def _arrive(self, data: str) -> None:
        far = self.other
        if far.closed:
            self._shut("reset", tell_peer=False)
        elif not self.aborted:
            # Sent before this end closed: TCP delivers it before the close (a reset drops it).
            far.t._received(far, json.loads(data))


class MemoryTransport(PeerLinks):
    def __init__(self, net: MemoryNetwork, me: str, cookie: str, cluster: str, resolve, on_event, *,
                 connect_timeout: float):
        super().__init__(me, cookie, cluster, resolve, on_event, connect_timeout=connect_timeout)
        self.net = net
        self.servers: list = []         # (host, port) this transport listens on
        self.dead = False

    async def listen(self, host: str, cluster_port: int, rpc_port: int) -> None:
        for port in (cluster_port, rpc_port):
            if (host, port) in self.net.listeners:
                raise OSError(98, "Address already in use")
        for port, chan in ((cluster_port, "cluster"), (rpc_port, "rpc")):
            self.net.listeners[(host, port)] = (self, chan)
            self.servers.append((host, port))

    async def close(self) -> None:
        self._unlisten()
        self._close_all()
        await asyncio.sleep(0)
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def crash(self) -> None:
        """kill -9: nothing more reaches the agent; the far ends hear the sockets close."""
        self.dead = True
        self.on_event = _nothing
        self._unlisten()
        self._close_all()
        for t in list(self.tasks):
            t.cancel()

    def _unlisten(self) -> None:
        for addr in self.servers:
            if self.net.listeners.get(addr, (None,))[0] is self:
                del self.net.listeners[addr]
        self.servers = []

    async def _handshake_out(self, peer: str, channel: str) -> MemConn:
        net = self.net
        host, port = await self.resolve(peer, channel)
        await asyncio.sleep(net.latency())      # the SYN's way there
        far, chan = net.listeners.get((host, port), (None, None))
        if far is None:
            raise ConnectionRefusedError("connection refused by %s:%s" % (host, port))
        if not (net.reachable(self.me, far.me) and net.reachable(far.me, self.me)):
            await asyncio.sleep(self.connect_timeout * 2)    # wait_for gives up first: timed out
        acc = Acceptor(far.me, far.cookie, far.cluster, chan, previous=far.previous)
        d = Dialer(self.me, self.cookie, self.cluster, channel, expect=peer, previous=self.previous)
        auth = d.receive_hello(read(_json(acc.start()), d.HELLO))     # raises, as the TCP dialer's does
        await asyncio.sleep(2 * net.latency())
        try:
            ok = acc.receive(read(_json(auth), acc.EXPECTS))
        except HandshakeError as e:
            far.stats["refused"] += 1
            log.warning("%s refused %s connection from %s: %s", far.me, chan, self.me, e)
            ok = refusal(far.me, far.cluster, e)
        d.receive_ok(read(_json(ok), d.ANSWER))
        await asyncio.sleep(net.latency())
        if far.dead or far.net.listeners.get((host, port), (None,))[0] is not far:
            raise ConnectionResetError("%s went away during the handshake" % peer)
        mine, theirs = MemConn(self, peer, channel, True, d), MemConn(far, self.me, chan, False, acc)
        mine.other, theirs.other = theirs, mine
        far._opened(theirs)
        return mine

    async def _serve(self, conn: MemConn) -> None:
        self._opened(conn)


def _json(msg: Message) -> dict:
    """A handshake message as the far side's transport would read it off the wire."""
    return json.loads(json.dumps(to_wire(msg)))


def _nothing(_event) -> None:
    pass
