"""The health rules on made-up statuses (pure)."""
from __future__ import annotations

from ekka_agent import health

A, B, C = "a@h.x", "b@h.x", "c@h.x"


def _st(running, members=(A, B, C), alarms=(), heal=None, mine="up"):
    return {"node": A, "running_nodes": sorted(running), "alarms": list(alarms), "autoheal": {"heal": heal},
            "drain": mine if mine in ("draining", "drained") else "up",
            "members": [{"node": n, "status": mine if n == A else "up" if n in running else "down"} for n in members]}


def test_ready_is_running_without_a_partition_or_heal():
    assert health.ready(_st([A, B, C]))["ok"]
    assert not health.ready(_st([A, B], alarms=[{"name": "partition", "message": "x"}]))["ok"]
    assert "autoheal: heal" in health.ready(_st([A, B, C], heal="heal"))["reason"]
    assert not health.running(_st([B], mine="down"))["ok"]


def test_a_drained_node_runs_but_is_not_ready():
    for state in ("draining", "drained"):
        st = _st([A, B, C], mine=state)
        assert health.running(st)["ok"] and not health.not_drained(st)["ok"]
        assert not health.ready(st)["ok"] and "is %s" % state in health.ready(st)["reason"]


def test_safe_to_stop_counts_the_cluster_majority():
    assert health.safe_to_stop(_st([A, B, C]), [])["ok"]
    assert not health.safe_to_stop(_st([A, B]), [])["ok"]
    assert health.safe_to_stop(_st([A], members=[A]), [])["ok"]      # nothing else depends on it
