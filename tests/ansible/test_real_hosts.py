"""The collection on one fleet of real Debian hosts, as one sequence of scenarios.

The hosts (tests/ansible/fleet.py: Debian 12 and Debian 13 containers over SSH) are booted
once per session; each test continues from the state the previous one left, the way an
operator's fleet lives:
checked fresh, formed, checked again in check mode (only the changed setting and its restart
would change: the second run's "nothing else changes"), restarted through the restart gate
(refused without a majority, done by the next run), its firewall survives the host's own
nftables, grown (a --limit first; the members change only their firewall), shrunk (one host
alive and purged, one dead), its cookie rotated and its certificates renewed under a watcher,
and firewalld driven on a host that left. Each expensive play runs once and several things are
asserted on it; the plain no-op re-run and timings are in bench/bench_site.py.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import subprocess
import threading
import time

import pytest

from fleet import CORE
from harness.wait import wait_until
from hosts.nspawn import start_port_listener

CLUSTER_PORTS = (4370, 5370)  # ekka mode, offset 0
CORE_HOSTS = {n: {} for n in CORE}


def names(fleet, hosts) -> list:
    return sorted(fleet.node_name(h) for h in hosts)


def wait_cluster(fleet, hosts, members=False):
    want = names(fleet, hosts)
    for h in hosts:
        if members:
            wait_until(lambda h=h: sorted(m["node"] for m in fleet.status(h)["members"]) == want, timeout=30,
                       message=f"{h} to have exactly {want} as members")
        else:
            wait_until(lambda h=h: fleet.running(h) == want, timeout=30, message=f"{h} to see {want} running")


def nothing_installed(fleet, host) -> list:
    """Whatever the roles leave on a host, listed; empty when nothing is there."""
    out = fleet.ssh(host, "ls -d /etc/ekka /opt/ekka-agent /var/lib/ekka /etc/systemd/system/ekka-agent.service "
                          "/etc/systemd/system/ekka-firewall.service /etc/nftables.d/ekka_cluster.nft "
                          "2>/dev/null; nft list table inet ekka_cluster >/dev/null 2>&1 && echo table; true")
    return out.stdout.split()


@pytest.mark.timeout(300)
def test_check_diff_on_fresh_hosts(fleet):
    r = fleet.play("site.yml", CORE_HOSTS, "--check", "--diff")
    assert r.rc == 0 and r.failed() == 0, r
    assert r.changed() > 0, "check mode must report what it would change"
    assert "would install ekka-agent" in r.stdout
    for h in CORE:
        assert nothing_installed(fleet, h) == [], f"--check changed {h}"


@pytest.mark.timeout(400)
def test_mixed_fleet_forms_one_cluster(fleet):
    """Debian 12 hosts (cp311, like the controller) and a Debian 13 host (cp313) in one run."""
    first = fleet.play("site.yml", CORE_HOSTS)
    assert first.rc == 0 and first.failed() == 0, first
    wait_cluster(fleet, CORE)
    py = fleet.ok("node3", "/opt/ekka-agent/venv/bin/python -c 'import sys; print(sys.version_info[:2])'")
    assert py.strip() == "(3, 13)", "node3 runs the agent on its own Python 3.13"
    assert fleet.tags["node3"]["tag"].startswith("cp313") and fleet.tags["node1"]["tag"].startswith("cp311")
    wheels = fleet.ok("node3", "ls /opt/ekka-agent/wheelhouse")
    assert "ekka_agent-" in wheels and "-cp311-cp311-" not in wheels, wheels
    # Cluster ports: open to a peer, closed to a host outside the cluster, SSH untouched.
    n1 = fleet["node1"]
    for port in CLUSTER_PORTS:
        assert fleet["node3"].host.can_connect(n1.ip, port), f"peer node3 cannot reach node1:{port}"
        assert not fleet.controller.can_connect(n1.ip, port), f"outsider reaches node1:{port}"
    assert fleet.controller.can_connect(n1.ip, 22)
    assert "ExecReload=/bin/kill -HUP $MAINPID" in fleet.ok("node1", "systemctl cat ekka-agent.service")
    # The unit's LimitNOFILE (65536, or what the host's init may give: these containers inherit
    # this machine's hard limit), not systemd's default soft limit of 1024 (about 330 members).
    init_hard = int(fleet.ok("node3", "awk '/^Max open files/ {print $5}' /proc/1/limits"))
    assert fleet.status("node3")["open_files"]["limit"] == min(65536, init_hard) > 1024


# What a changed setting that needs a restart makes change, and nothing else: in check mode
# this is also the second run's "nothing else changes" (a real no-op run would cost a minute).
RESTART_TASKS = {"ekka.cluster.node : Render the agent config", "ekka.cluster.agent : Remember the restart until it is done",
                 "ekka.cluster.agent : Restart the agent on {}", "ekka.cluster.agent : Forget the pending restart of {}",
                 "ekka.cluster.agent : Drain {} before its restart", "ekka.cluster.agent : Revive {} after its restart"}


def restart_tasks_only(r) -> dict:
    """The changed tasks of a run that is not one of RESTART_TASKS, by host (empty: none)."""
    allowed = {t.format(h) for t in RESTART_TASKS for h in CORE}
    return {h: [t for t in ts if t not in allowed] for h, ts in r.changed_tasks().items()
            if any(t not in allowed for t in ts)}


@pytest.mark.timeout(300)
def test_check_diff_on_running_cluster(fleet):
    """A changed setting shows as a diff and the restart it would cause; nothing else would
    change, and nothing is made."""
    pids = {h: fleet.main_pid(h) for h in CORE}
    fleet.group_vars = {"ekka_failure_timeout": "1600ms"}
    try:
        r = fleet.play("site.yml", CORE_HOSTS, "--check", "--diff")
    finally:
        fleet.group_vars = {}
    assert r.rc == 0 and r.failed() == 0 and r.changed() > 0, r
    assert '+  failure_timeout = "1600ms"' in r.stdout, r
    assert restart_tasks_only(r) == {}, r.changed_tasks()
    assert sorted(r.changed_tasks()) == sorted(CORE), r.changed_tasks()
    assert "1600ms" not in fleet.ok("node1", "cat /etc/ekka/ekka.conf")
    assert {h: fleet.main_pid(h) for h in CORE} == pids


@pytest.mark.timeout(400)
def test_restart_gate(fleet):
    """A setting that needs a restart: refused while stopping the node would leave no majority
    (`health --safe-to-stop`), with the check's words; done by the next run once the cluster is
    whole, one host at a time, each drained, restarted, revived and waited for with
    `health --expect 3`."""
    pids = {h: fleet.main_pid(h) for h in CORE}
    fleet.ok("node2", "systemctl stop ekka-agent.service")
    wait_until(lambda: fleet.node_name("node2") in fleet.status("node1")["stopped_nodes"], timeout=30,
               message="node1 to see node2 stopped")
    fleet.group_vars = {"ekka_failure_timeout": "1600ms", "ekka_agent_restart_gate_timeout": 2}
    try:
        refused = fleet.play("site.yml", CORE_HOSTS, "--limit", "node1")
    finally:
        fleet.group_vars = {}
    assert refused.rc != 0 and "node1 was not restarted" in refused.stdout, refused
    assert "safe_to_stop: the cluster would have 1 of 3 members running, not a majority" in refused.stdout, refused
    assert fleet.main_pid("node1") == pids["node1"]
    assert "1600ms" in fleet.ok("node1", "cat /etc/ekka/ekka.conf")
    fleet.ok("node1", "test -e /var/lib/ekka/restart-pending")

    fleet.ok("node2", "systemctl start ekka-agent.service")
    wait_cluster(fleet, CORE)
    pids["node2"] = fleet.main_pid("node2")
    fleet.base_vars["ekka_failure_timeout"] = "1600ms"
    fleet.group_vars = {"ekka_drain_on_restart": True}
    try:
        r = fleet.play("site.yml", CORE_HOSTS)
    finally:
        fleet.group_vars = {}
    assert r.rc == 0 and r.failed() == 0, r
    for h in CORE:
        assert f"Ask whether {h} may stop now (restart gate)" in r.stdout
        assert f"Drain {h} before its restart" in r.stdout
        assert f"Revive {h} after its restart" in r.stdout
        assert f"Wait until {h} runs in a cluster of its former size" in r.stdout
    assert not fleet.status("node1").get("drained_nodes"), fleet.status("node1")
    after = {h: fleet.main_pid(h) for h in CORE}
    assert all(after[h] != pids[h] for h in CORE), (pids, after)
    assert restart_tasks_only(r) == {}, r.changed_tasks()
    wait_cluster(fleet, CORE)
    for h in CORE:
        fleet.ok(h, "test ! -e /var/lib/ekka/restart-pending")


@pytest.mark.timeout(120)
def test_restarting_the_hosts_nftables_keeps_our_table(fleet):
    """Debian's stock /etc/nftables.conf begins with `flush ruleset`."""
    n1 = fleet["node1"]
    assert "flush ruleset" in fleet.ok("node1", "cat /etc/nftables.conf")
    for action in ("restart", "reload"):
        fleet.ok("node1", f"systemctl {action} nftables.service")
        assert "table inet filter" in fleet.ok("node1", "nft list tables"), "the host's own table is loaded"
        fleet.ok("node1", "nft list table inet ekka_cluster")
        for port in CLUSTER_PORTS:
            assert fleet["node2"].host.can_connect(n1.ip, port), f"after {action}: peer cannot reach node1:{port}"
            assert not fleet.controller.can_connect(n1.ip, port), f"after {action}: outsider reaches node1:{port}"
    wait_cluster(fleet, CORE)


@pytest.mark.timeout(400)
def test_adding_hosts(fleet):
    pids = {h: fleet.main_pid(h) for h in CORE}
    grown = {**CORE_HOSTS, "node4": {}, "node5": {}}
    limited = fleet.play("site.yml", grown, "--limit", "node4")
    assert limited.rc != 0 and "run site.yml on the whole group" in limited.stdout, limited
    assert nothing_installed(fleet, "node4") == [], "a refused limited run touches nothing"

    r = fleet.play("site.yml", grown)
    # How the joins went, from the agents' own logs (kept beside the play logs, and shown on failure).
    logs = {h: fleet.ssh(h, "journalctl -u ekka-agent.service --no-pager -o short-precise | tail -n 60").stdout
            for h in ("node4", "node5", "node1")}
    (fleet.work / "adding-hosts-agents.log").write_text("\n".join(f"== {h}\n{t}" for h, t in logs.items()))
    assert r.rc == 0 and r.failed() == 0, (r, logs)
    wait_cluster(fleet, list(grown))
    assert {h: fleet.main_pid(h) for h in CORE} == pids, "the seeds' config is unchanged: no restart"
    # On the members only their firewall changes: the real run's "nothing else changes".
    firewall = ["ekka.cluster.firewall : Render the self-contained nftables table",
                "ekka.cluster.firewall : Load the table (atomically replaces the previous one)"]
    changed = r.changed_tasks()
    assert {h: changed.get(h) for h in CORE} == {h: firewall for h in CORE}, changed
    assert fleet["node4"].host.can_connect(fleet["node3"].ip, 4370)


@pytest.mark.timeout(400)
def test_removing_an_alive_host_with_purge_and_a_dead_host(fleet):
    fleet.stop_host("node5")
    wait_until(lambda: fleet.node_name("node5") in fleet.status("node1")["stopped_nodes"], timeout=30,
               message="node1 to see node5 down")
    r = fleet.play("site.yml", {**CORE_HOSTS, "node4": {"ekka_state": "absent", "ekka_agent_purge": True},
                                "node5": {"ekka_state": "absent"}})
    assert r.rc == 0 and r.failed() == 0, r
    assert r.recap["node5"]["failed"] == 0
    wait_cluster(fleet, CORE, members=True)
    assert nothing_installed(fleet, "node4") == [], "purge leaves nothing behind"
    assert not fleet["node4"].host.can_connect(fleet["node1"].ip, 4370), "a host that left is no peer"


class Watcher:
    """Polls every member while a play runs: its agent's pid and the nodes it sees running."""

    def __init__(self, fleet, hosts):
        self.fleet, self.hosts = fleet, hosts
        self.seen: list[tuple] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        # One SSH login per member and poll (pid and status together): the watcher shares the
        # two cores with the play it watches.
        cmd = ("systemctl show -p MainPID --value ekka-agent.service && "
               "/opt/ekka-agent/venv/bin/ekka-ctl -c /etc/ekka/ekka.conf cluster status --json")
        while not self.stop.is_set():
            for h in self.hosts:
                try:
                    pid, status = self.fleet.ok(h, cmd).split("\n", 1)
                    self.seen.append((h, pid.strip(), sorted(json.loads(status)["running_nodes"])))
                except (AssertionError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
                    self.seen.append((h, None, repr(e)[:300]))
            time.sleep(0.2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=60)


@pytest.mark.timeout(400)
def test_cookie_rotation_keeps_one_cluster(fleet):
    pids = {h: fleet.main_pid(h) for h in CORE}
    old, new = fleet.cookie, "n" * 8 + fleet.cookie[8:][::-1]
    fleet.cookie = new
    with Watcher(fleet, CORE) as w:
        r = fleet.play("rotate_cookie.yml", CORE_HOSTS)
    assert r.rc == 0 and r.failed() == 0, r
    everyone = names(fleet, CORE)
    assert len(w.seen) >= 3 * len(CORE)
    bad = [s for s in w.seen if s[2] != everyone or s[1] != pids[s[0]]]
    assert not bad, f"the cluster split or an agent restarted during the rotation: {bad[:5]}"
    new_fp = hashlib.sha256(new.encode()).hexdigest()[:8]
    for h in CORE:
        assert fleet.ok(h, "cat /etc/ekka/cookie") == new
        assert "cookie.previous.1" not in fleet.ok(h, "ls /etc/ekka").split(), "the old cookie is dropped"
        peers = [m for m in fleet.status(h)["members"] if m["node"] != fleet.node_name(h)]
        assert [m.get("cookie") for m in peers] == [new_fp] * 2, f"{h}: peers proved {peers}"
    assert old not in r.stdout and new not in r.stdout
    again = fleet.play("rotate_cookie.yml", CORE_HOSTS)
    assert again.rc == 0 and again.changed() == 0, again
    assert "Pass 3" in again.stdout and "Write the cookies of pass 1" not in again.stdout, again


@pytest.mark.timeout(300)
def test_certificate_rotation_reloads_and_an_expiring_one_raises_the_alarm(fleet):
    """New certificates from the same CA, valid 10 days (inside the 30-day warning window):
    the agents reload them with the cluster up, and each one's status shows the alarm."""
    pids = {h: fleet.main_pid(h) for h in CORE}
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=10)
    for h in CORE:
        fleet.issue_cert(h, not_after=soon)
    with Watcher(fleet, CORE) as w:
        r = fleet.play("site.yml", CORE_HOSTS)
    assert r.rc == 0 and r.failed() == 0, r
    everyone = names(fleet, CORE)
    bad = [s for s in w.seen if s[2] != everyone or s[1] != pids[s[0]]]
    assert not bad, f"the cluster split or an agent restarted during the certificate rotation: {bad[:5]}"
    assert "Reload the agent (SIGHUP)" in r.stdout
    for h in CORE:
        key = fleet.ok(h, "stat -c '%U %a' /etc/ekka/tls/node.key").split()
        assert key == ["ekka", "640"], key
        wait_until(lambda h=h: any(a.get("name") == "certificate_expiry" for a in fleet.status(h).get("alarms", [])),
                   timeout=30, message=f"{h} to raise the certificate_expiry alarm")
    assert "PRIVATE KEY" not in r.stdout, "a private key must never show"


@pytest.mark.timeout(300)
def test_firewalld_backend(fleet):
    """node4 (purged above) runs firewalld; its peers are node1 and node2, then node1 only."""
    n4 = fleet["node4"]
    fleet.ok("node4", "systemctl start firewalld && firewall-cmd --state")
    start_port_listener(n4.host, CLUSTER_PORTS, "node4.listener")
    # The admin's zone for the cluster network; ours go there, nothing else is touched.
    fleet.ok("node4", "firewall-cmd --permanent --zone=internal --add-interface=eth0 && firewall-cmd --reload")
    playbook = fleet.work / "firewall.yml"
    playbook.write_text(json.dumps([{"name": "Firewall only", "hosts": "ekka", "gather_facts": False,
                                     "become": True, "roles": [{"role": "ekka.cluster.firewall"}]}]))

    def play(peers):
        fleet.group_vars = {"ekka_firewall_firewalld_zone": "internal",
                            "ekka_firewall_peers": [fleet[p].ip for p in peers]}
        try:
            return fleet.play(playbook, {"node4": {}})
        finally:
            fleet.group_vars = {}

    first = play(["node1", "node2"])
    assert first.rc == 0 and first.failed() == 0, first
    assert "ekka_tcp_4370_4" in fleet.ok("node4", "firewall-cmd --zone=internal --list-rich-rules")
    for port in CLUSTER_PORTS:
        for p in ("node1", "node2"):
            assert fleet[p].host.can_connect(n4.ip, port), f"peer {p} cannot reach node4:{port}"
        assert not fleet.controller.can_connect(n4.ip, port), f"outsider reaches node4:{port}"
    assert fleet.ok("node4", "firewall-cmd --permanent --ipset=ekka_tcp_4370_4 --get-entries").split() == sorted(
        [fleet["node1"].ip, fleet["node2"].ip])
    again = play(["node1", "node2"])
    assert again.rc == 0 and again.changed() == 0, again
    pruned = play(["node1"])
    assert pruned.rc == 0 and pruned.failed() == 0, pruned
    assert fleet["node1"].host.can_connect(n4.ip, 4370)
    assert not fleet["node2"].host.can_connect(n4.ip, 4370), "a departed peer keeps no access"
