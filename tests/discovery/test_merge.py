"""A partition during formation leaves two clusters; when it heals, discovery merges them into
one (the smaller, or the younger of two equal ones, joins the other), logged as a merge. Real
agents in network namespaces, the partition made with nftables."""
from __future__ import annotations

import json

from .helpers import FAST, disc_status, wait_one_cluster


def test_partition_during_formation_then_heal_merges(agents, netns):
    net = netns(5)
    hosts = list(net)
    names = ["ekka@" + h.ip for h in hosts]
    extra = FAST + "cluster { discovery_strategy = static, static { seeds = %s } }\n" % json.dumps(names)
    net.partition(hosts[:2], hosts[2:])
    nodes = [agents.add(n, host=h, extra=extra, start=False) for n, h in zip(names, hosts)]
    for n in nodes:
        n.start(wait=False)
    for n in nodes:
        n.wait_ready()
    small, big = nodes[:2], nodes[2:]
    wait_one_cluster(small, timeout=30)
    wait_one_cluster(big, timeout=30)
    assert small[0].status()["cluster_id"] != big[0].status()["cluster_id"]
    net.heal()
    wait_one_cluster(nodes, timeout=40)
    assert big[0].status()["cluster_id"] == nodes[0].status()["cluster_id"]
    assert sum(disc_status(n)["merges"] for n in small) >= 1   # the last one may already be alone
    assert "autocluster: merge: this cluster (2 running) joins the cluster of" in small[0].proc.stderr() + \
        small[1].proc.stderr()
