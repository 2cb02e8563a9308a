"""static discovery on real agents over loopback: Ekka's scenarios (autocluster, a node missing
at first, leave then no re-join until enabled) and ten nodes started at once."""
from __future__ import annotations

import json

from harness.wait import wait_until

from .helpers import FAST, alone, disc_status, one_cluster, wait_one_cluster


def static_extra(names) -> str:
    return FAST + "cluster { discovery_strategy = static, static { seeds = %s } }\n" % json.dumps(names)


def test_autocluster_with_a_node_missing_at_first(agents):
    names = [agents.name(i) for i in (1, 2, 3)]
    n1 = agents.add(names[0], extra=static_extra(names))
    n2 = agents.add(names[1], extra=static_extra(names))
    wait_one_cluster([n1, n2])
    st = disc_status(n1)
    assert st["enabled"] and st["strategy"] == "static" and st["discovered"] == names
    assert st["members"] == names[:2] and list(st["unreachable"]) == [names[2]]
    assert "no answer" in st["unreachable"][names[2]]
    text = n1.ctl("cluster", "discovery", "status").stdout
    assert "Unreachable: %s: no answer" % names[2] in text and "Discovery: static, enabled" in text
    n3 = agents.add(names[2], extra=static_extra(names))
    wait_one_cluster([n1, n2, n3])
    assert disc_status(n3)["unreachable"] == {}


def test_leave_disables_discovery_until_enabled(agents):
    names = [agents.name(i) for i in (1, 2, 3)]
    nodes = [agents.add(n, extra=static_extra(names), start=False) for n in names]
    for n in nodes:
        n.start(wait=False)
    for n in nodes:
        n.wait_ready()
    wait_one_cluster(nodes)
    n3 = nodes[2]
    r = n3.ctl("cluster", "leave")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Leave the cluster successfully.\nAutomatic cluster discovery is disabled on "
                               "this node: %s" % n3.name)
    assert "To enable it run: 'ekka-ctl cluster discovery enable' or restart the node." in r.stdout
    wait_one_cluster(nodes[:2])
    d = n3.status()["discovery"]
    assert alone(n3) and (d["enabled"], d["strategy"]) == (False, "static")
    # several discovery rounds of the others pass (interval 1s); n3 stays out
    rounds = disc_status(nodes[0])
    wait_until(lambda: disc_status(nodes[0])["other_clusters"].get(n3.name, {}).get("discovery_enabled") is False,
               10, message="n1 to see n3 alone with discovery disabled")
    assert alone(n3) and one_cluster(nodes[:2]) and rounds["enabled"]
    r = n3.ctl("cluster", "discovery", "enable")
    assert (r.returncode, r.stdout.strip()) == (0, "Automatic cluster discovery enabled.")
    wait_one_cluster(nodes)
    r = n3.ctl("cluster", "discovery", "disable")
    assert (r.returncode, r.stdout.strip()) == (0, "Automatic cluster discovery disabled.")
    assert n3.status()["discovery"]["enabled"] is False


def test_ten_nodes_started_at_once_form_exactly_one_cluster(agents):
    names = [agents.name(i) for i in range(1, 11)]
    nodes = [agents.add(n, extra=static_extra(names), start=False) for n in names]
    for n in nodes:
        n.start(wait=False)
    for n in nodes:
        n.wait_ready()
    two = []
    wait_one_cluster(nodes, timeout=40, watch_two=two)
    assert two == [], "two clusters of 2+ nodes were seen at once: %s" % two[:3]
    assert sum(disc_status(n)["joins"] for n in nodes) >= 9


def test_manual_strategy_has_nothing_to_enable(agents):
    n1 = agents.add(agents.name(1))
    r = n1.ctl("cluster", "discovery", "enable")
    assert r.returncode == 1 and "discovery_strategy is manual" in r.stderr
    st = disc_status(n1)
    assert st["enabled"] is False and st["strategy"] == "manual" and st["discovered"] == []
