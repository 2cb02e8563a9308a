"""ekka.cluster.cluster and ekka.cluster.cluster_info against real agents on loopback.

Each module call is a real `ansible localhost -m ...` run, so argument handling, check mode,
diff mode and the module_utils packaging are all exercised.
"""
from __future__ import annotations

from collection import run_module
from harness.wait import wait_until


def cluster(node_dir, check=False, diff=True, **args):
    args = {"data_dir": str(node_dir), "timeout": 20, **args}
    return run_module("ekka.cluster.cluster", args, check=check, diff=diff)


def members(n):
    return sorted(m["node"] for m in n.status()["members"])


def test_join_is_idempotent_with_check_and_diff(agents):
    n1, n2 = agents.add(agents.name(1)), agents.add(agents.name(2))

    # Check mode reports the change, shows the diff and leaves the cluster alone.
    r = cluster(n2.data_dir, check=True, state="joined", node=n1.name)
    assert r["changed"] is True and r["action"] == "join", r
    assert r["diff"]["before"]["members"] == [n2.name]
    assert r["diff"]["after"]["members"] == sorted([n1.name, n2.name])
    assert members(n2) == [n2.name]

    r = cluster(n2.data_dir, state="joined", node=n1.name)
    assert r["changed"] is True and r["action"] == "join", r
    assert sorted(r["status"]["running_nodes"]) == sorted([n1.name, n2.name])
    agents.wait_running([n1, n2], [n1, n2])

    # Already a member: nothing to do, in either mode and from either side.
    for node_dir, other in ((n2.data_dir, n1.name), (n1.data_dir, n2.name)):
        for check in (True, False):
            r = cluster(node_dir, check=check, state="joined", node=other)
            assert r["changed"] is False and r["action"] == "none", r
    r = cluster(n1.data_dir, state="joined", node=n1.name)
    assert r["changed"] is False


def test_leave_and_force_leave(agents):
    n1, n2, n3 = (agents.add(agents.name(i)) for i in (1, 2, 3))
    for n in (n2, n3):
        assert cluster(n.data_dir, state="joined", node=n1.name)["changed"] is True
    agents.wait_running([n1, n2, n3], [n1, n2, n3])

    # This node leaves (node omitted means itself).
    r = cluster(n3.data_dir, check=True, state="absent")
    assert r["changed"] is True and r["action"] == "leave" and members(n3) == sorted([n1.name, n2.name, n3.name])
    r = cluster(n3.data_dir, state="absent")
    assert r["changed"] is True and r["diff"]["after"]["members"] == [n3.name], r
    wait_until(lambda: members(n1) == sorted([n1.name, n2.name]), 15, message="n1 to drop n3")
    assert cluster(n3.data_dir, state="absent")["changed"] is False

    # Another node is removed (force-leave), once.
    n2.kill()
    r = cluster(n1.data_dir, state="absent", node=n2.name)
    assert r["changed"] is True and r["action"] == "force_leave", r
    assert members(n1) == [n1.name]
    r = cluster(n1.data_dir, state="absent", node=n2.name)
    assert r["changed"] is False and r["action"] == "none"


def test_cluster_info_results_and_cluster_facts(agents):
    n1 = agents.add(agents.name(1))
    r = run_module("ekka.cluster.cluster_info", {"data_dir": str(n1.data_dir)})
    assert r["changed"] is False
    assert r["status"]["node"] == n1.name
    assert "ansible_facts" not in r, "an _info module returns results, not facts"
    r = run_module("ekka.cluster.cluster_facts", {"data_dir": str(n1.data_dir)})
    assert r["changed"] is False
    assert r["ansible_facts"]["ekka_cluster"]["running_nodes"] == [n1.name]


def test_errors_are_clear(agents, tmp_path):
    n1 = agents.add(agents.name(1))
    ghost = agents.name(9)
    r = cluster(n1.data_dir, state="joined", node=ghost)
    assert r.get("failed") and "node_down" in r["msg"], r

    r = cluster(tmp_path, state="joined", node=n1.name)
    assert r.get("failed") and r["msg"].startswith("the ekka agent is not reachable: no agent on "), r

    r = cluster(n1.data_dir, state="joined", node="ekka@localhost")
    assert r.get("failed") and "node: host 'localhost' is neither an IP address" in r["msg"], r

    r = cluster(n1.data_dir, state="joined")
    assert r.get("failed") and "state is joined but all of the following are missing: node" in r["msg"], r

    r = run_module("ekka.cluster.cluster_info", {"data_dir": str(tmp_path)})
    assert r.get("failed") and "not reachable" in r["msg"]
    for res in (r,):
        assert "Traceback" not in str(res)
