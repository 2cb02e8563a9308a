"""What each peer proved on its open connections, and proving it again after a reload.

The handshake leaves its finished Acceptor/Dialer on the connection (conn.hs). Here we keep the
fingerprint of the cookie each connection's peer proved with, and after a reload run a Reproof
on every open connection, so a peer that no longer holds an accepted cookie is cut off and the
fingerprints shown by `cluster status --json` are those of the moment.
"""
from __future__ import annotations

import logging

from ..config.cookie import fingerprint
from ..core.handshake import REPROOF_TYPES, HandshakeError, Reproof

log = logging.getLogger("ekka.transport")
# Peers of this protocol version or later answer a Reproof; older ones would only log it.
REPROOF_SINCE = 2


class Proofs:
    def __init__(self, transport):
        self.t = transport
        self.live: set = set()

    def accepted(self) -> list:
        return [self.t.cookie] + [c for c in self.t.previous if c != self.t.cookie]

    def opened(self, conn) -> None:
        conn.proved = fingerprint(conn.hs.proved) if conn.hs is not None and conn.hs.proved else None
        conn.reproof = Reproof(self.t.me, conn.peer, self.t.cluster, conn.channel)
        self.live.add(conn)

    def closed(self, conn) -> None:
        self.live.discard(conn)

    def reprove_all(self) -> int:
        """Ask every open connection's peer to prove again (and prove ourselves); returns how many."""
        n = 0
        for conn in list(self.live):
            if peer_protocol(conn) >= REPROOF_SINCE:
                conn.send(conn.reproof.start())
                n += 1
        return n

    def on_message(self, conn, msg) -> bool:
        """True when msg was part of a Reproof (handled here, never passed to the core)."""
        if not isinstance(msg, dict) or msg.get("t") not in REPROOF_TYPES:
            return False
        try:
            reply, proved = conn.reproof.receive(msg, self.t.cookie, self.accepted())
        except HandshakeError as e:
            log.warning("closed the %s connection with %s: %s", conn.channel, conn.peer, e)
            conn.close()
            return True
        if reply is not None:
            conn.send(reply)
        if proved is not None:
            conn.proved = fingerprint(proved)
        return True

    def by_peer(self) -> dict:
        """{peer: sorted fingerprints its open cluster connections proved}."""
        out: dict = {}
        for conn in self.live:
            if conn.channel == "cluster" and conn.proved:
                out.setdefault(conn.peer, set()).add(conn.proved)
        return {p: sorted(fps) for p, fps in out.items()}

    def protocols(self) -> dict:
        """{peer: the protocol version its cluster connections announced (the highest)}."""
        out: dict = {}
        for conn in self.live:
            if conn.channel == "cluster":
                out[conn.peer] = max(out.get(conn.peer, 0), peer_protocol(conn))
        return out


def peer_protocol(conn) -> int:
    return getattr(conn.hs, "peer_protocol", 1) if conn.hs is not None else 1
