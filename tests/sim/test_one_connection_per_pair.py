"""Two members that learn of each other at the same moment open one connection, not two
(core/member_links.py: the lower name dials at once, the higher only if none arrived)."""
from __future__ import annotations

from ekka_agent.sim import SimCluster

SIM = {"cluster.probe_interval": "1s", "cluster.failure_timeout": "5s"}


def test_a_cluster_formed_by_joins_holds_one_connection_per_pair():
    c = SimCluster(seed=11, options=SIM)
    ns = ["n%d@10.0.0.%d" % (i, i + 1) for i in range(12)]
    for n in ns:
        c.add(n)
    for n in ns[1:]:
        r = c.command(n, "join", node=ns[0])
        assert r is not None and r.ok, r
    assert c.run_until(lambda: all(len(c.view(n)["running_nodes"]) == len(ns) for n in ns), timeout=30)
    c.run(10)    # past every deferred dial (connect_timeout): none may add a second connection
    pairs = len(ns) * (len(ns) - 1) // 2
    links = c.open_links()
    assert len(links) == pairs
    assert sum(links.values()) == pairs, "some pair holds two connections: %s" % sorted(
        "-".join(sorted(p)) for p, k in links.items() if k > 1)
