"""Versions between real agents: a rolling upgrade from the previous release keeps one cluster;
a peer that speaks no common protocol is refused with both versions named; joins refused for a
cookie or a cluster name say so."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading

import pytest
from ekka_agent import __version__
from ekka_agent.core import versions
from ekka_agent.core.wire import FrameDecoder, encode
from harness.agents import AGENT
from harness.wait import wait_until
from harness.watch import ClusterWatcher

PREVIOUS_RELEASE = "68009a5f8b9151e35bfdf1475bca7c170ee224fc"   # 0.1.0
REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory):
    """The previous release's agent, built from its commit into a directory of its own: (argv, env).
    Its dependencies are the venv's (tests/requirements.txt keeps pyhocon for it)."""
    d = tmp_path_factory.mktemp("prev")
    src = subprocess.run(["git", "-C", str(REPO), "archive", PREVIOUS_RELEASE, "agent"], capture_output=True,
                         check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(d)], input=src, check=True)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run(pip + ["wheel", "--no-deps", "-w", str(d / "wheels"), str(d / "agent")], check=True)
    (wheel,) = (d / "wheels").glob("ekka_agent-0.1.0-*.whl")
    subprocess.run(pip + ["install", "--no-deps", "--target", str(d / "site"), str(wheel)], check=True)
    return [sys.executable, "-m", "ekka_agent.cli.agent"], {"PYTHONPATH": str(d / "site")}


def _versions(node) -> dict:
    return {m["node"]: m.get("agent_version") for m in node.status()["members"]}


def test_rolling_upgrade_from_the_previous_release_keeps_one_cluster(agents, previous_release):
    argv, env = previous_release
    nodes = [agents.add(agents.name(i), start=False) for i in (1, 2, 3)]
    for n in nodes:
        # The config the old release understands (it knows heartbeat_interval, not probe_interval); the
        # upgrade keeps it, as a package upgrade keeps the config file.
        n.conf.write_text(n.conf.read_text().replace("probe_interval", "heartbeat_interval"))
        n.agent_argv, n.env = argv, env
        n.start()
    assert "protocol" not in nodes[0].status()["members"][0]       # it is the old agent
    for n in nodes[1:]:
        assert n.ctl("cluster", "join", nodes[0].name).returncode == 0
    agents.wait_running(nodes, nodes)

    with ClusterWatcher(nodes, strict=False) as w:
        for i, n in enumerate(nodes):
            n.stop()
            n.agent_argv, n.env = [AGENT], {}
            n.start()
            agents.wait_running(nodes, nodes, timeout=30)
            if i == 0:
                assert _versions(n) == {nodes[0].name: __version__, nodes[1].name: "0.1.0",
                                        nodes[2].name: "0.1.0"}
                (warn,) = n.status()["warnings"]
                assert warn["name"] == "mixed_versions" and "0.1.0 on" in warn["message"]
    assert w.polls > 0 and w.problems == []
    for n in nodes:
        assert set(_versions(n).values()) == {__version__}
        assert "warnings" not in n.status()


class FakePeer:
    """A listener on a node's cluster port that says hello with protocol 9 and keeps what it hears."""

    def __init__(self, ip: str, port: int, name: str):
        self.srv = socket.create_server((ip, port))
        self.name, self.heard = name, []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                s, _ = self.srv.accept()
            except OSError:
                return
            with s:
                s.sendall(encode({"t": "hello", "v": 9, "vmin": 9, "agent": "9.0.0", "node": self.name,
                                  "cluster": "testcl", "chan": "cluster", "nonce": "n" * 32}))
                dec, s_msgs = FrameDecoder(4096), []
                s.settimeout(5)
                while not s_msgs:
                    data = s.recv(4096)
                    if not data:
                        break
                    s_msgs = dec.feed(data)
                self.heard += s_msgs

    def close(self) -> None:
        self.srv.close()


def test_incompatible_peer_refused_both_ways_naming_both_versions(agents):
    n1 = agents.add(agents.name(1))
    ours = "agent %s, protocol %d-%d" % (__version__, versions.MIN_PROTOCOL, versions.PROTOCOL)
    fake = FakePeer(agents.ip(5), 4375, agents.name(5))
    try:
        r = n1.ctl("cluster", "join", agents.name(5))
        assert (r.returncode, r.stdout.strip()) == (1, "Failed to join the cluster: {incompatible_version,'%s',"
                                                       "\"agent 9.0.0, protocol 9\",\"%s\"}" % (agents.name(5), ours))
        assert fake.heard[0]["reason"] == "incompatible_version" and fake.heard[0]["agent"] == __version__
    finally:
        fake.close()
    # A newer dialer: n1 refuses it, tells it why and logs both versions.
    with socket.create_connection((agents.ip(1), 4371), timeout=5) as s:
        dec, got = FrameDecoder(4096), []
        while not got:
            got = dec.feed(s.recv(4096))
        s.sendall(encode({"t": "auth", "v": 9, "vmin": 9, "agent": "9.0.0", "node": agents.name(6),
                          "cluster": "testcl", "nonce": "m" * 32, "mac": "0" * 64}))
        got = []
        while not got:
            got = dec.feed(s.recv(4096))
    assert got[0]["t"] == "refuse" and got[0]["reason"] == "incompatible_version"
    wait_until(lambda: "runs agent 9.0.0, protocol 9; this node runs %s" % ours in n1.proc.stderr(), 5,
               message="the refusal with both versions in the log")
    assert "node_down" not in json.dumps(n1.status())
