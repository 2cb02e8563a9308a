"""The connection handshake: both sides prove they hold the same cookie without sending it.

Challenge-response with HMAC-SHA256 keyed by the cookie over both nonces, both node names,
the cluster name and the channel, so a reply cannot be replayed on another connection or by
another node. Sans-IO: each side returns the messages to send and, at the end, the peer.

    acceptor -> Hello {node, cluster, channel, nonce}
    dialer   -> Auth  {node, cluster, nonce, mac}       (or Refuse)
    acceptor -> HandshakeOk {mac}                       (or Refuse)

The messages are core/messages.py records (each side also announces its versions, versions.py);
the transport turns frames into them with read() and back with messages.to_wire.

Each side proves with its own cookie and accepts a peer proving with that cookie or any of its
`previous` ones (Serf keyring style), so a cluster can change cookies without a split; `proved`
then holds the cookie the peer used. After a config reload, Reproof repeats the proof on a
connection that is already open, in both directions, without closing it.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from . import versions
from .messages import (REPROOF, Auth, HandshakeOk, Hello, Message, MessageError, Refuse, ReproveAnswer,
                       ReproveAsk, ReproveConfirm, from_wire)

VERSION = versions.PROTOCOL


class HandshakeError(Exception):
    """reason is one of bad_cookie, cluster_name, incompatible_version, wrong_node, protocol; peer as
    far as known; detail: the other cluster's name, or both sides' versions."""

    def __init__(self, reason: str, text: str, peer: str | None = None, detail: dict | None = None):
        self.reason = reason
        self.peer = peer
        self.detail = detail or {}
        super().__init__(text)


def read(obj, expect: tuple) -> Message:
    """The handshake record in a decoded frame, or HandshakeError('protocol') saying what was wrong."""
    try:
        msg = from_wire(obj)
    except MessageError as e:
        raise HandshakeError("protocol", "expected %s: %s" % (_names(expect), e)) from None
    if not isinstance(msg, expect):
        raise HandshakeError("protocol", "expected %s, got %s" % (_names(expect), msg.KIND))
    return msg


def _names(classes: tuple) -> str:
    return " or ".join("a %s message" % c.KIND for c in classes)


def _check_versions(peer: str, msg, hs) -> None:
    """Record what the peer announced on hs; raise when no protocol is common to both."""
    hs.peer_vmin, hs.peer_protocol, hs.peer_agent = versions.peer_versions(msg)
    if not versions.compatible(hs.peer_vmin, hs.peer_protocol):
        theirs = versions.describe(hs.peer_vmin, hs.peer_protocol, hs.peer_agent)
        raise HandshakeError("incompatible_version", "peer %s runs %s; this node runs %s: no common protocol"
                             % (peer, theirs, versions.ours()), peer, {"theirs": theirs, "ours": versions.ours()})


def _refused(peer: str, msg: Refuse, me_cluster: str) -> HandshakeError:
    """The error for a Refuse from the other side."""
    reason = msg.reason
    if reason == "cluster_name":
        return HandshakeError("cluster_name", "peer %s is in cluster %r, not %r" % (peer, msg.cluster,
                              me_cluster), peer, {"name": msg.cluster})
    if reason == "incompatible_version":
        vmin, v, agent = versions.peer_versions(msg)
        theirs = versions.describe(vmin, v, agent)
        return HandshakeError(reason, "peer %s refused us: it runs %s; this node runs %s: no common protocol"
                              % (peer, theirs, versions.ours()), peer, {"theirs": theirs, "ours": versions.ours()})
    return HandshakeError(reason, "peer %s refused us: %s" % (peer, reason), peer)


def refusal(me: str, cluster: str, e: HandshakeError) -> Refuse:
    """What to tell the other side when we refuse it, so both sides log why."""
    return Refuse(e.reason, me, cluster, **versions.announce())


def _mac(cookie: str, role: str, *parts: str) -> str:
    return hmac.new(cookie.encode(), "|".join((role,) + parts).encode(), hashlib.sha256).hexdigest()


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
        self.peer_vmin, self.peer_protocol, self.peer_agent = 1, 1, versions.FIRST_RELEASE

    EXPECTS = (Auth, Refuse)     # what receive() takes: read(frame, Acceptor.EXPECTS)

    def start(self) -> Hello:
        return Hello(self.me, self.cluster, self.channel, self.nonce, **versions.announce())

    def receive(self, msg: Auth | Refuse) -> HandshakeOk:
        """Check the dialer's Auth; returns the HandshakeOk or raises HandshakeError."""
        if isinstance(msg, Refuse):
            raise _refused(str(msg.node), msg, self.cluster)
        if not isinstance(msg, Auth):
            raise HandshakeError("protocol", "expected an auth message")
        self.peer = msg.node
        if msg.cluster != self.cluster:
            raise HandshakeError("cluster_name", "peer %s is in cluster %r, not %r"
                                 % (self.peer, msg.cluster, self.cluster), self.peer, {"name": msg.cluster})
        _check_versions(self.peer, msg, self)
        self.proved = _proved_with(self.accepted, msg.mac, "dialer", self.nonce, msg.nonce, self.peer,
                                   self.me, self.cluster, self.channel)
        if self.proved is None:
            raise HandshakeError("bad_cookie", "peer %s does not hold our cookie" % self.peer, self.peer)
        return HandshakeOk(_mac(self.cookie, "acceptor", msg.nonce, self.nonce, self.me, self.peer,
                                self.cluster, self.channel))


class Dialer:
    def __init__(self, me: str, cookie: str, cluster: str, channel: str, expect: str | None, previous=()):
        self.me, self.cookie, self.cluster, self.channel, self.expect = me, cookie, cluster, channel, expect
        self.accepted = [cookie] + [c for c in previous if c != cookie]
        self.nonce = secrets.token_hex(16)
        self.peer = None
        self.proved = None
        self.peer_vmin, self.peer_protocol, self.peer_agent = 1, 1, versions.FIRST_RELEASE
        self._their_nonce = None

    HELLO = (Hello,)                    # what receive_hello() takes: read(frame, Dialer.HELLO)
    ANSWER = (HandshakeOk, Refuse)      # and receive_ok()

    def receive_hello(self, msg: Hello) -> Auth:
        if not isinstance(msg, Hello):
            raise HandshakeError("protocol", "expected a hello message")
        self.peer = msg.node
        if self.expect and self.peer != self.expect:
            raise HandshakeError("wrong_node", "expected %s at this address, found %s" % (self.expect, self.peer),
                                 self.peer)
        if msg.cluster != self.cluster:
            raise HandshakeError("cluster_name", "peer %s is in cluster %r, not %r"
                                 % (self.peer, msg.cluster, self.cluster), self.peer, {"name": msg.cluster})
        _check_versions(self.peer, msg, self)
        if msg.channel != self.channel:
            raise HandshakeError("protocol", "peer port serves %r, not %r" % (msg.channel, self.channel), self.peer)
        self._their_nonce = msg.nonce
        return Auth(self.me, self.cluster, self.nonce,
                    _mac(self.cookie, "dialer", msg.nonce, self.nonce, self.me, self.peer, self.cluster, self.channel),
                    **versions.announce())

    def refusal(self, e: HandshakeError) -> Refuse:
        """What to tell the acceptor when its hello does not suit us, so both sides log why."""
        return refusal(self.me, self.cluster, e)

    def receive_ok(self, msg: HandshakeOk | Refuse) -> str:
        if isinstance(msg, Refuse):
            raise _refused(self.peer, msg, self.cluster)
        if isinstance(msg, HandshakeOk):
            self.proved = _proved_with(self.accepted, msg.mac, "acceptor", self.nonce, self._their_nonce,
                                       self.peer, self.me, self.cluster, self.channel)
        if self.proved is None:
            raise HandshakeError("bad_cookie", "peer %s does not hold our cookie" % self.peer, self.peer)
        return self.peer


REPROOF_TYPES = tuple(c.KIND for c in REPROOF)     # their kinds on the wire (runtime/proofs.py looks)


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

    def start(self) -> ReproveAsk:
        self.asked = secrets.token_hex(16)
        return ReproveAsk(self.asked)

    def receive(self, msg: Message, cookie: str, accepted) -> tuple:
        """(reply or None, the cookie the peer proved with or None when this message proves nothing).
        Raises HandshakeError when a proof fails."""
        if isinstance(msg, ReproveAsk):
            nb = secrets.token_hex(16)
            self.answered = {nb: msg.nonce}
            return ReproveAnswer(msg.nonce, nb, _mac(cookie, "re-acceptor", msg.nonce, nb, self.me, self.peer,
                                                     self.cluster, self.channel)), None
        if isinstance(msg, ReproveAnswer) and self.asked and msg.asked == self.asked:
            na, self.asked = self.asked, None
            proved = _proved_with(accepted, msg.mac, "re-acceptor", na, msg.nonce, self.peer, self.me,
                                  self.cluster, self.channel)
            if proved is None:
                raise HandshakeError("bad_cookie", "peer %s no longer proves a cookie we accept" % self.peer,
                                     self.peer)
            return ReproveConfirm(msg.nonce, _mac(cookie, "re-dialer", msg.nonce, na, self.me, self.peer,
                                                  self.cluster, self.channel)), proved
        if isinstance(msg, ReproveConfirm) and msg.answered in self.answered:
            na = self.answered.pop(msg.answered)
            proved = _proved_with(accepted, msg.mac, "re-dialer", msg.answered, na, self.peer, self.me,
                                  self.cluster, self.channel)
            if proved is None:
                raise HandshakeError("bad_cookie", "peer %s no longer proves a cookie we accept" % self.peer,
                                     self.peer)
            return None, proved
        return None, None
