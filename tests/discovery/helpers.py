"""Shared steps of the discovery tests: start agents with a discovery block, wait for one cluster."""
from __future__ import annotations

import json

from harness.wait import wait_until

FAST = "cluster { autocluster { interval = 1s, retry_min = 200ms, retry_max = 1s, probe_timeout = 1s } }\n"


def one_cluster(nodes) -> bool:
    """Every node runs with exactly these nodes, under one cluster id."""
    want = sorted(n.name for n in nodes)
    sts = [n.status() for n in nodes]
    return len({s["cluster_id"] for s in sts}) == 1 and all(s["running_nodes"] == want for s in sts)


def wait_one_cluster(nodes, timeout: float = 30, watch_two=None) -> None:
    """Wait for one cluster of exactly `nodes`; if watch_two is a list, record every moment where
    two clusters of 2+ nodes were seen at once (the 'never two clusters' check)."""
    def check():
        if watch_two is not None:
            sts = [n.status() for n in nodes]
            big = {s["cluster_id"] for s in sts if len(s["running_nodes"]) > 1}
            if len(big) > 1:
                watch_two.append(sorted(big))
        return one_cluster(nodes)
    wait_until(check, timeout, 0.1, "one cluster of %s" % [n.name for n in nodes])


def disc_status(node) -> dict:
    r = node.ctl("cluster", "discovery", "status", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def alone(node) -> bool:
    return node.status()["running_nodes"] == [node.name]
