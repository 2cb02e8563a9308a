"""The connection handshake: both sides prove they hold the same cookie without sending it.

Challenge-response with HMAC-SHA256 keyed by the cookie over both nonces, both node names,
the cluster name and the channel, so a reply cannot be replayed on another connection or by
another node. Sans-IO: each side returns the messages to send and, at the end, the peer.

    acceptor -> hello {node, cluster, nonce}
    dialer   -> auth  {node, cluster, nonce, mac}       (or refuse)
    acceptor -> ok    {mac}                             (or refuse)

Each side proves with its own cookie and accepts a peer proving with that cookie or any of its
`previous` ones (Serf keyring style), so a cluster can change cookies without a split; `proved`
then holds the cookie the peer used. After a config reload, Reproof repeats the proof on a
connection that is already open, in both directions, without closing it.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

# 1: the first release (0.1.0). 2: the dialer states its version too; Reproof after a reload.
VERSION = 2


class HandshakeError(Exception):
    """reason is one of bad_cookie, cluster_name, wrong_node, protocol; peer as far as known."""

    def __init__(self, reason: str, text: str, peer: str | None = None):
        self.reason = reason
        self.peer = peer
        super().__init__(text)


def _mac(cookie: str, role: str, *parts: str) -> str:
    return hmac.new(cookie.encode(), "|".join((role,) + parts).encode(), hashlib.sha256).hexdigest()


def _protocol(msg: dict) -> int:
    """The peer's protocol version; the first release sent none in its auth message."""
    v = msg.get("v", 1)
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _proved_with(cookies, mac, role: str, *parts: str) -> str | None:
    """The cookie among `cookies` whose MAC over parts is `mac`, or None. Each one is compared in
    full (no early exit) so timing says nothing about which matched."""
    found = None
    for c in cookies:
        if hmac.compare_digest(_mac(c, role, *parts), str(mac)) and found is None:
            found = c
    return found


class Acceptor:
    def __init__(self, me: str, cookie: str, cluster: str, channel: str, previous=()):
        self.me, self.cookie, self.cluster, self.channel = me, cookie, cluster, channel
        self.accepted = [cookie] + [c for c in previous if c != cookie]
        self.nonce = secrets.token_hex(16)
        self.peer = None
        self.proved = None
        self.peer_protocol = 1

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
        self.peer_protocol = _protocol(msg)
        if msg["cluster"] != self.cluster:
            raise HandshakeError("cluster_name", "peer %s is in cluster %r, not %r"
                                 % (self.peer, msg["cluster"], self.cluster), self.peer)
        self.proved = _proved_with(self.accepted, msg["mac"], "dialer", self.nonce, msg["nonce"], self.peer,
                                   self.me, self.cluster, self.channel)
        if self.proved is None:
            raise HandshakeError("bad_cookie", "peer %s does not hold our cookie" % self.peer, self.peer)
        return {"t": "ok", "mac": _mac(self.cookie, "acceptor", msg["nonce"], self.nonce, self.me, self.peer,
                                        self.cluster, self.channel)}


class Dialer:
    def __init__(self, me: str, cookie: str, cluster: str, channel: str, expect: str | None, previous=()):
        self.me, self.cookie, self.cluster, self.channel, self.expect = me, cookie, cluster, channel, expect
        self.accepted = [cookie] + [c for c in previous if c != cookie]
        self.nonce = secrets.token_hex(16)
        self.peer = None
        self.proved = None
        self.peer_protocol = 1
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
        self.peer_protocol = _protocol(msg)
        return {"t": "auth", "v": VERSION, "node": self.me, "cluster": self.cluster, "nonce": self.nonce,
                "mac": _mac(self.cookie, "dialer", msg["nonce"], self.nonce, self.me, self.peer, self.cluster,
                            self.channel)}

    def refusal(self, e: HandshakeError) -> dict:
        """What to tell the acceptor when its hello does not suit us, so both sides log why."""
        return {"t": "refuse", "reason": e.reason, "node": self.me, "cluster": self.cluster}

    def receive_ok(self, msg: dict) -> str:
        if msg.get("t") == "refuse":
            raise HandshakeError(msg.get("reason", "refused"), "peer %s refused us: %s"
                                 % (self.peer, msg.get("reason")), self.peer)
        if msg.get("t") == "ok":
            self.proved = _proved_with(self.accepted, msg.get("mac"), "acceptor", self.nonce, self._their_nonce,
                                       self.peer, self.me, self.cluster, self.channel)
        if self.proved is None:
            raise HandshakeError("bad_cookie", "peer %s does not hold our cookie" % self.peer, self.peer)
        return self.peer


REPROOF_TYPES = ("reprove", "reprove_b", "reprove_a")


class Reproof:
    """Both ends of an open connection prove their cookies again (after a reload).

        A -> B  reprove   {n: na}
        B -> A  reprove_b {na, n: nb, mac}   B proves; A checks it against what A accepts now
        A -> B  reprove_a {nb, mac}          A proves; B checks it

    Roles differ from the handshake's, so no message of one is valid in the other. `me` is this
    end, `peer` the other, `channel` the connection's port; cookies are read at each call, so a
    proof uses the cookies of the moment."""

    def __init__(self, me: str, peer: str, cluster: str, channel: str):
        self.me, self.peer, self.cluster, self.channel = me, peer, cluster, channel
        self.asked: str | None = None     # na while we wait for B's proof
        self.answered: dict = {}          # nb -> na while we wait for A's proof

    def start(self) -> dict:
        self.asked = secrets.token_hex(16)
        return {"t": "reprove", "n": self.asked}

    def receive(self, msg: dict, cookie: str, accepted) -> tuple:
        """(reply or None, the cookie the peer proved with or None when this message proves nothing).
        Raises HandshakeError when a proof fails."""
        t = msg.get("t")
        if t == "reprove" and isinstance(msg.get("n"), str):
            nb = secrets.token_hex(16)
            self.answered = {nb: msg["n"]}
            return {"t": "reprove_b", "na": msg["n"], "n": nb,
                    "mac": _mac(cookie, "re-acceptor", msg["n"], nb, self.me, self.peer, self.cluster,
                                self.channel)}, None
        if t == "reprove_b" and self.asked and msg.get("na") == self.asked and isinstance(msg.get("n"), str):
            na, self.asked = self.asked, None
            proved = _proved_with(accepted, msg.get("mac"), "re-acceptor", na, msg["n"], self.peer, self.me,
                                  self.cluster, self.channel)
            if proved is None:
                raise HandshakeError("bad_cookie", "peer %s no longer proves a cookie we accept" % self.peer,
                                     self.peer)
            return {"t": "reprove_a", "nb": msg["n"],
                    "mac": _mac(cookie, "re-dialer", msg["n"], na, self.me, self.peer, self.cluster,
                                self.channel)}, proved
        if t == "reprove_a" and msg.get("nb") in self.answered:
            na = self.answered.pop(msg["nb"])
            proved = _proved_with(accepted, msg.get("mac"), "re-dialer", msg["nb"], na, self.peer, self.me,
                                  self.cluster, self.channel)
            if proved is None:
                raise HandshakeError("bad_cookie", "peer %s no longer proves a cookie we accept" % self.peer,
                                     self.peer)
            return None, proved
        return None, None
