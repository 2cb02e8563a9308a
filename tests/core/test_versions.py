"""Version negotiation in the handshake (pure)."""
from __future__ import annotations

import dataclasses

import pytest
from ekka_agent import __version__
from ekka_agent.core import versions
from ekka_agent.core.handshake import Acceptor, Dialer, HandshakeError
from ekka_agent.core.messages import from_wire, to_wire


def test_the_package_version_is_written_once_and_installed_as_such():
    import importlib.metadata
    import pathlib
    import tomllib
    meta = tomllib.loads((pathlib.Path(__file__).parents[2] / "agent/pyproject.toml").read_text())
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "ekka_agent.__version__"}
    assert importlib.metadata.version("ekka-agent") == __version__


@pytest.mark.parametrize("vmin,v,ok", [(1, 1, True), (1, 2, True), (2, 9, True), (versions.PROTOCOL + 1, 9, False),
                                        (0, 0, False)])
def test_ranges_must_overlap(vmin, v, ok):
    assert versions.compatible(vmin, v) is ok


def test_a_first_release_peer_is_protocol_1_and_named_so():
    acc = Acceptor("a@h.x", "k", "c", "cluster")
    dia = Dialer("d@h.x", "k", "c", "cluster", expect=None)
    hello = to_wire(acc.start())
    old_hello = {k: v for k, v in hello.items() if k not in ("vmin", "agent")}
    old_hello["v"] = 1                                 # what 0.1.0 sends
    auth = dia.receive_hello(from_wire(old_hello))
    assert (dia.peer_vmin, dia.peer_protocol, dia.peer_agent) == (1, 1, "0.1.0")
    old_auth = {k: v for k, v in to_wire(auth).items() if k not in ("v", "vmin", "agent")}
    acc.receive(from_wire(old_auth))
    assert (acc.peer_protocol, acc.peer_agent) == (1, "0.1.0")


def test_both_sides_learn_each_others_version():
    acc = Acceptor("a@h.x", "k", "c", "cluster")
    dia = Dialer("d@h.x", "k", "c", "cluster", expect=None)
    dia.receive_ok(acc.receive(dia.receive_hello(acc.start())))
    assert (acc.peer_agent, dia.peer_agent) == (__version__, __version__)
    assert acc.peer_protocol == dia.peer_protocol == versions.PROTOCOL


def test_an_incompatible_peer_is_refused_naming_both_versions():
    acc = Acceptor("a@h.x", "k", "c", "cluster")
    dia = Dialer("d@h.x", "k", "c", "cluster", expect=None)
    hello = dataclasses.replace(acc.start(), protocol=9, protocol_min=9, agent="9.0.0")
    with pytest.raises(HandshakeError) as e:
        dia.receive_hello(hello)
    assert e.value.reason == "incompatible_version"
    assert "agent 9.0.0, protocol 9" in str(e.value) and "agent %s, protocol 1-%d" % (__version__, versions.PROTOCOL) in str(e.value)
    # The acceptor hears why, with the dialer's versions.
    with pytest.raises(HandshakeError) as e2:
        acc.receive(dia.refusal(e.value))
    assert e2.value.reason == "incompatible_version" and "agent %s" % __version__ in str(e2.value)
    auth = dataclasses.replace(Dialer("d@h.x", "k", "c", "cluster", expect=None).receive_hello(acc.start()),
                               protocol=9, protocol_min=9, agent="9.0.0")
    with pytest.raises(HandshakeError) as e3:
        acc.receive(auth)
    assert e3.value.detail == {"theirs": "agent 9.0.0, protocol 9", "ours": versions.ours()}
