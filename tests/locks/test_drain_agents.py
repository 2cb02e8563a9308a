"""Drain and revive on real agents: the leader drains (over HTTP, with the bearer token) while
locks are held and clients keep taking leader and quorum locks; the next-oldest leads, every member
shows the node drained, it fails readiness and health, keeps the state over a restart, and
`ekka-ctl node revive` returns it. The lock checker's history shows no two holders at any time."""
from __future__ import annotations

import json
import threading

from harness.wait import wait_until

from agent.test_http import TOKEN, _get
from .helpers import History
from .test_checker import client_loop

STRATEGIES = ("leader", "quorum")


def _hook(path) -> str:
    return ('cluster.hooks = [{event = "node_[dr]*", command = ["/bin/sh", "-c", "echo $EKKA_EVENT $EKKA_NODE >> %s"]}]'
            % path)


def test_drain_and_revive_the_leader_with_locks_held(agents, tmp_path):
    tok, hooked = tmp_path / "token", tmp_path / "hooks.log"
    tok.write_text(TOKEN + "\n")
    base = "http://%s:8081" % agents.ip(1)
    n1 = agents.add(agents.name(1), extra='http { listen = "%s:8081", token_file = "%s" }\n%s'
                    % (agents.ip(1), tok, _hook(hooked)))
    n2, n3 = agents.add(agents.name(2)), agents.add(agents.name(3))
    nodes = [n1, n2, n3]
    for n in (n2, n3):
        assert n.ctl("cluster", "join", n1.name).returncode == 0
    agents.wait_running(nodes, nodes)
    assert {n.status()["leader"] for n in nodes} == {n1.name}
    for res, strategy in (("held-q", "quorum"), ("held-l", "leader")):
        r = n2.ctl("lock", "acquire", res, "--strategy", strategy, "--lease", "10m")
        assert r.returncode == 0, r.stderr

    h, stop, threads = History(), threading.Event(), []
    for i, strategy in enumerate(STRATEGIES * 2):
        t = threading.Thread(target=client_loop, daemon=True,
                             args=(h, nodes[1 + i % 2], "%s-c%d" % (strategy, i), strategy, stop, i))
        t.start()
        threads.append(t)

    def grants(k: int) -> None:
        want = len(h.grants) + k
        wait_until(lambda: len(h.grants) >= want, 60, message="%d more grants" % k)

    def everyone_sees(state: str, leader) -> None:
        def seen():
            return all(n.status()["leader"] == leader.name and
                       {m["node"]: m["status"] for m in n.status()["members"]}[n1.name] == state for n in nodes)
        wait_until(seen, 20, message="every member to see %s %s and %s leading" % (n1.name, state, leader.name))

    try:
        grants(10)
        assert _get(base + "/api/v1/drain", "POST", {})[0] == 401
        code, _, body = _get(base + "/api/v1/drain", "POST", {}, token=TOKEN)
        assert code == 200 and json.loads(body)["result"] in ("draining", "drained"), body
        everyone_sees("drained", n2)
        assert all(n.status()["drained_nodes"] == [n1.name] for n in nodes)
        assert "drained_nodes => ['%s']" % n1.name in n3.ctl("cluster", "status").stdout
        assert n1.status()["discovery"]["drained"] is True
        code, hdrs, body = _get(base + "/ready")
        assert code == 503 and "is drained" in json.loads(body)["reason"] and "Retry-After" in hdrs
        assert _get(base + "/status")[0] == 200            # it still runs in its cluster
        r = n1.ctl("cluster", "health")
        assert r.returncode == 1 and r.stdout.startswith("not_drained: %s is drained" % n1.name), r.stdout

        # The held locks moved with the roles: still held, by their holder only.
        for res, strategy in (("held-q", "quorum"), ("held-l", "leader")):
            r = n3.ctl("lock", "acquire", res, "--strategy", strategy, "--owner", "other")
            assert r.returncode == 1 and ": locked" in r.stderr, (strategy, r.stderr)
        r = n1.ctl("lock", "acquire", "fresh", "--strategy", "quorum")
        assert r.returncode == 1 and "draining" in r.stderr, r.stderr
        grants(20)

        n1.stop()
        n1.start()
        agents.wait_running(nodes, nodes)
        everyone_sees("drained", n2)
        assert n1.status()["drain"] == "drained"
        grants(10)

        r = n1.ctl("node", "revive")
        assert r.returncode == 0 and r.stdout.startswith("Node revived"), r.stdout + r.stderr
        everyone_sees("up", n1)
        wait_until(lambda: _get(base + "/ready")[0] == 200, 20, message="/ready 200 again")
        assert n1.ctl("cluster", "health").returncode == 0
        r = n3.ctl("lock", "acquire", "held-l", "--strategy", "leader", "--owner", "other")
        assert r.returncode == 1 and ": locked" in r.stderr, r.stderr
        grants(20)

        r = n1.ctl("node", "drain")        # the ekka-ctl way, which waits for the handover
        assert r.returncode == 0 and r.stdout.startswith("Node drained"), r.stdout + r.stderr
        assert n1.ctl("node", "revive").returncode == 0
        grants(10)
    finally:
        stop.set()
        for t in threads:
            t.join(15)
    h.assert_safe(STRATEGIES, 10)
    events = hooked.read_text().split()
    assert events == ["node_draining", n1.name, "node_drained", n1.name, "node_revived", n1.name] * 2, events
