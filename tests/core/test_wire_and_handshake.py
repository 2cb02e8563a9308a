"""Unit tests of the sans-IO pieces under the transport."""
from __future__ import annotations

import pytest
from ekka_agent.core.handshake import Acceptor, Dialer, HandshakeError, read
from ekka_agent.core.records import new_record, newer, tombstone
from ekka_agent.core.wire import FrameDecoder, FrameError, encode


def test_frames_split_and_joined_arbitrarily():
    msgs = [{"t": "a", "n": i, "pad": "x" * i} for i in range(50)]
    data = b"".join(encode(m) for m in msgs)
    for chunk in (1, 7, 100, len(data)):
        d, out = FrameDecoder(1 << 20), []
        for i in range(0, len(data), chunk):
            out += d.feed(data[i:i + chunk])
        assert out == msgs


@pytest.mark.parametrize("bad", [b"\x00\x00\x00\x03abc", b"\x00\x00\x00\x02[]", b"\x00\x10\x00\x00"])
def test_bad_frames(bad):
    with pytest.raises(FrameError):
        FrameDecoder(1024).feed(bad)


def handshake(cookie_a, cookie_d, cluster_a="c", cluster_d="c", expect="a@h.x"):
    acc = Acceptor("a@h.x", cookie_a, cluster_a, "cluster")
    dia = Dialer("d@h.x", cookie_d, cluster_d, "cluster", expect=expect)
    auth = dia.receive_hello(acc.start())
    assert "secret" not in str(auth)
    return dia.receive_ok(acc.receive(auth)), acc.peer


def test_handshake_ok():
    assert handshake("secret-1", "secret-1") == ("a@h.x", "d@h.x")


@pytest.mark.parametrize("kw,reason", [
    (dict(cookie_a="secret-1", cookie_d="secret-2"), "bad_cookie"),
    (dict(cookie_a="s", cookie_d="s", cluster_d="other"), "cluster_name"),
    (dict(cookie_a="s", cookie_d="s", expect="b@h.x"), "wrong_node"),
])
def test_handshake_refusals(kw, reason):
    with pytest.raises(HandshakeError) as e:
        handshake(**kw)
    assert e.value.reason == reason


@pytest.mark.parametrize("frame, says", [
    ({"t": "auth", "node": "d@h.x"}, "field 'cluster'"), ({"t": "ok", "mac": "m"}, "got ok"),
    ({"t": "what"}, "unknown message kind"), ([1], "JSON object"),
    ({"t": "auth", "node": "d", "cluster": "c", "nonce": "n", "mac": "m", "v": "2"}, "field 'v'"),
])
def test_a_malformed_handshake_frame_is_a_protocol_refusal(frame, says):
    with pytest.raises(HandshakeError) as e:
        read(frame, Acceptor.EXPECTS)
    assert e.value.reason == "protocol" and says in str(e.value) and "auth" in str(e.value)


def test_a_replayed_auth_fails_on_a_new_connection():
    acc1 = Acceptor("a@h.x", "k", "c", "cluster")
    dia = Dialer("d@h.x", "k", "c", "cluster", expect=None)
    auth = dia.receive_hello(acc1.start())
    acc2 = Acceptor("a@h.x", "k", "c", "cluster")
    acc2.start()
    with pytest.raises(HandshakeError):
        acc2.receive(auth)


def test_tombstone_wins_a_tie_and_a_rejoin_beats_the_tombstone():
    r = new_record("n@h.x", [1, "n@h.x"], version=3)
    t = tombstone(r, by="m@h.x")
    assert newer(t, r) and not newer(r, t)
    assert newer(new_record("n@h.x", [2, "n@h.x"], version=t["version"] + 1), t)
    assert newer(dict(r, removed=True), r)
