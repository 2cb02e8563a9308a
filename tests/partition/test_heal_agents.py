"""Real agents in network namespaces, real nftables partitions: autoheal makes one cluster again,
and only the nodes outside the winning clique rejoin, with their split writes saved."""
from __future__ import annotations

import json

from harness.wait import wait_until

from .helpers import form, heal, kv, one_cluster, put, rejoins, sees_down


def _split_then_heal(net, nodes, groups):
    """Cut the network into groups (lists of node indexes), write on every side, heal it."""
    hosts = [[net[i] for i in g] for g in groups]
    net.partition(*hosts)
    for g in groups:
        for i in g:
            outside = [nodes[j] for j in range(len(nodes)) if j not in g]
            wait_until(lambda: sees_down(nodes[i], outside), 20, message="%s to see the split" % nodes[i].name)
    for g in groups:
        put(nodes[g[0]], "side-%d" % g[0], "written in the split by %s" % nodes[g[0]].name)
        put(nodes[g[0]], "shared", "from %s" % nodes[g[0]].name)
    heal(net, nodes, "the network healed")


def _check_losers(nodes, losers, replaced: bool = True):
    """Only `losers` rejoined; each lists the split writes of its side as conflicts; one copy of data."""
    got = rejoins(nodes)
    assert {n for n, c in got.items() if c} == {nodes[i].name for i in losers}, got
    tables = [kv(n) for n in nodes]
    assert all(t == tables[0] for t in tables), tables
    for i in losers:
        r = nodes[i].ctl("cluster", "conflicts", "--json")
        assert r.returncode == 0, r.stderr
        lost = json.loads(r.stdout)
        assert lost, "no conflicts listed on %s" % nodes[i].name
        if replaced:   # a full split: nobody on the winning side ever saw these writes
            assert all(tables[0].get(c["key"]) != c["value"] for c in lost), lost
    for n in nodes:
        if nodes.index(n) not in losers:
            assert n.ctl("cluster", "conflicts").stdout.strip() == "No conflicts."


def test_three_nodes_one_isolated(agents, netns):
    net = netns(3)
    nodes = form(agents, net)
    put(nodes[0], "before", "1")
    net.isolate(net[2])
    wait_until(lambda: sees_down(nodes[2], nodes[:2]) and sees_down(nodes[0], nodes[2:]), 20,
               message="the isolated node and the others to see each other down")
    put(nodes[2], "island", "written alone")
    put(nodes[0], "main", "written by the majority")
    heal(net, nodes, "the isolation ended")
    _check_losers(nodes, [2])
    table = kv(nodes[2])
    assert table["main"] == "written by the majority" and "island" not in table
    r = nodes[2].ctl("cluster", "conflicts")
    assert "island" in r.stdout and nodes[2].name in r.stdout, r.stdout


def test_two_nodes(agents, netns):
    net = netns(2)
    nodes = form(agents, net)
    _split_then_heal(net, nodes, [[0], [1]])
    _check_losers(nodes, [1])          # a tie: the side with the oldest member wins
    assert kv(nodes[0])["shared"] == "from %s" % nodes[0].name


def test_four_nodes_fully_split(agents, netns):
    net = netns(4)
    nodes = form(agents, net)
    _split_then_heal(net, nodes, [[0, 1], [2, 3]])
    _check_losers(nodes, [2, 3])


def test_five_nodes_split_2_2_1(agents, netns):
    net = netns(5)
    nodes = form(agents, net)
    _split_then_heal(net, nodes, [[2, 3], [0, 4], [1]])
    _check_losers(nodes, [1, 2, 3])


def test_four_nodes_asymmetric(agents, netns):
    """Only ekka1 <-> ekka2 is cut: a partial partition the leader reports, healed when the link returns."""
    net = netns(4)
    nodes = form(agents, net)
    net.partition([net[0]], [net[1]])
    wait_until(lambda: sees_down(nodes[0], [nodes[1]]) and sees_down(nodes[1], [nodes[0]]), 20,
               message="ekka1 and ekka2 to lose each other")
    alarms = lambda: [a["name"] for a in json.loads(nodes[3].ctl("cluster", "status", "--json").stdout)["alarms"]]  # noqa: E731
    wait_until(lambda: "partial_partition" in alarms(), 20, message="a partial_partition alarm in status --json")
    assert sorted(nodes[2].running()) == sorted(n.name for n in nodes)
    put(nodes[0], "a", "by ekka1")
    put(nodes[1], "b", "by ekka2")
    heal(net, nodes, "the link came back")
    # Cliques {1,3,4} and {2,3,4} tie; the one holding the oldest member (ekka1) wins.
    _check_losers(nodes, [1], replaced=False)
    # ekka2's write reached ekka3 and ekka4 over their links, so the winning side kept it too.
    assert kv(nodes[0])["b"] == "by ekka2"
    wait_until(lambda: not alarms(), 20, message="the alarm to clear")


def test_coordinator_crashes_during_the_heal(agents, netns):
    """ekka1 would lead and coordinate; it dies as the heal starts. The others still make one
    cluster, and ekka1, back later with its old data epoch, is healed into it."""
    net = netns(4)
    nodes = form(agents, net, extra="cluster {\n  autoheal_delay = 2s\n}\n")
    net.partition([net[0], net[1]], [net[2], net[3]])
    wait_until(lambda: sees_down(nodes[0], nodes[2:]) and sees_down(nodes[2], nodes[:2]), 20,
               message="both halves to see the split")
    put(nodes[0], "k", "left")
    put(nodes[2], "k", "right")
    net.heal()
    wait_until(lambda: nodes[0].status()["autoheal"]["split_from"], 20, message="ekka1 to find the partition")
    nodes[0].kill()
    rest = nodes[1:]
    want = sorted(n.name for n in rest)
    wait_until(lambda: all(n.running() == want for n in rest) and one_cluster_without(rest), 30,
               message="the three survivors to make one cluster")
    nodes[0].start()
    wait_until(lambda: one_cluster(nodes), 30, message="ekka1 back and healed into the cluster")
    tables = [kv(n) for n in nodes]
    assert all(t == tables[0] for t in tables), tables


def one_cluster_without(nodes) -> bool:
    sts = [n.status() for n in nodes]
    return (all(not s["autoheal"]["split_from"] and not s["autoheal"]["not_sharing_data_with"] for s in sts)
            and len({s["autoheal"]["epoch"] for s in sts}) == 1)
