"""Shared bench helpers: real ekka-agent (and serf) processes on 127.0.0.x loopback, timing a
condition, and printing figures in tables.

Agents are started and stopped through the test harness (tests/harness: ProcessGroup records each
process by PID and stops it on close; AgentNode talks to the control socket), so the bench and the
tests drive agents the same way. Every cluster here is a context manager: whatever happens, its
processes are stopped by PID and its /tmp directory removed.
"""
from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from harness.agents import AgentCluster, AgentNode  # noqa: E402
from harness.procs import ProcessGroup  # noqa: E402
from harness.ports import _can_bind  # noqa: E402
from harness.wait import wait_until  # noqa: E402

from ekka_agent.naming import DIST_BASE_PORT, RPC_BASE_PORT  # noqa: E402

SERF = shutil.which("serf") or "/usr/bin/serf"


# ---------------------------------------------------------------- process hygiene

def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `finally` blocks stop the agents (the runner may be killed)."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)


def quick_flag(argv=None) -> bool:
    argv = sys.argv[1:] if argv is None else argv
    unknown = [a for a in argv if a != "--quick"]
    if unknown:
        print("usage: %s [--quick]  (unknown argument: %s)" % (Path(sys.argv[0]).name, unknown[0]),
              file=sys.stderr)
        sys.exit(2)
    return "--quick" in argv


# ---------------------------------------------------------------- loopback addresses and ports

def _bindable(host: str, port: int, udp: bool = False) -> bool:
    return _can_bind(host, port, [socket.SOCK_STREAM] + ([socket.SOCK_DGRAM] if udp else []))


def loopback_hosts(n: int, ports_free, tries: int = 200) -> tuple[list[str], int]:
    """n consecutive 127.0.0.x addresses and a number `k` with ports_free(host, k) on all of them.

    The start address is random (never 127.0.0.1, where the tests and `make demo` live), so two
    bench runs or a bench and a test rarely meet; the bind check covers the rest.
    """
    for _ in range(tries):
        first = random.randint(10, 250 - n)
        k = random.randint(100, 9000)
        hosts = ["127.0.0.%d" % (first + i) for i in range(n)]
        if all(ports_free(h, k) for h in hosts):
            return hosts, k
    raise RuntimeError("no %d loopback addresses with free ports found" % n)


# ---------------------------------------------------------------- ekka agents

class BenchCluster(AgentCluster):
    """N agents on 127.0.0.x (one loopback address each, all with the same port offset),
    a fresh random cookie, and the agent's default timing unless `cluster_extra` overrides it."""

    def __init__(self, n: int, cluster_extra: str = "", log_dir: str | None = None):
        self.n = n
        self.cluster_extra = cluster_extra
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="ekbl", dir="/tmp"))
        super().__init__(ProcessGroup(self.log_dir), cookie=secrets.token_urlsafe(24),
                         cluster="benchcl")
        self.hosts, self.offset = loopback_hosts(
            n, lambda h, k: _bindable(h, DIST_BASE_PORT + k) and _bindable(h, RPC_BASE_PORT + k))
        # bINnOFF@127.0.0.x: the trailing digits (the port offset) are the same on every node,
        # the index keeps names and log files apart.
        self.names = ["b%dn%d@%s" % (i + 1, self.offset, h) for i, h in enumerate(self.hosts)]

    def config_text(self, name, data_dir, extra="", cookie=None, cluster=None) -> str:
        # No heartbeat/failure_timeout lines: the bench measures the agent's defaults.
        return ("node {\n  name = %s\n  cookie = %s\n  data_dir = %s\n}\n"
                "cluster {\n  name = %s\n%s\n}\n%s\n"
                % (json.dumps(name), json.dumps(cookie or self.cookie), json.dumps(str(data_dir)),
                   json.dumps(cluster or self.cluster), self.cluster_extra, extra))

    def __enter__(self) -> "BenchCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        try:
            self.procs.close()          # SIGTERM all by PID, SIGKILL stragglers, reap
        finally:
            self.close()                # remove the data dirs
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def start_all(self, timeout: float = 60) -> list[AgentNode]:
        """Start every agent at once (not one after another), then wait for each control socket."""
        env = {"WITH_EPMD": ""}
        nodes = [self.add(name, start=False, env=env) for name in self.names]
        for node in nodes:
            node.start(wait=False)
        for node in nodes:
            node.wait_ready(timeout)
        return nodes

    def form(self, nodes: list[AgentNode], timeout: float = 60) -> None:
        """Join every node to the first through the control socket; wait until all run all."""
        for node in nodes[1:]:
            node.call("join", node=nodes[0].name)
        self.wait_running(nodes, nodes, timeout)

    def logs(self, tail: int = 20) -> str:
        return self.procs.describe(tail)


def sees_running(nodes, expect) -> bool:
    want = sorted(n.name for n in expect)
    return all(n.running() == want for n in nodes)


def sees_stopped(nodes, target) -> bool:
    return all(target.name in n.status()["stopped_nodes"] for n in nodes)


class EventLog:
    """Collects every agent's control-socket `events` stream in background threads."""

    def __init__(self, nodes):
        self.events: list[tuple[float, str, dict]] = []   # (monotonic time, observer, event)
        self.lock = threading.Lock()
        self.threads = []
        for node in nodes:
            t = threading.Thread(target=self._follow, args=(node,), daemon=True)
            t.start()
            self.threads.append(t)

    def _follow(self, node) -> None:
        try:
            for e in node.client().stream("events"):
                with self.lock:
                    self.events.append((time.monotonic(), node.name, e))
        except Exception:  # noqa: BLE001 - the stream ends when the agent stops
            pass

    def of(self, kind: str) -> list[tuple[float, str, dict]]:
        with self.lock:
            return [x for x in self.events if x[2].get("event") == kind]


# ---------------------------------------------------------------- serf (Debian's), for comparison

class SerfNode:
    def __init__(self, procs: ProcessGroup, name: str, host: str, bind_port: int, rpc_port: int):
        self.name, self.host = name, host
        self.bind = "%s:%d" % (host, bind_port)
        self.rpc = "%s:%d" % (host, rpc_port)
        self.procs = procs
        self.proc = None

    def start(self):
        return self.start_with([])

    def start_with(self, extra_args: list[str]):
        """Start with more `serf agent` flags (event handlers, -retry-join, ...)."""
        self.proc = self.procs.start(
            [SERF, "agent", "-node", self.name, "-bind", self.bind, "-advertise", self.bind,
             "-rpc-addr", self.rpc, "-log-level", "warn", *extra_args], name="serf-" + self.name)
        return self

    def wait_ready(self, timeout: float = 20) -> None:
        wait_until(lambda: self.proc.alive() and self.members(), timeout,
                   message="serf %s to answer on %s" % (self.name, self.rpc))

    def _cmd(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([SERF, *args, "-rpc-addr", self.rpc], capture_output=True,
                              text=True, timeout=10)

    def members(self) -> dict:
        """{name: status} as this agent sees it (alive, failed, left, ...)."""
        r = self._cmd("members", "-format", "json")
        if r.returncode != 0:
            return {}
        return {m["name"]: m["status"] for m in json.loads(r.stdout)["members"]}

    def join(self, other: "SerfNode") -> None:
        r = subprocess.run([SERF, "join", "-rpc-addr", self.rpc, other.bind], capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("serf join failed: %s" % (r.stdout + r.stderr).strip())

    def alive_names(self) -> list[str]:
        return sorted(n for n, s in self.members().items() if s == "alive")


def serf_views(nodes) -> dict:
    """{node name: {member: status}} from every agent at once (one `serf members` each, run in
    parallel, so a poll over ten agents costs one CLI start-up, not ten)."""
    running = [(s, subprocess.Popen([SERF, "members", "-format", "json", "-rpc-addr", s.rpc],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
               for s in nodes]
    views = {}
    for s, p in running:
        out, _ = p.communicate(timeout=10)
        views[s.name] = ({m["name"]: m["status"] for m in json.loads(out)["members"]}
                         if p.returncode == 0 else {})
    return views


def serf_all_alive(nodes, members) -> bool:
    want = sorted(m.name for m in members)
    return all(sorted(n for n, st in v.items() if st == "alive") == want
               for v in serf_views(nodes).values())


class SerfCluster:
    def __init__(self, n: int):
        self.log_dir = Path(tempfile.mkdtemp(prefix="eksf", dir="/tmp"))
        self.procs = ProcessGroup(self.log_dir)
        # bind port k (TCP and UDP) and RPC port k+1 on every address
        hosts, k = loopback_hosts(n, lambda h, p: _bindable(h, 20000 + p, udp=True)
                                  and _bindable(h, 20001 + p))
        self.nodes = [SerfNode(self.procs, "s%d" % (i + 1), h, 20000 + k, 20001 + k)
                      for i, h in enumerate(hosts)]

    def __enter__(self) -> "SerfCluster":
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.procs.close()
        finally:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def start_all(self) -> list[SerfNode]:
        for s in self.nodes:
            s.start()
        for s in self.nodes:
            s.wait_ready()
        return self.nodes


def serf_available() -> bool:
    return os.path.exists(SERF)


def serf_version() -> str:
    try:
        out = subprocess.run([SERF, "version"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return ""
    return out.split("\n")[0].strip()


# ---------------------------------------------------------------- measuring

def time_until(predicate, timeout: float, interval: float = 0.02, start: float | None = None) -> float:
    """Seconds from `start` (default: now) until predicate() is truthy; polls every `interval`.
    Raises AssertionError on timeout (via wait_until), so a bench never reports a made-up figure."""
    t0 = time.monotonic() if start is None else start
    wait_until(predicate, timeout, interval=interval, message="condition within %gs" % timeout)
    return time.monotonic() - t0


def rss_mb(pid: int) -> float:
    """Resident set size in MB (VmRSS from /proc; kB there)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS for pid %d" % pid)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values, p: float) -> float:
    """Linear-interpolated percentile, p in 0..100."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    if len(xs) == 1:
        return xs[0]
    k = (len(xs) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> str:
    return "%.1f ms" % (seconds * 1000)


def secs(seconds: float) -> str:
    return "%.2f s" % seconds


def ratio(a: float, b: float) -> str:
    return "%.2fx" % (a / b) if b else "n/a"


def print_table(title: str, header: list[str], rows: list[list]) -> None:
    """A plain-text table with columns sized to fit."""
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print("\n== %s" % title)
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for r in cells[1:]:
        print(line(r))
    sys.stdout.flush()


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"
