"""Real Debian test hosts: systemd-nspawn containers, one per network namespace.

Hosts boot from debootstrapped roots (Debian 12 or 13, each built once and cached under
/var/cache/ekka-test, keyed by its recipe) with --volatile=overlay, so several hosts share
one image and each has its own throw-away writes. Each container joins the
namespace of a harness Host, so its sshd, agent and nftables live on the test bridge only.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from harness.netns import Host, Network
from harness.procs import Proc, ProcessGroup
from harness.wait import wait_until

HERE = Path(__file__).resolve().parent


def start_port_listener(host: Host, ports, name: str) -> Proc:
    """Something listening on `ports` in host's namespace, as the agent would: the firewall tests
    probe reachability through the host's own firewall without running an agent."""
    code = ("import socket,select\nss=[]\n"
            f"for p in {tuple(ports)!r}:\n"
            " s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
            " s.bind(('0.0.0.0',p)); s.listen(16); ss.append(s)\n"
            "while True:\n"
            " for s in select.select(ss,[],[])[0]: s.accept()[0].close()\n")
    return host.start([sys.executable, "-c", code], name=name)


def build_rootfs(suite: str = "bookworm") -> Path:
    r = subprocess.run(["bash", str(HERE / "build_rootfs.sh"), suite], capture_output=True, text=True,
                       timeout=1200, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"building the test hosts' root file system failed:\n{r.stderr[-4000:]}")
    return Path(r.stdout.strip().splitlines()[-1])


def make_ssh_key(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    key = directory / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


class Machine:
    def __init__(self, host: Host, proc: Proc):
        self.host = host
        self.proc = proc

    @property
    def name(self) -> str:
        return self.host.name

    @property
    def ip(self) -> str:
        return self.host.ip


def host_python(rootfs: Path) -> dict:
    """What the agent role's probe reports for a host booted from `rootfs` (its Python and
    wheel tags), read from the image without booting it."""
    probe = (HERE.parents[2] / "roles" / "agent" / "files" / "host_python.py").read_text()
    r = subprocess.run(["chroot", str(rootfs), "/usr/bin/python3", "-B", "-c", probe], capture_output=True,
                       text=True, check=True, timeout=60)
    return json.loads(r.stdout)


def boot(procs: ProcessGroup, net: Network, rootfs: Path | dict, key: Path, hosts=None) -> list[Machine]:
    """Boot one container in each host of `net` (or of `hosts`) and wait until each accepts
    SSH. `rootfs` is one image for all, or {host name: image}."""
    machines = []
    for host in hosts or net.hosts:
        image = rootfs[host.name] if isinstance(rootfs, dict) else rootfs
        # A private tmpfs on /run/systemd/nspawn per container (see test-environment.md).
        script = (
            "mkdir -p /run/systemd/nspawn && mount -t tmpfs tmpfs /run/systemd/nspawn && "
            f"exec systemd-nspawn -D {image} --volatile=overlay -b -M {host.ns} "
            f"--hostname={host.name} --register=no --keep-unit "
            # The container owns this namespace; it needs CAP_NET_ADMIN for nftables.
            f"--network-namespace-path=/run/netns/{host.ns} --capability=CAP_NET_ADMIN --console=read-only "
            f"--bind-ro={key}.pub:/root/.ssh/authorized_keys")
        proc = procs.start(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                           name=f"nspawn-{host.name}")
        machines.append(Machine(host, proc))
    for m in machines:
        wait_until(lambda m=m: _ssh_banner(m), timeout=90, interval=0.2,
                   message=f"sshd of test host {m.name} ({m.ip}) to answer")
    return machines


def _ssh_banner(m: Machine) -> bool:
    if not m.proc.alive():
        raise AssertionError(f"container {m.name} exited: {m.proc.output()[-2000:]}")

    def probe():
        with socket.create_connection((m.ip, 22), timeout=1) as s:
            s.settimeout(2)
            return s.recv(64).startswith(b"SSH-")

    return m.host.net.controller.call(probe)


def shutdown(machines: list[Machine]) -> None:
    """Power off every container (SIGTERM to nspawn halts the container cleanly)."""
    for m in machines:
        m.proc.signal(15, group=False)
    for m in machines:
        m.proc.stop(timeout=15)


def ssh(machine: Machine, key: Path, command: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a command on a test host, from the controller namespace."""
    argv = ["ip", "netns", "exec", machine.host.net.controller.ns, "ssh", "-i", str(key),
            "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", f"root@{machine.ip}", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
