"""The etcd strategy's promise against etcd's own lease: a holder trusts its grant until
(before it asked) + the lease the agent answered; etcd must keep the key at least that long,
whatever other owners of the same agent, re-entrant calls or late answers do."""
from __future__ import annotations

import json
import time
import urllib.request

import pytest

from ekka_agent.client import LockClient, NotAcquired
from ekka_agent.runtime.etcd_locks import EtcdLockStore
from harness.netns import in_netns
from harness.wait import wait_until

from .helpers import form


def etcd_expiry(etcd, key: str):
    """(monotonic time by which etcd surely still has the key, its lease id), or (None, None)."""
    c = etcd.client()
    kvs = c.get(key, metadata=True)
    if not kvs:
        return None, None
    lid = int(kvs[0][1].get("lease") or 0)
    t = time.monotonic()
    ttl = int(c.post(c.get_url("/kv/lease/timetolive"), json={"ID": lid}).get("TTL", -1))
    # etcd reports whole seconds, rounded down: the key lives at least ttl more seconds.
    return (t + ttl if ttl > 0 else None), lid


def test_a_release_by_another_owner_leaves_the_holders_lease(agents, etcd_server):
    # Two owners through one agent: b's release of a lock it does not hold must not revoke a's
    # etcd lease (the helper once remembered one lease per resource, not per owner).
    (n1,) = form(agents, 1, extra="cluster.locks.etcd.server = %s\n" % json.dumps(etcd_server.url))
    a, b, c = (LockClient(n1.conf, owner=o) for o in "abc")
    g = a.acquire("shared", "etcd", lease=30)
    assert b.release("shared", "etcd") is False
    with pytest.raises(NotAcquired) as e:
        c.acquire("shared", "etcd", lease=30)
    assert e.value.error == "locked"
    assert a.renew("shared", "etcd", lease=30)["token"] == g["token"]


def test_each_grant_is_covered_by_etcds_lease(agents, etcd_server):
    # A re-entrant acquire or a renewal with a longer lease than the first grant: the answer
    # must not promise more than etcd's lease gives (a TTL cannot be raised by a keepalive).
    (n1,) = form(agents, 1, extra="cluster.locks.etcd.server = %s\n" % json.dumps(etcd_server.url))
    a = LockClient(n1.conf, owner="a")
    key = "/ekka-locks/grow"
    for call, lease in (("acquire", 2), ("acquire", 30), ("renew", 60), ("acquire", 2), ("renew", 5)):
        r = getattr(a, call)("grow", "etcd", lease=lease)
        expiry, _ = etcd_expiry(etcd_server, key)
        assert expiry is not None and r["valid_until"] <= expiry, (call, lease, r)
    assert a.release("grow", "etcd") is True


def test_a_late_handback_or_stale_release_spares_a_newer_hold(etcd_server):
    # The helper's calls, as the core issues them: an acquire the core gave up on (its answer
    # came late and is handed back), a release that ran after the owner took the lock again.
    # Each names the etcd lease of the hold it means, so neither frees the newer hold.
    st = {"servers": [etcd_server.url], "prefix": "t", "ssl": {}, "timeout": 5.0}
    s = EtcdLockStore(st)
    late = s.acquire("r", "n|a", 2)
    again = s.acquire("r", "n|a", 2)          # the owner's retry: re-entrant
    assert again["ok"] and again["token"] == late["token"] and again["lease_id"] != late["lease_id"]
    assert s.release("r", "n|a", late["lease_id"])["released"] is False
    assert s.acquire("r", "n|b", 2)["error"] == "locked"
    renewed = s.renew("r", "n|a", 2, again["lease_id"])
    assert renewed["ok"] and renewed["lease_id"] == again["lease_id"]
    # A renewal that names a lease the key has left is lost, not extended.
    assert s.renew("r", "n|a", 2, late["lease_id"])["ok"] is False
    assert s.release("r", "n|a", again["lease_id"])["released"] is True
    assert s.acquire("r", "n|b", 2)["ok"]


def _metric(etcd, name: str, match: str) -> float:
    """Sum of one Prometheus counter of etcd's /metrics over the series whose labels contain match."""
    def get() -> str:
        with urllib.request.urlopen(etcd.url + "/metrics", timeout=5) as r:
            return r.read().decode()
    text = in_netns(etcd.netns, get)
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") and match in line)


def _stale_ports(host, etcd) -> set:
    """Local ports of the agent's etcd connections that its HTTP client gave up on while
    their request was still unacknowledged: closed (FIN-WAIT-1), the kernel still sends it."""
    out = host.run(["ss", "-tnH", "state", "fin-wait-1", "dst", etcd.host,
                    "dport", "=", ":%d" % etcd.client_port]).stdout
    return {int(line.split()[2].rsplit(":", 1)[1]) for line in out.splitlines() if line.strip()}


def test_a_release_etcd_applies_late_frees_no_newer_hold(netns, agents, etcd_factory):
    # A release sent while etcd was unreachable times out, but its request stays in the agent's
    # TCP send queue and reaches etcd after the cut heals; by then the owner holds the lock again.
    net = netns(1)
    h = net.hosts[0]
    etcd = etcd_factory(host=net.controller.ip, netns=net.controller.ns)
    extra = "cluster.locks.etcd.server = %s\ncluster.locks.request_timeout = 1s\n" % json.dumps(etcd.url)
    (n1,) = form(agents, 1, extra=extra, hosts=net.hosts)
    a, b = LockClient(n1.conf, owner="a"), LockClient(n1.conf, owner="b")
    a.acquire("late", "etcd", lease=30)
    net.block(h, net.controller)
    a.release("late", "etcd")                       # etcd_unavailable: the agent gives up on it
    ports = set()
    wait_until(lambda: ports.update(_stale_ports(h, etcd)) or ports, 10, message="the stale connection")
    # Hold the stale request back (only its connection), let everything else through.
    table = "ekka_locks_test"
    h.run(["nft", "-f", "-"], input="table inet %s {\n chain output { type filter hook output priority -20;\n"
          "  tcp sport { %s } drop\n }\n}\n" % (table, ", ".join(map(str, sorted(ports)))))
    try:
        net.heal()
        g = a.acquire("late", "etcd", lease=30, wait=10)
        txns = _metric(etcd, "grpc_server_handled_total", 'grpc_method="Txn"')
    finally:
        h.run(["nft", "delete", "table", "inet", table], check=False)
    # The stale release reaches etcd now and is answered; the new hold must survive it.
    wait_until(lambda: not (_stale_ports(h, etcd) & ports), 60, message="the stale request to be delivered")
    wait_until(lambda: _metric(etcd, "grpc_server_handled_total", 'grpc_method="Txn"') > txns, 20,
               message="etcd to answer the stale release")
    with pytest.raises(NotAcquired) as e:
        b.acquire("late", "etcd", lease=30)
    assert e.value.error == "locked"
    assert a.renew("late", "etcd", lease=30)["token"] == g["token"]
