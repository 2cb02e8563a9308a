"""What each peer proved on its open connections, and proving it again after a reload.

The handshake leaves its finished Acceptor/Dialer on the connection (conn.hs). Here we keep the
fingerprint of the cookie each connection's peer proved with, and after a reload run a Reproof
on every open connection, so a peer that no longer holds an accepted cookie is cut off and the
fingerprints shown by `cluster status --json` are those of the moment.
"""
from __future__ import annotations

import logging
import time

from ..config.cookie import fingerprint
from ..core.handshake import REPROOF_TYPES, HandshakeError, Reproof
from ..core.messages import MessageError, from_wire, to_wire

PING_TYPES = ("lping", "lpong")   # link-level round-trip probes (metrics.py), never seen by the core

log = logging.getLogger("ekka.transport")
# Peers of this protocol version or later answer a Reproof; older ones would only log it.
REPROOF_SINCE = 2


class Proofs:
    def __init__(self, transport):
        self.t = transport
        self.live: set = set()
        self.on_rtt = None              # (peer, seconds) for each answered ping

    def accepted(self) -> list:
        return [self.t.cookie] + [c for c in self.t.previous if c != self.t.cookie]

    def opened(self, conn) -> None:
        conn.proved = fingerprint(conn.hs.proved) if conn.hs is not None and conn.hs.proved else None
        conn.reproof = Reproof(self.t.me, conn.peer, self.t.cluster, conn.channel)
        self.live.add(conn)
        if conn.outbound:
            self.t.refusals.pop(conn.peer, None)

    def closed(self, conn) -> None:
        self.live.discard(conn)

    def reprove_all(self) -> int:
        """Ask every open connection's peer to prove again (and prove ourselves); returns how many."""
        n = 0
        for conn in list(self.live):
            if peer_protocol(conn) >= REPROOF_SINCE:
                conn.send_link(to_wire(conn.reproof.start()))
                n += 1
        return n

    def on_message(self, conn, msg) -> bool:
        """True when msg was part of a Reproof (handled here, never passed to the core)."""
        if not isinstance(msg, dict):
            return False
        if msg.get("t") in PING_TYPES:
            self._ping(conn, msg)
            return True
        if msg.get("t") not in REPROOF_TYPES:
            return False
        try:
            reply, proved = conn.reproof.receive(from_wire(msg), self.t.cookie, self.accepted())
        except MessageError as e:
            log.warning("dropped a bad re-proof message from %s: %s", conn.peer, e)
            return True
        except HandshakeError as e:
            log.warning("closed the %s connection with %s: %s", conn.channel, conn.peer, e)
            conn.close()
            return True
        if reply is not None:
            conn.send_link(to_wire(reply))
        if proved is not None:
            conn.proved = fingerprint(proved)
        return True

    def ping_all(self) -> None:
        """A ping on every open cluster connection whose peer answers them (protocol 2 on)."""
        now = time.perf_counter()
        for conn in list(self.live):
            if conn.channel == "cluster" and peer_protocol(conn) >= REPROOF_SINCE:
                conn.send_link({"t": "lping", "at": now})

    def _ping(self, conn, msg: dict) -> None:
        if msg["t"] == "lping":
            conn.send_link({"t": "lpong", "at": msg.get("at")})
        elif isinstance(msg.get("at"), float) and self.on_rtt is not None:
            rtt = time.perf_counter() - msg["at"]
            if 0 <= rtt < 600:     # the peer echoes our own clock; anything else is not a round trip
                self.on_rtt(conn.peer, rtt)

    def by_peer(self) -> dict:
        """{peer: sorted fingerprints its open cluster connections proved}."""
        out: dict = {}
        for conn in self.live:
            if conn.channel == "cluster" and conn.proved:
                out.setdefault(conn.peer, set()).add(conn.proved)
        return {p: sorted(fps) for p, fps in out.items()}

    def versions(self) -> dict:
        """{peer: (protocol, agent version)} its cluster connections announced (the highest)."""
        out: dict = {}
        for conn in self.live:
            if conn.channel == "cluster" and conn.hs is not None:
                out[conn.peer] = max(out.get(conn.peer, (0, "")), (conn.hs.peer_protocol, conn.hs.peer_agent))
        return out


def peer_protocol(conn) -> int:
    return getattr(conn.hs, "peer_protocol", 1) if conn.hs is not None else 1
