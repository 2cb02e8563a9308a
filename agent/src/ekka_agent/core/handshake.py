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

from .messages import PROTOCOL_VERSION as VERSION
from .messages import Auth, HandshakeOk, Hello, MessageError, Refuse, from_wire, to_wire


class HandshakeError(Exception):
    """reason is one of bad_cookie, cluster_name, wrong_node, protocol; peer as far as known."""

    def __init__(self, reason: str, text: str, peer: str | None = None):
        self.reason = reason
        self.peer = peer
        super().__init__(text)


def _read(msg: dict, want: type, what: str):
    """The handshake message in msg: want, or Refuse (returned for the caller to raise)."""
    try:
        m = from_wire(msg)
    except MessageError as e:
        raise HandshakeError("protocol", "expected %s: %s" % (what, e)) from None
    if not isinstance(m, (want, Refuse)):
        raise HandshakeError("protocol", "expected %s, got %r" % (what, m.KIND))
    return m


def _mac(cookie: str, role: str, *parts: str) -> str:
    return hmac.new(cookie.encode(), "|".join((role,) + parts).encode(), hashlib.sha256).hexdigest()


class Acceptor:
    def __init__(self, me: str, cookie: str, cluster: str, channel: str):
        self.me, self.cookie, self.cluster, self.channel = me, cookie, cluster, channel
        self.nonce = secrets.token_hex(16)
        self.peer = None

    def start(self) -> dict:
        return to_wire(Hello(VERSION, self.me, self.cluster, self.channel, self.nonce))

    def receive(self, msg: dict) -> dict:
        """Check the dialer's auth; returns the ok message or raises HandshakeError."""
        m = _read(msg, Auth, "an auth message")
        if isinstance(m, Refuse):
            peer = str(m.node)
            if m.reason == "cluster_name":
                raise HandshakeError("cluster_name", "peer %s is in cluster %r, not %r"
                                     % (peer, m.cluster, self.cluster), peer)
            raise HandshakeError(m.reason, "peer %s refused us: %s" % (peer, m.reason), peer)
        self.peer = m.node
        if m.cluster != self.cluster:
            raise HandshakeError("cluster_name", "peer %s is in cluster %r, not %r"
                                 % (self.peer, m.cluster, self.cluster), self.peer)
        want = _mac(self.cookie, "dialer", self.nonce, m.nonce, self.peer, self.me, self.cluster, self.channel)
        if not hmac.compare_digest(want, m.mac):
            raise HandshakeError("bad_cookie", "peer %s does not hold our cookie" % self.peer, self.peer)
        return to_wire(HandshakeOk(_mac(self.cookie, "acceptor", m.nonce, self.nonce, self.me, self.peer,
                                        self.cluster, self.channel)))


class Dialer:
    def __init__(self, me: str, cookie: str, cluster: str, channel: str, expect: str | None):
        self.me, self.cookie, self.cluster, self.channel, self.expect = me, cookie, cluster, channel, expect
        self.nonce = secrets.token_hex(16)
        self.peer = None
        self._their_nonce = None

    def receive_hello(self, msg: dict) -> dict:
        m = _read(msg, Hello, "a hello message")
        if isinstance(m, Refuse):
            raise HandshakeError("protocol", "expected a hello message")
        self.peer = m.node
        if self.expect and self.peer != self.expect:
            raise HandshakeError("wrong_node", "expected %s at this address, found %s" % (self.expect, self.peer),
                                 self.peer)
        if m.cluster != self.cluster:
            raise HandshakeError("cluster_name", "peer %s is in cluster %r, not %r"
                                 % (self.peer, m.cluster, self.cluster), self.peer)
        if m.channel != self.channel:
            raise HandshakeError("protocol", "peer port serves %r, not %r" % (m.channel, self.channel), self.peer)
        self._their_nonce = m.nonce
        return to_wire(Auth(self.me, self.cluster, self.nonce,
                            _mac(self.cookie, "dialer", m.nonce, self.nonce, self.me, self.peer, self.cluster,
                                 self.channel)))

    def refusal(self, e: HandshakeError) -> dict:
        """What to tell the acceptor when its hello does not suit us, so both sides log why."""
        return to_wire(Refuse(e.reason, self.me, self.cluster))

    def receive_ok(self, msg: dict) -> str:
        try:
            m = from_wire(msg)
        except MessageError:
            m = None
        if isinstance(m, Refuse):
            raise HandshakeError(m.reason, "peer %s refused us: %s" % (self.peer, m.reason), self.peer)
        want = _mac(self.cookie, "acceptor", self.nonce, self._their_nonce, self.peer, self.me, self.cluster,
                    self.channel)
        if not isinstance(m, HandshakeOk) or not hmac.compare_digest(want, m.mac):
            raise HandshakeError("bad_cookie", "peer %s does not hold our cookie" % self.peer, self.peer)
        return self.peer
