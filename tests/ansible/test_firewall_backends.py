"""The firewall role's iptables and ufw backends on real hosts (systemd-nspawn in namespaces).

Only the firewall role runs (not site.yml), over SSH from the controller namespace. A
listener in node1's namespace stands in for the agent; the controller is the outsider.
Each backend: a peer reaches the cluster ports, the outsider does not, SSH and the admin's
own rules are untouched, a second run changes nothing, and a peer dropped from the
inventory loses its access. iptables/ufw only ever run inside the containers.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from collection import ansible_env, run_playbook
from hosts.nspawn import boot, build_rootfs, make_ssh_key, shutdown, ssh, start_port_listener

CLUSTER_PORTS = (4370, 5370)  # ekka mode, offset 0


@pytest.fixture
def fw_hosts(netns, procs, tmp_path):
    rootfs = build_rootfs()
    key = make_ssh_key(tmp_path / "ssh")
    net = netns(hosts=["node1", "node2", "node3"], controller=True, default_route=False)
    machines = []
    try:
        machines = boot(procs, net, rootfs, key)
        # What the agent would listen on, in node1's namespace (so node1's firewall applies).
        start_port_listener(machines[0].host, CLUSTER_PORTS, "node1.listener")
        yield net, machines, key
    finally:
        shutdown(machines)


def check_ok(machine, key, command: str) -> str:
    r = ssh(machine, key, command)
    assert r.returncode == 0, f"{command} on {machine.name}: {r.stdout}{r.stderr}"
    return r.stdout


class Play:
    """The firewall role alone, over an inventory of some of the hosts."""

    def __init__(self, tmp_path: Path, net, machines, key, backend: str):
        self.tmp, self.net, self.machines, self.key, self.backend = tmp_path, net, machines, key, backend
        self.env = ansible_env()
        self.n = 0
        self.playbook = tmp_path / "firewall.yml"
        self.playbook.write_text(json.dumps([{
            "name": "Firewall only", "hosts": "ekka", "gather_facts": False,
            "roles": [{"role": "ekka.cluster.firewall"}]}]))

    def __call__(self, machines=None, **extra):
        machines = machines or self.machines
        inv = self.tmp / "hosts.yml"
        inv.write_text(yaml.safe_dump({"ekka": {
            "hosts": {m.name: {"ansible_host": m.ip} for m in machines},
            "vars": {"ansible_user": "root", "ansible_ssh_private_key_file": str(self.key),
                     "ansible_python_interpreter": "/usr/bin/python3",
                     "ekka_firewall_backend": self.backend, **extra}}}))
        r = run_playbook(["-i", inv, self.playbook], env=self.env,
                         prefix=["ip", "netns", "exec", self.net.controller.ns])
        self.n += 1
        (self.tmp / f"play-{self.backend}-{self.n}.log").write_text(r.stdout + r.stderr)
        return r


def assert_cluster_ports(net, n1, peers, outsiders):
    for port in CLUSTER_PORTS:
        for m in peers:
            assert m.host.can_connect(n1.ip, port), f"peer {m.name} cannot reach node1:{port}"
        for h in outsiders:
            assert not h.can_connect(n1.ip, port), f"{h.name} outside the cluster reaches node1:{port}"
    assert net.controller.can_connect(n1.ip, 22), "SSH must stay untouched"


def exercise(play: Play, net, machines, key):
    n1, n2, n3 = machines
    first = play()
    assert first.rc == 0 and first.failed() == 0, first
    assert_cluster_ports(net, n1, [n2, n3], [net.controller])

    second = play()
    assert second.rc == 0 and second.changed() == 0, second

    # node3 leaves the inventory: its rules go, node2's stay.
    third = play(machines[:2])
    assert third.rc == 0 and third.failed() == 0, third
    assert_cluster_ports(net, n1, [n2], [net.controller, n3.host])
    fourth = play(machines[:2])
    assert fourth.rc == 0 and fourth.changed() == 0, fourth


@pytest.mark.timeout(300)
def test_iptables_backend(fw_hosts, tmp_path):
    net, machines, key = fw_hosts
    n1 = machines[0]
    # The admin's own rules, which the role must leave alone; iptables rules the hosts, so
    # `auto` must choose it.
    for m in machines:
        check_ok(m, key, "iptables -A INPUT -p tcp --dport 9 -j DROP")
    exercise(Play(tmp_path, net, machines, key, "auto"), net, machines, key)
    rules = check_ok(n1, key, "iptables -S")
    assert "-A INPUT -p tcp -m tcp --dport 9 -j DROP" in rules
    assert rules.count("-j EKKA_CLUSTER") == 1, rules
    chain = check_ok(n1, key, "iptables -S EKKA_CLUSTER")
    assert machines[1].ip in chain and machines[2].ip not in chain
    # IPv6 has no peers here, so its cluster ports are closed to everyone.
    assert "DROP" in check_ok(n1, key, "ip6tables -S EKKA_CLUSTER")
    # Persisted: the boot unit rebuilds the chain after a flush.
    check_ok(n1, key, "iptables -D INPUT -j EKKA_CLUSTER && iptables -F EKKA_CLUSTER && "
                      "systemctl restart ekka-firewall.service")
    assert_cluster_ports(net, n1, [machines[1]], [net.controller, machines[2].host])


@pytest.mark.timeout(300)
def test_ufw_backend(fw_hosts, tmp_path):
    net, machines, key = fw_hosts
    play = Play(tmp_path, net, machines, key, "ufw")
    # Chosen explicitly while ufw is off: a clear failure, nothing enabled behind the admin's back.
    off = play()
    assert off.rc != 0 and "ufw is inactive" in off.stdout, off
    assert "inactive" in check_ok(machines[0], key, "ufw status")
    # The admin's setup: SSH allowed, ufw on, incoming allowed by default (so only the
    # role's own deny rules keep the outsider away from the cluster ports).
    for m in machines:
        check_ok(m, key, "ufw allow 22/tcp && ufw default allow incoming && ufw --force enable")
    exercise(play, net, machines, key)
    added = check_ok(machines[0], key, "ufw show added")
    assert "ufw allow 22/tcp" in added
    assert machines[1].ip in added and machines[2].ip not in added
