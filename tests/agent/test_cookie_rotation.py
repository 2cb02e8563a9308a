"""Zero-downtime cookie rotation on real agents: three passes of config change + SIGHUP, while a
watcher polls every member. One cluster throughout, no agent restarted, and at the end every
peer proves the new cookie (status --json shows its fingerprint)."""
from __future__ import annotations

import json
import signal

from ekka_agent.config.cookie import fingerprint
from harness.wait import wait_until
from harness.watch import ClusterWatcher


def _reload(node, cookie: str, previous: list, extra: str = "") -> None:
    """Rewrite node's config with these cookies, send SIGHUP, wait until the agent applied it."""
    before = node.status()["config"]["reloads"]
    prev = "node { cookie_previous = %s }\n" % json.dumps(previous)
    node.conf.write_text(node.cluster.config_text(node.name, node.data_dir, prev + extra, cookie=cookie))
    node.proc.signal(signal.SIGHUP, group=False)
    wait_until(lambda: node.status()["config"]["reloads"] == before + 1, 10,
               message="%s to apply its reloaded config" % node.name)


def _peer_cookies(node) -> dict:
    return {m["node"]: m.get("cookie") for m in node.status()["members"] if m["node"] != node.name}


def test_rotation_in_three_passes_keeps_one_cluster(agents):
    old, new = agents.cookie, "t-rotated-0a1b2c3d4e5f"
    nodes = agents.start_all([agents.name(i) for i in (1, 2, 3)])
    for n in nodes[1:]:
        assert n.ctl("cluster", "join", nodes[0].name).returncode == 0
    agents.wait_running(nodes, nodes)
    pids = [n.proc.pid for n in nodes]
    assert all(set(_peer_cookies(n).values()) == {fingerprint(old)} for n in nodes)

    with ClusterWatcher(nodes) as w:
        # A config that does not load is logged and the running one kept.
        n1 = nodes[0]
        n1.conf.write_text(n1.conf.read_text() + "node { cookie_previous = [\"has space\"] }\n")
        n1.proc.signal(signal.SIGHUP, group=False)
        wait_until(lambda: n1.status()["config"]["reload_error"], 10, message="the bad reload reported")
        assert "node.cookie_previous = <hidden>" in n1.status()["config"]["reload_error"]
        wait_until(lambda: "reload failed, the running config is kept" in n1.proc.stderr(), 5,
                   message="the bad reload logged")
        assert "has space" not in n1.proc.stderr()

        for n in nodes:                      # 1: the new cookie is accepted everywhere
            _reload(n, old, [new])
        for n in nodes:                      # 2: every node proves with the new one
            _reload(n, new, [old])
        for n in nodes:                      # 3: the old one is no longer accepted
            _reload(n, new, [])
        for n in nodes:
            wait_until(lambda: set(_peer_cookies(n).values()) == {fingerprint(new)}, 10,
                       message="%s to see every peer prove the new cookie" % n.name)
    assert w.polls > 0 and w.problems == []
    assert [n.proc.pid for n in nodes] == pids and all(n.proc.alive() for n in nodes)
    assert all(n.status()["config"]["reload_error"] is None for n in nodes)

    # The old cookie opens nothing now: a node that still holds it is refused.
    stale = agents.add(agents.name(4), cookie=old)
    assert stale.ctl("cluster", "join", n1.name).returncode == 1
    assert n1.running() == sorted(n.name for n in nodes)
