"""Shared by the partition tests: real agents, one per network namespace, joined into one cluster."""
from __future__ import annotations

import json

from harness.wait import wait_until

FAST = "cluster {\n  autoheal_delay = 300ms\n}\n"


def form(agents, net, extra: str = FAST) -> list:
    nodes = [agents.add("ekka%d@%s" % (i, h.ip), host=h, extra=extra) for i, h in enumerate(net, 1)]
    for node in nodes[1:]:
        r = node.ctl("cluster", "join", nodes[0].name)
        assert r.returncode == 0, r.stdout + r.stderr
    agents.wait_running(nodes, nodes)
    try:
        wait_until(lambda: one_cluster(nodes), 20, message="one cluster with one data epoch")
    except AssertionError as e:
        # What each node saw, in the failure itself: a formation that fails is rare and gone by a rerun.
        views = [{k: n.status()[k] for k in ("node", "running_nodes", "autoheal")} for n in nodes]
        raise AssertionError("%s; each node's view: %s" % (e, json.dumps(views))) from None
    return nodes


def one_cluster(nodes) -> bool:
    """Every node runs with all the others, shares data with all of them, in one data epoch."""
    want = sorted(n.name for n in nodes)
    sts = [n.status() for n in nodes]
    return (all(s["running_nodes"] == want for s in sts)
            and all(not s["autoheal"]["split_from"] and not s["autoheal"]["not_sharing_data_with"] for s in sts)
            and len({s["autoheal"]["epoch"] for s in sts}) == 1)


def sees_down(node, others) -> bool:
    st = node.status()
    return all(o.name in st["stopped_nodes"] for o in others)


def put(node, key, value) -> None:
    node.call("kv_put", key=key, value=value)


def kv(node) -> dict:
    return node.call("kv_list")


def rejoins(nodes) -> dict:
    return {n.name: n.status()["autoheal"]["rejoins"] for n in nodes}


def heal(net, nodes, what: str) -> None:
    """Heal the network, wait for one cluster, and check no member was marked down meanwhile for
    a replaced link (link_flaps)."""
    since = _log_size(nodes)
    net.heal()
    wait_until(lambda: one_cluster(nodes), 30, message="one cluster after " + what)
    assert link_flaps(nodes, since) == []


def _log_size(nodes) -> dict:
    return {n.name: n.proc.stderr_path.stat().st_size for n in nodes}


def link_flaps(nodes, since: dict) -> list:
    """Members marked down for a closed or reset connection after `since` (_log_size): after a
    heal the links kept across the cut are replaced, and a replaced link is no member going down
    (hooks would be told node_down, and autoheal would see one more return)."""
    flaps = []
    for n in nodes:
        with open(n.proc.stderr_path, errors="replace") as f:
            f.seek(since[n.name])
            flaps += ["%s: %s" % (n.name, line.split("ekka.agent: ", 1)[-1].strip()) for line in f
                      if " is down: " in line and ("reset" in line or "closed" in line)]
    return flaps
