"""Throw-away networks of namespaces on a Linux bridge, with partitions made by nftables.

Layout of one Network (a unique 10.x.y.0/24 per use, so concurrent tests never collide):
  bridge <tag>br            10.x.y.1       (address added first: root-ns traffic stays local)
  host i: netns <tag>-<name> eth0 10.x.y.(i+1) lo up, 224.0.0.0/4 via eth0 (multicast)
  controller (optional)      eth0 10.x.y.254 a namespace for the test's own client side

<tag> is "ekt" + owner PID (base 36, 5 chars) + a per-process sequence (3 chars). The owner PID
lets sweep_leftovers() remove what a crashed run left behind without touching live runs.
"""
from __future__ import annotations

import ctypes
import fcntl
import ipaddress
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path
from typing import Callable, Iterable, Sequence, TypeVar

from .procs import Proc, ProcessGroup, pid_alive, sweep_orphans

T = TypeVar("T")

PREFIX = "ekt"
_TAG_RE = re.compile(rf"^{PREFIX}([0-9a-z]{{5}})([0-9a-z]{{3}})")
_SUBNET_POOL = (100, 199)        # second octet range of the 10.0.0.0/8 subnets we hand out
_LOCK_PATH = "/run/lock/ekka-test-netns.lock"
_CLONE_NEWNET = 0x40000000
_NFT_TABLE = "ekka_test"
_seq = itertools.count(1)
_libc = ctypes.CDLL(None, use_errno=True)


def _b36(n: int, width: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out.rjust(width, "0")[-width:]


def sh(argv: Sequence[str], check: bool = True, input: str | None = None,
       timeout: float = 30) -> subprocess.CompletedProcess:
    """Run a setup command; on failure raise with its stderr (not just the exit code)."""
    r = subprocess.run([str(a) for a in argv], input=input, capture_output=True, text=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed (rc={r.returncode}): "
                           f"{r.stderr.strip() or r.stdout.strip()}")
    return r


def in_netns(netns: str, fn: Callable[..., T], *args, **kwargs) -> T:
    """Run fn(*args, **kwargs) in a fresh thread that has entered network namespace `netns`.

    Only that thread switches (setns on a net namespace is per thread), so the test process
    stays where it is. Sockets created inside keep their namespace after fn returns.
    """
    result: dict = {}

    def run() -> None:
        try:
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, _CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into netns {netns}: {os.strerror(err)}")
            finally:
                os.close(fd)
            result["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # re-raised in the caller's thread
            result["exc"] = exc

    t = threading.Thread(target=run, name=f"netns:{netns}", daemon=True)
    t.start()
    t.join()
    if "exc" in result:
        raise result["exc"]
    return result["value"]


def _used_v4_networks() -> list[ipaddress.IPv4Network]:
    used = []
    routes = json.loads(sh(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout or "[]")
    for r in routes:
        dst = r.get("dst", "")
        if dst in ("default", "") or r.get("type") in ("broadcast", "multicast"):
            continue
        try:
            used.append(ipaddress.ip_network(dst, strict=False))
        except ValueError:
            pass
    for link in json.loads(sh(["ip", "-j", "-4", "addr"]).stdout or "[]"):
        for a in link.get("addr_info", []):
            used.append(ipaddress.ip_network(f"{a['local']}/{a['prefixlen']}", strict=False))
    return used


def _link_names() -> list[str]:
    return [link["ifname"] for link in json.loads(sh(["ip", "-j", "link"]).stdout or "[]")]


def _netns_names() -> list[str]:
    out = sh(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _kill_netns_pids(ns: str) -> None:
    """SIGKILL whatever still runs inside a namespace this harness created."""
    pids = sh(["ip", "netns", "pids", ns], check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def sweep_leftovers() -> list[str]:
    """Remove what crashed test runs left: their processes (see procs.OWNER_ENV), and
    namespaces, links and /etc/netns entries with our prefix whose owning process is gone.

    Returns what was removed. Resources of test runs that are still alive are left alone.
    """
    removed = [f"process {pid}" for pid in sweep_orphans()]
    for ns in _netns_names():
        m = _TAG_RE.match(ns)
        if m and not pid_alive(int(m.group(1), 36)):
            _kill_netns_pids(ns)
            sh(["ip", "netns", "del", ns], check=False)
            shutil.rmtree(f"/etc/netns/{ns}", ignore_errors=True)
            removed.append(f"netns {ns}")
    for name in _link_names():
        m = _TAG_RE.match(name)
        if m and not pid_alive(int(m.group(1), 36)):
            sh(["ip", "link", "del", name], check=False)
            removed.append(f"link {name}")
    if os.path.isdir("/etc/netns"):
        for name in os.listdir("/etc/netns"):
            m = _TAG_RE.match(name)
            if m and not pid_alive(int(m.group(1), 36)):
                shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)
                removed.append(f"/etc/netns/{name}")
    return removed


class Host:
    """One namespace on the bridge: a "machine" of the test cluster."""

    def __init__(self, net: "Network", name: str, ns: str, ip: str, ip6: str | None, veth: str):
        self.net = net
        self.name = name
        self.ns = ns
        self.ip = ip
        self.ip6 = ip6
        self.veth = veth  # root-ns end of the veth pair (the "switch port")
        self._block_in: set[str] = set()   # source hosts whose packets this host drops
        self._isolated = False
        self._loss = 0                     # percent of incoming packets dropped at random

    def __repr__(self) -> str:
        return f"<Host {self.name} {self.ip} netns={self.ns}>"

    def addresses(self) -> list[str]:
        return [self.ip] + ([self.ip6] if self.ip6 else [])

    def run(self, cmd: Sequence[str] | str, check: bool = True, timeout: float = 30,
            input: str | None = None) -> subprocess.CompletedProcess:
        """Run a short command inside the host and wait for it; a string goes to `sh -c`."""
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        return sh(["ip", "netns", "exec", self.ns, *argv], check=check, input=input,
                  timeout=timeout)

    def start(self, argv: Sequence[str], name: str | None = None, **kwargs) -> Proc:
        """Start a long-running process inside the host (see ProcessGroup.start)."""
        name = name or f"{self.name}.{Path(str(argv[0])).name}"
        return self.net.procs.start(argv, name=name, netns=self.ns, **kwargs)

    def call(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run a Python callable with this host's network (client code of the test)."""
        return in_netns(self.ns, fn, *args, **kwargs)

    def can_connect(self, ip: str, port: int, timeout: float = 1.5) -> bool:
        """Does a TCP connect from this host to ip:port succeed (a firewall probe)?"""
        def probe() -> bool:
            try:
                socket.create_connection((ip, port), timeout=timeout).close()
                return True
            except OSError:
                return False
        return self.call(probe)

    def set_resolv(self, nameservers: Iterable[str], search: str | None = None) -> Path:
        """/etc/resolv.conf as seen by processes started in this host (`ip netns exec`)."""
        d = Path("/etc/netns") / self.ns
        d.mkdir(parents=True, exist_ok=True)
        lines = [f"nameserver {n}" for n in nameservers]
        if search:
            lines.append(f"search {search}")
        path = d / "resolv.conf"
        path.write_text("\n".join(lines) + "\n")
        return path

    def set_hosts(self, entries: dict[str, str]) -> Path:
        """/etc/hosts as seen by processes started in this host: {name: address}."""
        d = Path("/etc/netns") / self.ns
        d.mkdir(parents=True, exist_ok=True)
        path = d / "hosts"
        path.write_text("127.0.0.1 localhost\n" + "".join(f"{a} {n}\n" for n, a in entries.items()))
        return path

    def _apply_rules(self) -> None:
        """Replace this host's nft table in one transaction (or drop it when there are no rules)."""
        script = f"table inet {_NFT_TABLE}\ndelete table inet {_NFT_TABLE}\n"
        rules_in, rules_out = [], []
        if self._isolated:
            rules_in.append('iifname "eth0" drop')
            rules_out.append('oifname "eth0" drop')
        if self._loss:
            # No netem in this kernel (research 1f); nft's random numbers give packet loss.
            rules_in.append('iifname "eth0" drop' if self._loss >= 100 else
                            f'iifname "eth0" numgen random mod 100 < {self._loss} drop')
        v4 = sorted(h.ip for h in self._block_in)
        v6 = sorted(h.ip6 for h in self._block_in if h.ip6)
        if v4:
            rules_in.append(f"ip saddr {{ {', '.join(v4)} }} drop")
        if v6:
            rules_in.append(f"ip6 saddr {{ {', '.join(v6)} }} drop")
        if rules_in or rules_out:
            def chain(hook: str, rules: list[str]) -> str:
                body = "".join(f"    {r}\n" for r in rules)
                return (f"  chain {hook} {{ type filter hook {hook} priority -10; policy accept;\n"
                        f"{body}  }}\n")
            script += (f"table inet {_NFT_TABLE} {{\n" + chain("input", rules_in)
                       + chain("output", rules_out) + "}\n")
        self.run(["nft", "-f", "-"], input=script)

    def nft_ruleset(self) -> str:
        return self.run(["nft", "list", "ruleset"]).stdout


class Network:
    """Context manager: a bridge, N hosts and an optional controller namespace.

    Everything is removed on exit, also after a failure: processes started in its hosts first,
    then the namespaces (and anything still running inside them), then the bridge.
    """

    def __init__(self, procs: ProcessGroup, hosts: int | Sequence[str] = 3,
                 controller: bool = True, ipv6: bool = False, default_route: bool = False):
        names = [f"node{i}" for i in range(1, hosts + 1)] if isinstance(hosts, int) else list(hosts)
        if (not 1 <= len(names) <= 200 or len(set(names)) != len(names) or "controller" in names
                or not all(re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", n) for n in names)):
            raise ValueError(f"hosts: {names!r}: 1-200 distinct names of letters, digits, '_.-' "
                             "('controller' is reserved)")
        self.procs = procs
        self._names = names
        self._want_controller = controller
        self._ipv6 = ipv6
        self._default_route = default_route
        self.tag = f"{PREFIX}{_b36(os.getpid(), 5)}{_b36(next(_seq), 3)}"
        self.bridge = f"{self.tag}br"
        self.subnet: ipaddress.IPv4Network | None = None
        self.subnet6: ipaddress.IPv6Network | None = None
        self.gateway = ""        # the bridge's address
        self.gateway6 = ""
        self.hosts: list[Host] = []
        self.controller: Host | None = None
        self._namespaces: list[str] = []
        self._veths: list[str] = []
        self._bridge_made = False

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> "Network":
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _create(self) -> None:
        # The lock spans "choose a free subnet" .. "it is on our bridge", so two runs that
        # start together cannot pick the same one.
        os.makedirs(os.path.dirname(_LOCK_PATH), exist_ok=True)
        with open(_LOCK_PATH, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.subnet = self._pick_subnet()
            # No IGMP snooping: the bridge floods multicast like a plain hub, so delivery does
            # not depend on when a join was learned (research gotcha 3).
            sh(["ip", "link", "add", self.bridge, "type", "bridge", "mcast_snooping", "0"])
            self._bridge_made = True
            self.gateway = str(self.subnet.network_address + 1)
            sh(["ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge])
            if self._ipv6:
                x, y = self.subnet.network_address.packed[1:3]
                self.subnet6 = ipaddress.IPv6Network(f"fd65:6b6b:{x:x}:{y:x}::/64")
                self.gateway6 = str(self.subnet6.network_address + 1)
                sh(["ip", "addr", "add", f"{self.gateway6}/64", "dev", self.bridge, "nodad"])
            sh(["ip", "link", "set", self.bridge, "up"])
        self._check_route(str(self.subnet.network_address + 2))
        for i, name in enumerate(self._names, start=1):
            self.hosts.append(self._add_host(name, f"v{i}", i + 1))
        if self._want_controller:
            self.controller = self._add_host("controller", "vc", 254)
        # Only now can the root ns reach a host: fail before any test traffic if it would not
        # stay on the bridge.
        self._check_route(self.hosts[0].ip)

    def _pick_subnet(self) -> ipaddress.IPv4Network:
        used = _used_v4_networks()
        candidates = [(a, b) for a in range(*_SUBNET_POOL) for b in range(256)]
        random.shuffle(candidates)
        for a, b in candidates[:5000]:
            net = ipaddress.IPv4Network(f"10.{a}.{b}.0/24")
            if not any(net.overlaps(u) for u in used):
                return net
        raise RuntimeError("no free 10.x.y.0/24 subnet for a test network")

    def _check_route(self, ip: str) -> None:
        out = sh(["ip", "route", "get", ip]).stdout
        if f" dev {self.bridge} " not in f" {out} ":
            raise RuntimeError(f"route to {ip} does not use test bridge {self.bridge}: {out.strip()}")

    def _add_host(self, name: str, veth_suffix: str, last_octet: int) -> Host:
        ns = f"{self.tag}-{name}"
        veth = f"{self.tag}{veth_suffix}"
        ip = str(self.subnet.network_address + last_octet)
        ip6 = str(self.subnet6.network_address + last_octet) if self.subnet6 else None
        sh(["ip", "netns", "add", ns])
        self._namespaces.append(ns)
        sh(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
        self._veths.append(veth)
        sh(["ip", "link", "set", veth, "master", self.bridge])
        sh(["ip", "link", "set", veth, "up"])
        batch = [f"addr add {ip}/24 dev eth0", "link set lo up", "link set eth0 up",
                 # Multicast with INADDR_ANY needs a route (research gotcha 2).
                 "route add 224.0.0.0/4 dev eth0"]
        if ip6:
            batch.insert(1, f"addr add {ip6}/64 dev eth0 nodad")
        if self._default_route and name != "controller":
            # Facts like ansible_default_ipv4 need one; safe because root ns ip_forward=0.
            batch.append(f"route add default via {self.gateway}")
        sh(["ip", "-n", ns, "-batch", "-"], input="\n".join(batch) + "\n")
        return Host(self, name, ns, ip, ip6, veth)

    def close(self) -> None:
        errors = []
        mine = set(self._namespaces)
        ProcessGroup.stop_many([p for p in self.procs.procs if p.netns in mine])
        for ns in self._namespaces:
            _kill_netns_pids(ns)
        # Namespace deletion frees its devices asynchronously; deleting our veth ends first
        # removes both ends now, so nothing is left once close() returns.
        for veth in self._veths:
            sh(["ip", "link", "del", veth], check=False)
        self._veths.clear()
        for ns in self._namespaces:
            r = sh(["ip", "netns", "del", ns], check=False)
            if r.returncode != 0 and ns in _netns_names():
                errors.append(r.stderr.strip())
            shutil.rmtree(f"/etc/netns/{ns}", ignore_errors=True)
        self._namespaces.clear()
        if self._bridge_made:
            # Deleting a namespace deletes its veth pair; the bridge is ours to remove.
            r = sh(["ip", "link", "del", self.bridge], check=False)
            if r.returncode != 0 and self.bridge in _link_names():
                errors.append(r.stderr.strip())
            self._bridge_made = False
        if errors:
            raise RuntimeError("test network teardown: " + "; ".join(errors))

    # -- access --------------------------------------------------------------------------
    def __iter__(self):
        return iter(self.hosts)

    def __len__(self) -> int:
        return len(self.hosts)

    def __getitem__(self, key: int | str) -> Host:
        if isinstance(key, int):
            return self.hosts[key]
        return self.host(key)

    def host(self, name: str) -> Host:
        for h in self.hosts + ([self.controller] if self.controller else []):
            if h.name == name:
                return h
        raise KeyError(f"host: {name!r}: known are {[h.name for h in self.hosts]}")

    def _resolve(self, hosts: Host | str | Iterable[Host | str]) -> list[Host]:
        if isinstance(hosts, (Host, str)):
            hosts = [hosts]
        return [h if isinstance(h, Host) else self.host(h) for h in hosts]

    # -- faults --------------------------------------------------------------------------
    def partition(self, *groups: Host | str | Iterable[Host | str]) -> None:
        """Cut every host from every host of the other groups, both ways.

        net.partition([n1], [n2, n3]): n1 cannot talk to n2 or n3; n2<->n3 still work.
        Packets are dropped (a real partition times out, it does not refuse).
        """
        resolved = [self._resolve(g) for g in groups]
        if len(resolved) < 2:
            raise ValueError("partition: needs at least two groups of hosts")
        changed = set()
        for i, ga in enumerate(resolved):
            for gb in resolved[i + 1:]:
                for a in ga:
                    for b in gb:
                        a._block_in.add(b)
                        b._block_in.add(a)
                        changed.update((a, b))
        for h in changed:
            h._apply_rules()

    def block(self, src: Host | str, dst: Host | str) -> None:
        """One-way cut: packets from `src` to `dst` are dropped, `dst` -> `src` still arrives."""
        s, d = self._resolve(src)[0], self._resolve(dst)[0]
        d._block_in.add(s)
        d._apply_rules()

    def isolate(self, host: Host | str) -> None:
        """Cut a host from everything on the bridge (its own loopback keeps working)."""
        h = self._resolve(host)[0]
        h._isolated = True
        h._apply_rules()

    def loss(self, host: Host | str, percent: int) -> None:
        """Drop `percent` % of the packets arriving at `host` from the bridge, at random."""
        if not isinstance(percent, int) or not 0 <= percent <= 100:
            raise ValueError(f"percent: {percent!r}: an integer 0-100 is required")
        h = self._resolve(host)[0]
        h._loss = percent
        h._apply_rules()

    def heal(self, hosts: Host | str | Iterable[Host | str] | None = None) -> None:
        """Remove all partitions, blocks, isolation and loss (of the given hosts, default all)."""
        everyone = self.hosts + ([self.controller] if self.controller else [])
        targets = everyone if hosts is None else self._resolve(hosts)
        for h in everyone:
            if h in targets:
                h._block_in.clear()
                h._isolated = False
                h._loss = 0
                h._apply_rules()
            elif h._block_in & set(targets):
                h._block_in -= set(targets)
                h._apply_rules()
