"""inet6_tcp between two hosts (network namespaces on a bridge), with ekka-ctl run in each host."""
from __future__ import annotations

from harness.agents import AgentCluster


def test_ipv6_cluster_between_namespaces(procs, netns):
    net = netns(hosts=2, controller=False, ipv6=True)
    h1, h2 = net[0], net[1]
    c = AgentCluster(procs)
    try:
        v6 = "cluster.proto_dist = inet6_tcp"
        a = c.add("ekka1@" + h1.ip6, host=h1, extra=v6)
        b = c.add("ekka2@" + h2.ip6, host=h2, extra=v6)
        r = b.ctl("cluster", "join", a.name)
        assert r.returncode == 0, r.stdout + r.stderr
        c.wait_running([a, b], [a, b])
        net.isolate(h2)
        c.wait_running([a], [a])
        net.heal()
        c.wait_running([a, b], [a, b])
    finally:
        procs.close()
        c.close()
