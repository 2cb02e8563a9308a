"""Manual clustering with EMQX's CLI words, on real agent processes over loopback TCP."""
from __future__ import annotations

from harness.wait import wait_until


def test_join_status_leave_force_leave(agents):
    n1, n2, n3 = (agents.add(agents.name(i)) for i in (1, 2, 3))

    r = n2.ctl("cluster", "join", n1.name)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Join the cluster successfully.\nCluster status: #{running_nodes => [")
    assert n3.ctl("cluster", "join", n2.name).returncode == 0
    agents.wait_running([n1, n2, n3], [n1, n2, n3])

    st = n1.ctl("cluster", "status", "--json")
    import json
    st = json.loads(st.stdout)
    assert st["running_nodes"] == sorted([n1.name, n2.name, n3.name]) and st["stopped_nodes"] == []
    assert st["node"] == n1.name and st["cluster"] == "testcl"
    assert {m["node"]: m["status"] for m in st["members"]} == {n.name: "up" for n in (n1, n2, n3)}
    assert st["leader"] == n1.name   # the oldest member

    r = n3.ctl("cluster", "join", n1.name)
    assert (r.returncode, r.stdout.strip()) == (1, "Failed to join the cluster: {already_in_cluster,'%s'}" % n1.name)
    r = n3.ctl("cluster", "join", n3.name)
    assert (r.returncode, r.stdout.strip()) == (0, "Ignore.")

    r = n3.ctl("cluster", "leave")
    assert r.returncode == 0 and r.stdout.startswith("Leave the cluster successfully.")
    agents.wait_running([n1, n2], [n1, n2])
    assert n1.status()["stopped_nodes"] == []          # dropped, not listed as stopped
    r = n3.ctl("cluster", "leave")
    assert (r.returncode, r.stdout.strip()) == (1, "Failed to leave the cluster: node_not_in_cluster")

    r = n1.ctl("cluster", "force-leave", n2.name)
    assert r.returncode == 0 and r.stdout.startswith("Remove the node from cluster successfully.")
    wait_until(lambda: n2.running() == [n2.name], 10, message="the removed node to run alone")
    assert n1.ctl("cluster", "force-leave", n1.name).stdout.strip() == "Ignore."
    r = n1.ctl("cluster", "force-leave", n3.name)
    assert (r.returncode, r.stdout.strip()) == (1, "Failed to remove the node from cluster: {node_not_in_cluster,'%s'}"
                                                % n3.name)


def test_join_unreachable_node_is_node_down(agents):
    n1 = agents.add(agents.name(1))
    ghost = agents.name(9)
    r = n1.ctl("cluster", "join", ghost)
    assert (r.returncode, r.stdout.strip()) == (1, "Failed to join the cluster: {node_down,'%s'}" % ghost)


def test_joining_another_cluster_leaves_the_old_one_cleanly(agents):
    a1, a2, b1 = (agents.add(agents.name(i)) for i in (1, 2, 3))
    assert a2.ctl("cluster", "join", a1.name).returncode == 0
    agents.wait_running([a1, a2], [a1, a2])
    assert a2.ctl("cluster", "join", b1.name).returncode == 0
    agents.wait_running([a2, b1], [a2, b1])
    agents.wait_running([a1], [a1])
    assert a1.status()["stopped_nodes"] == []


def test_force_leave_of_a_killed_node(agents):
    n1, n2, n3 = (agents.add(agents.name(i)) for i in (1, 2, 3))
    for n in (n2, n3):
        assert n.ctl("cluster", "join", n1.name).returncode == 0
    agents.wait_running([n1, n2, n3], [n1, n2, n3])
    n3.kill()
    wait_until(lambda: n1.status()["stopped_nodes"] == [n3.name], 10, message="n3 to be marked stopped")
    r = n1.ctl("cluster", "force-leave", n3.name)
    assert r.returncode == 0, r.stdout
    wait_until(lambda: n2.status()["stopped_nodes"] == [] and n2.running() == sorted([n1.name, n2.name]), 10,
               message="n2 to drop n3 too")
    # The removed node comes back: it learns it was removed and runs alone, never stuck.
    n3.start()
    wait_until(lambda: n3.running() == [n3.name], 15, message="the returning node to run alone")
    assert sorted(m["node"] for m in n1.status()["members"]) == sorted([n1.name, n2.name])
    assert n3.ctl("cluster", "join", n2.name).returncode == 0
    agents.wait_running([n1, n2, n3], [n1, n2, n3])
