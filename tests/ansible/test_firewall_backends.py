"""The firewall role's iptables and ufw backends on real hosts (fleet.py), both in the same plays.

A small fleet of its own (four Debian 12 hosts, booted in seconds from the cached image), so
this module runs on the other xdist worker beside test_real_hosts.py, the long pole. Only the
firewall role runs (not site.yml): node4 lets `auto` find iptables (the admin's own rule is in
iptables), node5 runs ufw. Listeners in their namespaces stand in for the agent; node1 and
node2 are the peers, the controller is the outsider. For each backend: a peer reaches the
cluster ports, the outsider does not, SSH and the admin's own rules are untouched, a second run
changes nothing, and a peer dropped from the list loses its access.
"""
from __future__ import annotations

import json

import pytest

from fleet import Fleet
from hosts.nspawn import start_port_listener

CLUSTER_PORTS = (4370, 5370)  # ekka mode, offset 0
TARGETS = ("node4", "node5")
BACKENDS = {"node4": {"ekka_firewall_backend": "auto"}, "node5": {"ekka_firewall_backend": "ufw"}}


@pytest.fixture(scope="module")
def fw(tmp_path_factory):
    with Fleet(tmp_path_factory.mktemp("fwfleet"), names=("node1", "node2", *TARGETS), agent=False) as fleet:
        listeners = [start_port_listener(fleet[t].host, CLUSTER_PORTS, f"{t}.listener") for t in TARGETS]
        try:
            yield fleet
        finally:
            for p in listeners:
                p.stop(timeout=10)


def play(fleet, peers, hosts=None):
    playbook = fleet.work / "firewall.yml"
    playbook.write_text(json.dumps([{"name": "Firewall only", "hosts": "ekka", "gather_facts": False,
                                     "become": True, "roles": [{"role": "ekka.cluster.firewall"}]}]))
    fleet.group_vars = {"ekka_firewall_peers": [fleet[p].ip for p in peers]}
    try:
        return fleet.play(playbook, hosts or BACKENDS)
    finally:
        fleet.group_vars = {}


def assert_cluster_ports(fleet, target, peers, outsiders):
    t = fleet[target]
    for port in CLUSTER_PORTS:
        for p in peers:
            assert fleet[p].host.can_connect(t.ip, port), f"peer {p} cannot reach {target}:{port}"
        for o in outsiders:
            host = fleet.controller if o == "controller" else fleet[o].host
            assert not host.can_connect(t.ip, port), f"{o} outside the cluster reaches {target}:{port}"
    assert fleet.controller.can_connect(t.ip, 22), f"SSH to {target} must stay untouched"


@pytest.mark.timeout(400)
def test_iptables_and_ufw_backends(fw):
    fleet = fw
    # The admin's own rule, which the role must leave alone; iptables rules node4, so `auto`
    # must choose it.
    fleet.ok("node4", "iptables -A INPUT -p tcp --dport 9 -j DROP")

    # ufw chosen explicitly while it is off: a clear failure on node5, nothing enabled behind
    # the admin's back; node4 goes on regardless.
    off = play(fleet, ["node1", "node2"])
    assert off.rc != 0 and "ufw is inactive" in off.stdout, off
    assert off.recap["node5"]["failed"] == 1 and off.recap["node4"]["failed"] == 0, off
    assert "inactive" in fleet.ok("node5", "ufw status")
    assert_cluster_ports(fleet, "node4", ["node1", "node2"], ["controller"])

    # The admin's ufw: SSH allowed, ufw on, incoming allowed by default (so only the role's
    # own deny rules keep the outsider away from the cluster ports).
    fleet.ok("node5", "ufw allow 22/tcp && ufw default allow incoming && ufw --force enable")
    first = play(fleet, ["node1", "node2"])
    assert first.rc == 0 and first.failed() == 0, first
    assert first.recap["node4"]["changed"] == 0, first
    for t in TARGETS:
        assert_cluster_ports(fleet, t, ["node1", "node2"], ["controller"])
    second = play(fleet, ["node1", "node2"])
    assert second.rc == 0 and second.changed() == 0, second

    # node2 leaves the peers: its rules go, node1's stay.
    third = play(fleet, ["node1"])
    assert third.rc == 0 and third.failed() == 0, third
    for t in TARGETS:
        assert_cluster_ports(fleet, t, ["node1"], ["controller", "node2"])
    fourth = play(fleet, ["node1"])
    assert fourth.rc == 0 and fourth.changed() == 0, fourth

    # iptables: the admin's rule kept, one jump to our chain, only the remaining peer in it.
    rules = fleet.ok("node4", "iptables -S")
    assert "-A INPUT -p tcp -m tcp --dport 9 -j DROP" in rules
    assert rules.count("-j EKKA_CLUSTER") == 1, rules
    chain = fleet.ok("node4", "iptables -S EKKA_CLUSTER")
    assert fleet["node1"].ip in chain and fleet["node2"].ip not in chain
    # IPv6 has no peers here, so its cluster ports are closed to everyone.
    assert "DROP" in fleet.ok("node4", "ip6tables -S EKKA_CLUSTER")
    # Persisted: the boot unit rebuilds the chain after a flush.
    fleet.ok("node4", "iptables -D INPUT -j EKKA_CLUSTER && iptables -F EKKA_CLUSTER && "
                      "systemctl restart ekka-firewall.service")
    assert_cluster_ports(fleet, "node4", ["node1"], ["controller", "node2"])

    # ufw: the admin's rule kept, only the remaining peer allowed.
    added = fleet.ok("node5", "ufw show added")
    assert "ufw allow 22/tcp" in added
    assert fleet["node1"].ip in added and fleet["node2"].ip not in added
