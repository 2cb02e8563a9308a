"""site.yml over SSH against real Debian hosts (systemd-nspawn in network namespaces).

From a fresh state: three hosts form one cluster; nftables lets a peer reach the cluster
ports and keeps a host outside the cluster out; a second run changes nothing; a fourth
host added to the inventory joins (the seeds' config is unchanged, so they do not restart);
marked `ekka_state: absent`, it leaves. ansible-playbook runs in the controller namespace.
"""
from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from collection import REPO, ansible_env, run_playbook
from harness.wait import wait_until
from hosts.nspawn import boot, build_rootfs, make_ssh_key, shutdown, ssh

CACHE = Path("/var/cache/ekka-test")


def deps_wheelhouse() -> Path:
    """The agent's dependencies (and pip) as wheels, fetched once in the root namespace:
    the controller namespace has no route to a package index, like an offline controller."""
    pyproject = (REPO / "agent" / "pyproject.toml").read_bytes()
    import hashlib

    # The build backend too: the playbook's `pip wheel --no-index` builds the agent offline.
    extra = ["pip", "setuptools>=68", "wheel"]
    d = CACHE / f"wheelhouse-{hashlib.sha256(pyproject + repr(extra).encode()).hexdigest()[:12]}"
    if not (d / ".complete").exists():
        d.mkdir(parents=True, exist_ok=True)
        r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(d),
                            str(REPO / "agent"), *extra], capture_output=True, text=True, check=False,
                           timeout=600)
        assert r.returncode == 0, f"pip wheel of the agent's dependencies failed:\n{r.stderr[-4000:]}"
        for w in d.glob("ekka_agent-*.whl"):
            w.unlink()  # the playbook builds the agent itself from the source
        (d / ".complete").touch()
    return d


@pytest.fixture
def cluster_hosts(netns, procs, tmp_path):
    rootfs = build_rootfs()
    key = make_ssh_key(tmp_path / "ssh")
    net = netns(hosts=["node1", "node2", "node3", "node4"], controller=True, default_route=False)
    machines = []
    try:
        machines = boot(procs, net, rootfs, key)
        yield net, machines, key
    finally:
        shutdown(machines)


def write_inventory(path: Path, machines, key: Path, wheels: Path, work: Path, cookie: str,
                    fourth: str | None, agent_src: Path) -> None:
    seeds = {m.name: {"ansible_host": m.ip} for m in machines[:3]}
    inv = {"ekka": {
        "children": {"ekka_seeds": {"hosts": seeds}},
        "hosts": {},
        "vars": {
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(key),
            "ansible_python_interpreter": "/usr/bin/python3",
            "ekka_seed_group": "ekka_seeds",
            "ekka_cookie": cookie,
            "ekka_firewall_backend": "auto",
            "ekka_heartbeat_interval": "200ms",
            "ekka_failure_timeout": "1500ms",
            "ekka_agent_wheelhouse": str(work / "wheelhouse"),
            "ekka_agent_pip_wheel_args": ["--no-index", "--find-links", str(wheels)],
            "ekka_agent_source_dir": str(agent_src),
        },
    }}
    if fourth:
        m4 = machines[3]
        inv["ekka"]["hosts"][m4.name] = {"ansible_host": m4.ip}
        if fourth == "absent":
            inv["ekka"]["hosts"][m4.name]["ekka_state"] = "absent"
    path.write_text(yaml.safe_dump(inv, sort_keys=False))


def status(machine, key) -> dict:
    r = ssh(machine, key, "/opt/ekka-agent/venv/bin/ekka-ctl -c /etc/ekka/ekka.conf cluster status --json")
    assert r.returncode == 0, f"ekka-ctl on {machine.name}: {r.stdout}{r.stderr}"
    return json.loads(r.stdout)


def running(machine, key) -> list:
    return sorted(status(machine, key)["running_nodes"])


def main_pid(machine, key) -> str:
    return ssh(machine, key, "systemctl show -p MainPID --value ekka-agent.service").stdout.strip()


@pytest.mark.timeout(1200)
def test_site_yml_on_real_hosts(cluster_hosts, tmp_path):
    net, machines, key = cluster_hosts
    n1, n2, n3, n4 = machines
    wheels = deps_wheelhouse()
    # A snapshot of the agent's source: the runs must see one version of it.
    agent_src = tmp_path / "agent"
    shutil.copytree(REPO / "agent", agent_src,
                    ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", "tests"))
    inv = tmp_path / "hosts.yml"
    cookie = secrets.token_hex(20)
    env = ansible_env()
    in_ctl = ["ip", "netns", "exec", net.controller.ns]
    site = REPO / "playbooks" / "site.yml"

    runs = iter(range(1, 100))

    def play(fourth=None):
        write_inventory(inv, machines, key, wheels, tmp_path, cookie, fourth, agent_src)
        r = run_playbook(["-i", inv, site], env=env, prefix=in_ctl)
        (tmp_path / f"play-{next(runs)}.log").write_text(r.stdout + r.stderr)
        return r

    # 1. A fresh three-node cluster.
    first = play()
    assert first.rc == 0 and first.failed() == 0, first
    names3 = sorted(f"ekka@{m.ip}" for m in machines[:3])
    for m in machines[:3]:
        wait_until(lambda m=m: running(m, key) == names3, timeout=30,
                   message=f"{m.name} to see the three nodes running")
        assert ssh(m, key, "systemctl is-active ekka-agent.service").stdout.strip() == "active"

    # 2. Cluster ports: open to a peer, closed to a host outside the cluster.
    for port in (4370, 5370):
        assert n2.host.can_connect(n1.ip, port), f"peer node2 cannot reach node1:{port}"
        assert not net.controller.can_connect(n1.ip, port), f"outsider reaches node1:{port}"
    assert net.controller.can_connect(n1.ip, 22), "the firewall must not touch other ports"
    ruleset = ssh(n1, key, "nft list table inet ekka_cluster").stdout
    assert n2.ip in ruleset and net.controller.ip not in ruleset

    # 3. Idempotent: a second run changes nothing.
    pids = {m.name: main_pid(m, key) for m in machines[:3]}
    second = play()
    assert second.rc == 0 and second.changed() == 0, second

    # 4. A fourth host joins; the seeds' config is unchanged, so they are not restarted.
    third = play(fourth="present")
    assert third.rc == 0 and third.failed() == 0, third
    names4 = sorted(names3 + [f"ekka@{n4.ip}"])
    for m in machines:
        wait_until(lambda m=m: running(m, key) == names4, timeout=30,
                   message=f"{m.name} to see four nodes running")
    assert {m.name: main_pid(m, key) for m in machines[:3]} == pids
    assert n4.host.can_connect(n1.ip, 4370), "the new host must be let in by the old ones"

    # 5. Marked absent, the fourth host leaves and its agent stops.
    fourth = play(fourth="absent")
    assert fourth.rc == 0 and fourth.failed() == 0, fourth
    for m in machines[:3]:
        wait_until(lambda m=m: sorted(m2["node"] for m2 in status(m, key)["members"]) == names3,
                   timeout=30, message=f"{m.name} to have three members")
    assert ssh(n4, key, "systemctl is-active ekka-agent.service").stdout.strip() != "active"
