"""The handshake with node.cookie_previous, the Reproof of an open connection, and the config
checks of the cookie list (pure: no processes)."""
from __future__ import annotations

import pytest
from ekka_agent.config import ConfigError
from ekka_agent.config.cookie import fingerprint
from ekka_agent.config.load import validate
from ekka_agent.core.handshake import Acceptor, Dialer, HandshakeError, Reproof
from ekka_agent.core.messages import ReproveAsk


def _hs(acc_cookie, acc_prev, dia_cookie, dia_prev):
    acc = Acceptor("a@h.x", acc_cookie, "c", "cluster", previous=acc_prev)
    dia = Dialer("d@h.x", dia_cookie, "c", "cluster", expect="a@h.x", previous=dia_prev)
    dia.receive_ok(acc.receive(dia.receive_hello(acc.start())))
    return acc.proved, dia.proved


@pytest.mark.parametrize("a,d", [
    (("old", ["new"]), ("old", ["new"])),     # pass 1
    (("new", ["old"]), ("old", ["new"])),     # pass 2, half switched
    (("new", []), ("new", ["old"])),          # pass 3, half dropped
])
def test_every_step_of_a_rotation_handshakes_and_says_what_each_proved(a, d):
    assert _hs(*a, *d) == (d[0], a[0])


def test_a_cookie_dropped_from_previous_is_refused():
    with pytest.raises(HandshakeError) as e:
        _hs("new", [], "old", ["new"])
    assert e.value.reason == "bad_cookie"


def _reprove(a_cookie, a_acc, b_cookie, b_acc):
    a, b = Reproof("a@h.x", "b@h.x", "c", "cluster"), Reproof("b@h.x", "a@h.x", "c", "cluster")
    m1 = a.start()
    m2, none = b.receive(m1, b_cookie, b_acc)
    m3, a_saw = a.receive(m2, a_cookie, a_acc)
    last, b_saw = b.receive(m3, b_cookie, b_acc)
    assert none is None and last is None
    return a_saw, b_saw


def test_reproof_both_ways_with_the_cookies_of_the_moment():
    assert _reprove("new", ["new", "old"], "old", ["old", "new"]) == ("old", "new")


def test_reproof_fails_for_a_peer_without_an_accepted_cookie():
    with pytest.raises(HandshakeError):
        _reprove("new", ["new"], "old", ["old", "new"])
    with pytest.raises(HandshakeError):
        _reprove("old", ["old", "new"], "new", ["new"])


def test_a_reproof_answer_for_another_exchange_proves_nothing():
    a, b = Reproof("a@h.x", "b@h.x", "c", "cluster"), Reproof("b@h.x", "a@h.x", "c", "cluster")
    reply, _ = b.receive(ReproveAsk("x" * 32), "k", ["k"])   # not a's nonce
    a.start()
    assert a.receive(reply, "k", ["k"]) == (None, None)


def test_fingerprint_is_eight_hex_digits_of_sha256():
    assert fingerprint("abc") == "ba7816bf"


def _cfg(prev):
    return validate({"node.name": "n@127.0.0.1", "node.cookie": "s3cret-value", "node.cookie_previous": prev})


def test_cookie_previous_is_a_list_of_cookies_under_the_cookie_policy(tmp_path):
    f = tmp_path / "old"
    f.write_text("from-a-file\n")
    assert _cfg(["older-one", "file://%s" % f])["node.cookie_previous"] == ["older-one", "from-a-file"]
    assert _cfg([])["node.cookie_previous"] == []
    for bad in (["ok-one", "has space"], [""], ["emqxsecretcookie"], {"a": 1}):
        with pytest.raises(ConfigError) as e:
            _cfg(bad)
        (line,) = e.value.problems
        assert line.startswith("node.cookie_previous = <hidden>: must be ")
        assert "has space" not in line and "emqxsecretcookie" not in line
