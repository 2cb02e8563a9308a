"""The connection handshake: both sides prove they hold the same cookie without sending it.

Challenge-response with HMAC-SHA256 keyed by the cookie over both nonces, both node names,
the cluster name and the channel, so a reply cannot be replayed on another connection or by
another node. Sans-IO: each side returns the messages to send and, at the end, the peer.

    acceptor -> hello {node, cluster, nonce}
    dialer   -> auth  {node, cluster, nonce, mac}       (or refuse)
    acceptor -> ok    {mac}                             (or refuse)
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

VERSION = 1


class HandshakeError(Exception):
    """reason is one of bad_cookie, cluster_name, wrong_node, protocol; peer as far as known."""

    def __init__(self, reason: str, text: str, peer: str | None = None):
        self.reason = reason
        self.peer = peer
        super().__init__(text)


def _mac(cookie: str, role: str, *parts: str) -> str:
    return hmac.new(cookie.encode(), "|".join((role,) + parts).encode(), hashlib.sha256).hexdigest()


class Acceptor:
    def __init__(self, me: str, cookie: str, cluster: str, channel: str):
        self.me, self.cookie, self.cluster, self.channel = me, cookie, cluster, channel
        self.nonce = secrets.token_hex(16)
        self.peer = None

    def start(self) -> dict:
        return {"t": "hello", "v": VERSION, "node": self.me, "cluster": self.cluster,
                "chan": self.channel, "nonce": self.nonce}

    def receive(self, msg: dict) -> dict:
        """Check the dialer's auth; returns the ok message or raises HandshakeError."""
        if msg.get("t") == "refuse":
            peer = str(msg.get("node"))
            if msg.get("reason") == "cluster_name":
                raise HandshakeError("cluster_name", "peer %s is in cluster %r, not %r"
                                     % (peer, msg.get("cluster"), self.cluster), peer)
            raise HandshakeError(str(msg.get("reason")), "peer %s refused us: %s" % (peer, msg.get("reason")), peer)
        if msg.get("t") != "auth" or not all(isinstance(msg.get(k), str) for k in ("node", "cluster", "nonce", "mac")):
            raise HandshakeError("protocol", "expected an auth message")
        self.peer = msg["node"]
        if msg["cluster"] != self.cluster:
            raise HandshakeError("cluster_name", "peer %s is in cluster %r, not %r"
                                 % (self.peer, msg["cluster"], self.cluster), self.peer)
        want = _mac(self.cookie, "dialer", self.nonce, msg["nonce"], self.peer, self.me, self.cluster, self.channel)
        if not hmac.compare_digest(want, msg["mac"]):
            raise HandshakeError("bad_cookie", "peer %s does not hold our cookie" % self.peer, self.peer)
        return {"t": "ok", "mac": _mac(self.cookie, "acceptor", msg["nonce"], self.nonce, self.me, self.peer,
                                        self.cluster, self.channel)}


class Dialer:
    def __init__(self, me: str, cookie: str, cluster: str, channel: str, expect: str | None):
        self.me, self.cookie, self.cluster, self.channel, self.expect = me, cookie, cluster, channel, expect
        self.nonce = secrets.token_hex(16)
        self.peer = None
        self._their_nonce = None

    def receive_hello(self, msg: dict) -> dict:
        if msg.get("t") != "hello" or not isinstance(msg.get("nonce"), str) or not isinstance(msg.get("node"), str):
            raise HandshakeError("protocol", "expected a hello message")
        self.peer = msg["node"]
        if self.expect and self.peer != self.expect:
            raise HandshakeError("wrong_node", "expected %s at this address, found %s" % (self.expect, self.peer),
                                 self.peer)
        if msg.get("cluster") != self.cluster:
            raise HandshakeError("cluster_name", "peer %s is in cluster %r, not %r"
                                 % (self.peer, msg.get("cluster"), self.cluster), self.peer)
        if msg.get("chan") != self.channel:
            raise HandshakeError("protocol", "peer port serves %r, not %r" % (msg.get("chan"), self.channel), self.peer)
        self._their_nonce = msg["nonce"]
        return {"t": "auth", "node": self.me, "cluster": self.cluster, "nonce": self.nonce,
                "mac": _mac(self.cookie, "dialer", msg["nonce"], self.nonce, self.me, self.peer, self.cluster,
                            self.channel)}

    def refusal(self, e: HandshakeError) -> dict:
        """What to tell the acceptor when its hello does not suit us, so both sides log why."""
        return {"t": "refuse", "reason": e.reason, "node": self.me, "cluster": self.cluster}

    def receive_ok(self, msg: dict) -> str:
        if msg.get("t") == "refuse":
            raise HandshakeError(msg.get("reason", "refused"), "peer %s refused us: %s"
                                 % (self.peer, msg.get("reason")), self.peer)
        want = _mac(self.cookie, "acceptor", self.nonce, self._their_nonce, self.peer, self.me, self.cluster,
                    self.channel)
        if msg.get("t") != "ok" or not hmac.compare_digest(want, str(msg.get("mac"))):
            raise HandshakeError("bad_cookie", "peer %s does not hold our cookie" % self.peer, self.peer)
        return self.peer
