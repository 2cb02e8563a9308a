"""etcd discovery against a real etcd (Debian's etcd-server), plain and with TLS client
certificates: registration on a lease, formation under etcd's lock, unregister on leave, lease
revoked on shutdown, and etcd down at start then up (Ekka's lock-failure scenario)."""
from __future__ import annotations

import json

from harness.wait import wait_until

from .helpers import FAST, alone, disc_status, wait_one_cluster

PREFIX = "ekkatest"


def etcd_extra(url: str, ssl: dict | None = None) -> str:
    s = FAST + 'cluster { discovery_strategy = etcd, etcd { server = "%s", prefix = %s, node_ttl = 10s } }\n' % (
        url, PREFIX)
    if ssl:
        s += "cluster.etcd.ssl { certfile = %s, keyfile = %s, cacertfile = %s }\n" % (
            json.dumps(ssl["cert"]), json.dumps(ssl["key"]), json.dumps(ssl["cacert"]))
    return s


def registered(etcd, cluster: str) -> list:
    return sorted(v.decode() for v, _ in etcd.client().get_prefix("%s/%s/nodes/" % (PREFIX, cluster)))


def test_autocluster_register_leave_and_shutdown(agents, etcd_server):
    names = [agents.name(i) for i in (1, 2, 3)]
    nodes = agents.start_all(names, etcd_extra(etcd_server.url))
    wait_one_cluster(nodes)
    wait_until(lambda: registered(etcd_server, agents.cluster) == names, 10, message="all three registered")
    st = disc_status(nodes[0])
    assert st["registered"] is True and st["discovered"] == names
    assert etcd_server.client().get("%s/%s/lock" % (PREFIX, agents.cluster)) == []   # unlocked after formation
    # leave: discovery off and the registration deleted, so nobody finds this node again
    r = nodes[2].ctl("cluster", "leave")
    assert "Automatic cluster discovery is disabled" in r.stdout
    wait_until(lambda: registered(etcd_server, agents.cluster) == names[:2], 10, message="n3 unregistered")
    assert alone(nodes[2])
    # shutdown revokes the lease: the key goes at once, not after node_ttl
    nodes[1].stop()
    wait_until(lambda: registered(etcd_server, agents.cluster) == names[:1], 5, message="n2's lease revoked")


def test_tls_client_certificates(agents, etcd_tls_server):
    names = [agents.name(i) for i in (1, 2)]
    nodes = agents.start_all(names, etcd_extra(etcd_tls_server.url, etcd_tls_server.tls_files()))
    wait_one_cluster(nodes)
    assert registered(etcd_tls_server, agents.cluster) == names


def test_etcd_down_at_start_then_up(agents, etcd_server):
    etcd_server.stop()
    names = [agents.name(i) for i in (1, 2)]
    nodes = agents.start_all(names, etcd_extra(etcd_server.url))
    st = wait_until(lambda: (lambda s: s if s["error"] else None)(disc_status(nodes[0])), 15,
                    message="discovery to report the etcd failure")
    assert st["error"].startswith("discovery failed: etcd discover failed: http://127.0.0.1:%d: connection refused"
                                  % etcd_server.client_port), st["error"]
    assert all(alone(n) and n.proc.alive() for n in nodes)
    log = nodes[0].proc.stderr()
    assert "autocluster: discovery failed: etcd discover failed" in log and "retrying with backoff" in log
    etcd_server.start().wait_healthy()
    wait_one_cluster(nodes, timeout=30)
    assert disc_status(nodes[0])["error"] == ""
