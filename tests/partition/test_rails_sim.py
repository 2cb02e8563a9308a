"""Guard rails on the sans-IO core (fast, deterministic): the heal-loop breaker and its alarm,
autoclean's minimum and its 'someone can still reach it' check, autoheal off."""
from __future__ import annotations

from ekka_agent.sim import SimCluster


def _cluster(n, seed=1, **options):
    c = SimCluster(seed=seed, options=dict({"cluster.autoheal_delay": 300}, **options))
    ns = ["n%d@10.8.0.%d" % (i, i + 1) for i in range(n)]
    for x in ns:
        c.add(x)
    for x in ns[1:]:
        assert c.command(x, "join", node=ns[0]).ok
    c.run(3)
    return c, ns


def _alarms(c, node):
    return {a["name"]: a for a in c.view(node)["alarms"]}


def test_heal_loop_breaker_stops_and_shows_the_split_view():
    c, ns = _cluster(3, **{"cluster.autoheal_max_heals": 2, "cluster.autoheal_window": 600_000})
    for _ in range(3):   # the same node cut off and back, three times
        c.net.partition(ns[:2], ns[2:])
        c.run(5)
        c.net.heal()
        c.run(6)
    a = _alarms(c, ns[1])
    assert "autoheal_stopped" in a and "partition" in a, a
    assert sorted(map(sorted, a["autoheal_stopped"]["split_view"]["cliques"])) == [sorted(ns[:2]), ns[2:]]
    assert any(e["event"] == "autoheal_stopped" for _, _, e in c.events)
    # A node outside the winning clique stays apart until the window passes or someone steps in.
    assert c.view(ns[2])["autoheal"]["not_sharing_data_with"]


def test_autoheal_off_merges_by_last_writer_and_says_so():
    c, ns = _cluster(2, **{"cluster.autoheal": False})
    c.net.partition(ns[:1], ns[1:])
    c.run(5)
    c.command(ns[0], "kv_put", key="k", value="a")
    c.command(ns[1], "kv_put", key="k", value="b")
    c.net.heal()
    assert c.run_until(lambda: len({tuple(c.nodes[x].kv.live().items()) for x in ns}) == 1, 20)
    assert any("last writer wins because cluster.autoheal is off" in t for _, _, _, t in c.logs)
    assert [e["event"] for _, n, e in c.events if n == ns[0] and e["event"].startswith("partition")] == \
        ["partition_occurred", "partition_healed"]


def test_autoclean_keeps_the_minimum():
    c, ns = _cluster(3, **{"cluster.autoclean": 2000, "cluster.autoclean_min_members": 2})
    c.crash(ns[2])
    c.crash(ns[1])
    c.run(15)
    members = c.nodes[ns[0]].membership.members()
    assert len(members) == 2, members          # one of the two was cleaned, never both
    assert any("autoclean_min_members = 2" in t for _, _, _, t in c.logs)


def test_autoclean_keeps_a_member_another_node_still_reaches():
    c, ns = _cluster(3, **{"cluster.autoclean": 2000})
    c.net.block(ns[0], ns[2])                 # only the leader lost n2; n1 still reaches it
    c.run(15)
    assert ns[2] in c.nodes[ns[0]].membership.members()
    assert any("kept %s: still reachable from %s" % (ns[2], ns[1]) in t for _, _, _, t in c.logs)
    c.net.heal()
    c.crash(ns[2])                            # now really gone: cleaned, once, with an audit line
    c.run(15)
    assert ns[2] not in c.nodes[ns[0]].membership.members()
    assert ns[2] not in c.nodes[ns[1]].membership.members()
    assert len([t for _, _, _, t in c.logs if "autoclean: removed member %s" % ns[2] in t]) == 1
