"""One fleet of real Debian hosts for the collection's real-host scenarios, and helpers.

Five systemd-nspawn containers, each in its own network namespace on one bridge:
node1, node2, node4, node5 boot Debian 12 (Python 3.11, the controller's), node3 boots
Debian 13 (its own Python 3.13). ansible-playbook runs in the controller namespace, which
has no route to a package index, so the wheels come from a directory fetched beforehand in
the root namespace - exactly what an air-gapped controller is given (docs/ansible.md).
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from collection import REPO, ansible_env, run_playbook
from harness.certs import Certs
from harness.netns import Network
from harness.procs import ProcessGroup
from hosts.nspawn import Machine, boot, build_rootfs, host_python, make_ssh_key, shutdown, ssh

CACHE = Path("/var/cache/ekka-test")
SUITES = {"node1": "bookworm", "node2": "bookworm", "node3": "trixie", "node4": "bookworm", "node5": "bookworm"}
CORE = ("node1", "node2", "node3")


def offline_wheels(tags: list[dict]) -> Path:
    """The wheel directory an air-gapped controller needs for hosts with these tags: setuptools
    and wheel (to build the agent), pip, and every dependency of the agent for each tag."""
    pyproject = (REPO / "agent" / "pyproject.toml").read_bytes()
    key = hashlib.sha256(pyproject + json.dumps(tags, sort_keys=True).encode()).hexdigest()[:12]
    d = CACHE / f"wheels-offline-{key}"
    if (d / ".complete").exists():
        return d
    d.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]

    def run(args):
        r = subprocess.run(pip + args, capture_output=True, text=True, check=False, timeout=600)
        assert r.returncode == 0, f"pip {args[0]} failed:\n{r.stderr[-4000:]}"

    build = d / "build"
    run(["wheel", "--no-deps", "--wheel-dir", str(build), str(REPO / "agent")])
    agent_wheel = str(next(build.glob("ekka_agent-*.whl")))
    run(["download", "--dest", str(d), "setuptools>=68", "wheel"])
    for t in tags:
        run(["download", "--only-binary=:all:", "--implementation", t["implementation"],
             "--python-version", t["python"], *[a for p in t["platforms"] for a in ("--platform", p)],
             "--dest", str(d), agent_wheel, "pip"])
    for w in d.glob("ekka_agent-*.whl"):
        w.unlink()  # the playbook builds the agent itself, from the source
    subprocess.run(["rm", "-rf", str(build)], check=True)
    (d / ".complete").touch()
    return d


class Fleet:
    """The booted hosts, the inventory they are run with, and ansible-playbook over SSH."""

    def __init__(self, work: Path, names: tuple = tuple(SUITES), agent: bool = True):
        """names: the hosts to boot; agent=False for plays that install no agent (no wheels)."""
        self.work = work
        self.procs = ProcessGroup(work / "logs")
        self.net: Network | None = None
        self.machines: dict[str, Machine] = {}
        # On a new machine both images are built at once (one debootstrap mostly waits on the mirror).
        suites = sorted({SUITES[n] for n in names})
        with ThreadPoolExecutor(len(suites)) as pool:
            built = dict(zip(suites, pool.map(build_rootfs, suites)))
        self.images = {name: built[SUITES[name]] for name in names}
        self.tags = {name: host_python(img) for name, img in self.images.items()}
        self.key = make_ssh_key(work / "ssh")
        self.agent_vars: dict = {}
        if agent:
            tags = {t["tag"]: t for t in self.tags.values()}
            wheels = offline_wheels(sorted(tags.values(), key=lambda t: t["tag"]))
            # A snapshot of the agent's source: every run must see one version of it.
            agent_src = work / "agent"
            subprocess.run(["cp", "-a", str(REPO / "agent"), str(agent_src)], check=True)
            for junk in ("build", "dist", "tests"):
                subprocess.run(["rm", "-rf", str(agent_src / junk)], check=True)
            self.agent_vars = {"ekka_agent_wheelhouse": str(work / "wheelhouse"),
                               "ekka_agent_pip_args": ["--no-index", "--find-links", str(wheels)],
                               "ekka_agent_source_dir": str(agent_src)}
        self.env = ansible_env()
        self.runs = 0
        self.cookie = "c" * 8 + hashlib.sha256(str(work).encode()).hexdigest()[:24]
        # Inventory vars: base_vars for the rest of the session, group_vars for one play.
        self.base_vars: dict = {}
        self.group_vars: dict = {}
        self.certs: Certs | None = None

    def __enter__(self) -> "Fleet":
        self.procs.__enter__()
        self.net = Network(self.procs, list(self.images), controller=True, default_route=False).__enter__()
        booted = boot(self.procs, self.net, self.images, self.key)
        self.machines = {m.name: m for m in booted}
        # The cluster talks TLS (inet_tls): a test CA, one certificate per host for its IP.
        self.certs = Certs(self.work / "certs", hosts=("localhost",))
        for m in booted:
            self.issue_cert(m.name)
        return self

    def issue_cert(self, name: str, **kwargs) -> None:
        """(Re)issue host `name`'s certificate for its IP, at the same controller paths."""
        self.certs.issue(name, self[name].ip, **kwargs)

    def __exit__(self, *exc) -> None:
        try:
            shutdown([m for m in self.machines.values() if m.proc.alive()])
        finally:
            try:
                self.net.close()
            finally:
                self.procs.close()

    def __getitem__(self, name: str) -> Machine:
        return self.machines[name]

    @property
    def controller(self):
        return self.net.controller

    def host_vars(self, name: str, extra: dict) -> dict:
        d = self.certs.dir
        return {"ansible_host": self[name].ip, "ekka_tls_certfile": str(d / f"{name}.crt"),
                "ekka_tls_keyfile": str(d / f"{name}.key"), "ekka_tls_cacertfile": str(self.certs.ca_pem), **extra}

    def inventory(self, hosts: dict[str, dict]) -> Path:
        """hosts: {name: extra host vars}; node1..3 form the seed group when present."""
        seeds = {n: self.host_vars(n, v) for n, v in hosts.items() if n in CORE}
        others = {n: self.host_vars(n, v) for n, v in hosts.items() if n not in CORE}
        inv = {"ekka": {
            "children": {"ekka_seeds": {"hosts": seeds}},
            "hosts": others,
            "vars": {
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(self.key),
                "ansible_python_interpreter": "/usr/bin/python3",
                "ekka_seed_group": "ekka_seeds",
                "ekka_cookie": self.cookie,
                "ekka_firewall_backend": "auto",
                "ekka_proto_dist": "inet_tls",
                "ekka_probe_interval": "200ms",
                "ekka_failure_timeout": "1500ms",
                **self.agent_vars,
                **self.base_vars,
                **self.group_vars,
            },
        }}
        path = self.work / "hosts.yml"
        path.write_text(yaml.safe_dump(inv, sort_keys=False))
        return path

    def play(self, playbook: str | Path, hosts: dict[str, dict], *args: str):
        """ansible-playbook on one of the collection's playbooks (or a path) over SSH."""
        inv = self.inventory(hosts)
        path = playbook if isinstance(playbook, Path) else REPO / "playbooks" / playbook
        r = run_playbook(["-i", inv, path, *args], env=self.env,
                         prefix=["ip", "netns", "exec", self.net.controller.ns])
        self.runs += 1
        (self.work / f"play-{self.runs:02d}-{path.name}.log").write_text(r.stdout + r.stderr)
        return r

    def ssh(self, name: str, command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return ssh(self[name], self.key, command, timeout=timeout)

    def ok(self, name: str, command: str) -> str:
        r = self.ssh(name, command)
        assert r.returncode == 0, f"{command} on {name}: {r.stdout}{r.stderr}"
        return r.stdout

    def status(self, name: str) -> dict:
        return json.loads(self.ok(name, "/opt/ekka-agent/venv/bin/ekka-ctl -c /etc/ekka/ekka.conf cluster status --json"))

    def running(self, name: str) -> list:
        return sorted(self.status(name)["running_nodes"])

    def node_name(self, name: str) -> str:
        return f"ekka@{self[name].ip}"

    def main_pid(self, name: str) -> str:
        return self.ok(name, "systemctl show -p MainPID --value ekka-agent.service").strip()

    def stop_host(self, name: str) -> None:
        """Power the container off, as a host that died (its namespace stays, so SSH is refused)."""
        shutdown([self[name]])
