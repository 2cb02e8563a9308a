"""dnsmasq as a real authoritative DNS server for test names (A, AAAA and SRV records).

Names under `domain` ("test" by default) are answered locally (`--local=/test/`): unknown ones
get NXDOMAIN, and nothing is ever forwarded (`--no-resolv`). Records given at start come from
the command line; set_records() restarts dnsmasq with new ones on the same address and port,
set_hosts() changes A/AAAA records live through a --hostsdir file plus SIGHUP.
"""
from __future__ import annotations

import ipaddress
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from .netns import in_netns
from .ports import free_port
from .procs import Proc, ProcessGroup
from .wait import wait_until

DNSMASQ_BIN = "/usr/sbin/dnsmasq"


@dataclass(frozen=True)
class Srv:
    """One SRV record: `name` like "_ekka._tcp.cluster.test" pointing at `target`:`port`."""
    name: str
    target: str
    port: int
    priority: int = 0
    weight: int = 10


Records = Mapping[str, Sequence[str]]


class Dnsmasq:
    def __init__(self, procs: ProcessGroup, workdir: Path | str, listen: str = "127.0.0.1",
                 port: int | None = None, netns: str | None = None, domain: str = "test",
                 a: Records | None = None, aaaa: Records | None = None,
                 srv: Sequence[Srv | tuple] = (), ttl: int = 1):
        if not Path(DNSMASQ_BIN).exists():
            raise RuntimeError("dnsmasq not found: run scripts/install-test-deps.sh (dnsmasq)")
        self.procs = procs
        self.workdir = Path(workdir)
        self.hostsdir = self.workdir / "hosts.d"
        self.listen = listen
        self.netns = netns
        self.port = port if port is not None else free_port(listen, "both", netns)
        self.domain = domain.strip(".")
        self.ttl = ttl
        self.a: dict[str, list[str]] = {}
        self.aaaa: dict[str, list[str]] = {}
        self.srv: list[Srv] = []
        self._set(a, aaaa, srv)
        self.proc: Proc | None = None

    def __repr__(self) -> str:
        return f"<Dnsmasq {self.listen}:{self.port}{' netns=' + self.netns if self.netns else ''}>"

    @property
    def address(self) -> str:
        """The server's address (give it to dnspython as nameserver, with .port)."""
        return self.listen

    def _set(self, a: Records | None, aaaa: Records | None, srv: Sequence[Srv | tuple]) -> None:
        for name, ips in (a or {}).items():
            for ip in ips:
                if not isinstance(ipaddress.ip_address(ip), ipaddress.IPv4Address):
                    raise ValueError(f"a[{name!r}]: {ip!r}: an IPv4 address is required")
        for name, ips in (aaaa or {}).items():
            for ip in ips:
                if not isinstance(ipaddress.ip_address(ip), ipaddress.IPv6Address):
                    raise ValueError(f"aaaa[{name!r}]: {ip!r}: an IPv6 address is required")
        self.a = {k: list(v) for k, v in (a or {}).items()}
        self.aaaa = {k: list(v) for k, v in (aaaa or {}).items()}
        self.srv = [s if isinstance(s, Srv) else Srv(*s) for s in srv]

    def argv(self) -> list[str]:
        args = [DNSMASQ_BIN, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll",
                f"--port={self.port}", f"--listen-address={self.listen}", "--bind-interfaces",
                "--pid-file=", "--conf-file=/dev/null", "--user=root", "--log-facility=-",
                "--log-queries", f"--local=/{self.domain}/", f"--local-ttl={self.ttl}",
                f"--hostsdir={self.hostsdir}"]
        for name, ips in self.a.items():
            args += [f"--host-record={name},{ip}" for ip in ips]
        for name, ips in self.aaaa.items():
            args += [f"--host-record={name},{ip}" for ip in ips]
        for s in self.srv:
            args.append(f"--srv-host={s.name},{s.target},{s.port},{s.priority},{s.weight}")
        return args

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> "Dnsmasq":
        self.hostsdir.mkdir(parents=True, exist_ok=True)
        self.proc = self.procs.start(self.argv(), name="dnsmasq", netns=self.netns)
        self.wait_ready(timeout)
        return self

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()

    def restart(self, timeout: float = 10.0) -> "Dnsmasq":
        self.stop()
        return self.start(timeout)

    def set_records(self, a: Records | None = None, aaaa: Records | None = None,
                    srv: Sequence[Srv | tuple] = ()) -> None:
        """Replace all command-line records (restarts dnsmasq; same address and port)."""
        self._set(a, aaaa, srv)
        self.restart()

    def set_hosts(self, records: Mapping[str, Sequence[str]]) -> None:
        """Live A/AAAA records {name: [ip, ...]} from a hosts file; replaces the previous ones.

        Returns once the server answers with the new set.
        """
        lines = [f"{ip} {name}\n" for name, ips in records.items() for ip in ips]
        (self.hostsdir / "live").write_text("".join(lines))
        if self.proc:
            # SIGHUP makes dnsmasq forget old hostsdir entries (inotify alone only adds).
            self.proc.signal(signal.SIGHUP, group=False)
            for name, ips in records.items():
                want4 = sorted(ip for ip in ips if ":" not in ip)
                if want4:
                    wait_until(lambda: sorted(self.lookup(name, "A")) == want4, 10, 0.05,
                               f"dnsmasq serving {name} A {want4}")

    # -- queries -------------------------------------------------------------------------
    def resolver(self, lifetime: float = 2.0):
        """A dnspython Resolver pointed only at this server (no /etc/resolv.conf).

        For a server in a netns, run queries through Host.call / in_netns.
        """
        import dns.resolver

        r = dns.resolver.Resolver(configure=False)
        r.nameservers = [self.listen]
        r.port = self.port
        r.lifetime = lifetime
        r.timeout = lifetime
        return r

    def lookup(self, name: str, rdtype: str = "A") -> list[str]:
        """Answers as strings (addresses, or "prio weight port target." for SRV); [] if none."""
        import dns.resolver

        def q() -> list[str]:
            try:
                ans = self.resolver().resolve(name, rdtype)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                return []
            return [r.to_text() for r in ans]
        return in_netns(self.netns, q) if self.netns else q()

    def wait_ready(self, timeout: float = 10.0) -> None:
        import dns.resolver

        def ready() -> bool:
            if self.proc is not None and not self.proc.alive():
                raise RuntimeError(f"dnsmasq exited (rc={self.proc.returncode}): "
                                   f"{self.proc.stderr()[-2000:]}")
            def q() -> bool:
                try:
                    self.resolver(0.3).resolve(f"ready-probe.{self.domain}", "A")
                except dns.resolver.NXDOMAIN:
                    return True
                return True
            return in_netns(self.netns, q) if self.netns else q()
        try:
            wait_until(ready, timeout, 0.02, f"dnsmasq answering on {self.listen}:{self.port}")
        except AssertionError:
            if self.proc is not None and not self.proc.alive():
                ready()
            raise


def start_dnsmasq(procs: ProcessGroup, workdir: Path | str, **kwargs) -> Dnsmasq:
    """Start dnsmasq (see Dnsmasq for the arguments) and wait until it answers."""
    return Dnsmasq(procs, workdir, **kwargs).start()
