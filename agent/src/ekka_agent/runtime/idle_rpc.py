"""RPC connections are closed when idle, by the node that dialled them.

RPC connections open on demand (a discovery probe, a kv write, a lock call, a join copy) and
would otherwise stay open for good: forming a cluster by static seeds, every node probes every
other, so each pair keeps two of them besides its cluster link, idle from then on. Each costs a
file descriptor and, with TLS, about 80 KiB of the agent's memory: two thirds of a node's
connections, and 8 MiB of 40 at 50 members (issue 12: connections on demand).

The close is a two-message exchange, so that nothing sent either way is lost: the dialler stops
sending on the connection and asks `rclose`; the acceptor stops sending on it (what it sent
before arrives first, TCP keeps the order) and answers `rclosed`, then closes; the dialler
closes on that answer. Whatever either side sends meanwhile goes by another connection (the
other's, or a fresh dial). Only peers of protocol RCLOSE_SINCE or later are asked: an older one
would log the request as a bad message and keep using the connection. A peer that has not
answered by the next sweep (stopped, hung, or cut off: TCP would hold the connection open for as
long as the peer's kernel answers, with nothing sent on it) has its connection closed then: it
had a whole sweep to send whatever it still meant to, and nothing goes out on it from here.
"""
from __future__ import annotations

import asyncio
import logging

from .proofs import peer_protocol

# A connection with nothing sent or received for a whole sweep is closed: after 30 to 60 s idle.
IDLE_SWEEP = 30.0
RCLOSE_SINCE = 3        # core/versions.py PROTOCOL
TYPES = ("rclose", "rclosed")

log = logging.getLogger("ekka.transport")


class IdleRpc:
    def __init__(self, transport):
        self.t = transport
        self.busy: set = set()      # RPC connections that carried something since the last sweep
        self.asked: set = set()     # connections asked to close at the last sweep, still open
        self.timer = None

    def used(self, conn) -> None:
        self.busy.add(conn)

    def opened(self, conn) -> None:
        self.busy.add(conn)
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(IDLE_SWEEP, self._sweep)

    def closed(self, conn) -> None:
        self.busy.discard(conn)
        self.asked.discard(conn)

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _sweep(self) -> None:
        t = self.t
        for conn in sorted(self.asked, key=lambda c: c.peer):
            log.info("RPC connection to %s closed: no answer to the idle close in %d s", conn.peer, IDLE_SWEEP)
            conn.close()
        self.asked.clear()
        for peer, conn in list(t.rpc_out.items()):
            if conn not in self.busy and peer not in t.rpc_pending and peer_protocol(conn) >= RCLOSE_SINCE:
                del t.rpc_out[peer]         # from now on, sends to peer take another connection
                conn.send_link({"t": "rclose"})
                self.asked.add(conn)
        self.busy.clear()
        self.timer = None
        if t.rpc_out or t.rpc_in or self.asked:
            self.timer = asyncio.get_running_loop().call_later(IDLE_SWEEP, self._sweep)

    def on_message(self, conn, msg) -> bool:
        """True when msg was a step of the close (handled here, never passed to the core)."""
        kind = msg.get("t") if type(msg) is dict else None
        if kind not in TYPES or conn.channel != "rpc":
            return False
        if kind == "rclose":
            if self.t.rpc_in.get(conn.peer) is conn:
                del self.t.rpc_in[conn.peer]
            conn.send_link({"t": "rclosed"})
        conn.close()            # after what was written: the answer goes out first
        return True
