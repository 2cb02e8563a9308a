"""Scale figures: N real agents and N Debian serf agents on 127.0.0.x, side by side (issue 12).

    python bench/bench_scale.py                 # N = 10, 30, 100; 10 min idle per cluster
    python bench/bench_scale.py --quick         # N = 10, 30; 30 s idle
    python bench/bench_scale.py --sizes 10      # only N = 10 (with or without --quick)
    python bench/bench_scale.py --sizes 10 --idle 60   # a 60 s idle window (CPU over all of it)
    python bench/bench_scale.py --tls           # ekka over mutual TLS, serf with a gossip key

Per N and per system, one after the other (never both at once, so neither skews the other):
 1. start N agents with static seeds (ekka: every name in cluster.static.seeds; serf: every agent
    -retry-join the first); time from the last agent answering its control socket / RPC port to
    one cluster of N seen by every agent;
 2. idle: CPU per agent and for the whole cluster over the first CPU window (60 s; quick 20 s),
    then RSS per agent; the idle window goes on (10 min; quick 30 s) and member-down events seen
    by any agent in it are false downs;
 3. SIGSTOP one agent (trials: 5, quick 3): time until the first and until every other agent
    sees it down; SIGCONT: time until every other agent sees it up again.

Nothing polls an agent during the idle window: ekka's down/up times come from every agent's
control-socket `events` stream, serf's from an event handler that appends one line per member
event to a file per agent. Formation is polled (ekka: `status` on every agent; serf: the event
files). Default timing on both sides: the ekka config sets no heartbeat or timeout key, serf
runs its default LAN profile. With --tls, what an operator who keeps the cluster's traffic
private runs: ekka with `proto_dist = inet_tls` (one test CA; each agent's certificate names its
address), serf with `-encrypt` (its AES-GCM gossip key).
"""
from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common as c  # noqa: E402

TARGET_CPU_RATIO = 2.0       # idle CPU at most twice serf's (at N = 100)
TARGET_DETECT_S = 3.0        # median SIGSTOP detection at default settings
TARGET_RSS_MB = 30.0


class Plan:
    def __init__(self, argv: list[str]):
        self.quick = "--quick" in argv
        self.tls = "--tls" in argv
        rest = [a for a in argv if a not in ("--quick", "--tls")]
        self.sizes = [10, 30] if self.quick else [10, 30, 100]
        self.cpu_s = 20 if self.quick else 60
        self.idle_s = 30 if self.quick else 600
        self.trials = 3 if self.quick else 5
        while rest:
            opt, val = rest[0], rest[1] if len(rest) > 1 else None
            rest = rest[2:]
            if opt == "--sizes" and val:
                try:
                    self.sizes = [int(x) for x in val.split(",")]
                except ValueError:
                    _usage("--sizes takes N[,N...], got %r" % val)
                if any(not 2 <= n <= 200 for n in self.sizes):
                    _usage("--sizes: each N must be 2..200, got %r" % val)
            elif opt == "--idle" and val:
                if not val.isdigit() or not 10 <= int(val) <= 3600:
                    _usage("--idle takes seconds, 10..3600, got %r" % val)
                self.idle_s = int(val)
                self.cpu_s = min(60, self.idle_s)
            else:
                _usage("unknown argument: %s" % opt)


def _usage(why: str) -> None:
    print("usage: bench_scale.py [--quick] [--tls] [--sizes N[,N...]] [--idle SECONDS]  (%s)" % why, file=sys.stderr)
    sys.exit(2)


def form_timeout(n: int) -> float:
    return 60 + 3 * n


# ---------------------------------------------------------------- what one run measures

class Run:
    """Figures of one system at one N (None where it could not be measured)."""

    def __init__(self, system: str, n: int):
        self.system, self.n = system, n
        self.form_s = None
        self.cpu_pct: list[float] = []     # per agent, % of one core
        self.rss_mb: list[float] = []
        self.false_downs = None
        self.idle_s = 0.0
        self.detect_first: list[float] = []
        self.detect_all: list[float] = []
        self.recover: list[float] = []
        # other agents seen down during the trials: by the stopped one (after it resumes) / by the rest
        self.collateral = [0, 0]

    @property
    def cluster_cores(self):
        return sum(self.cpu_pct) / 100 if self.cpu_pct else None


def idle_and_cpu(run: Run, plan: Plan, pids: list[int], downs_since) -> None:
    """The idle window: CPU over its first plan.cpu_s, RSS after that, false downs over all of it.
    The window is the measurement itself, so it is slept, not waited on."""
    t0 = time.monotonic()
    cpu0 = [c.cpu_seconds(p) for p in pids]
    time.sleep(plan.cpu_s)
    wall = time.monotonic() - t0
    run.cpu_pct = [(c.cpu_seconds(p) - a) / wall * 100 for p, a in zip(pids, cpu0)]
    run.rss_mb = [c.rss_mb(p) for p in pids]
    time.sleep(max(0.0, plan.idle_s - (time.monotonic() - t0)))
    run.idle_s = time.monotonic() - t0
    run.false_downs = downs_since(t0)


def trials(run: Run, plan: Plan, agents, pause, resume, seen_since, settle) -> None:
    """SIGSTOP / SIGCONT one agent per trial (a different one each time, never the first).

    seen_since(kind, victim, t0) -> {observer: seconds after t0 of its first `kind` event for
    victim}; settle() waits (untimed) until every agent sees every agent up again."""
    for trial in range(plan.trials):
        victim = agents[1 + trial % (len(agents) - 1)]
        watchers = [a.name for a in agents if a is not victim]
        t0 = time.monotonic()
        pause(victim)
        try:
            seen = c.wait_until(lambda: _all_of(seen_since("down", victim, t0), watchers), 120,
                                interval=0.05, message="every agent to see %s down" % victim.name)
        finally:
            t1 = time.monotonic()
            resume(victim)
        run.detect_first.append(min(seen.values()))
        run.detect_all.append(max(seen.values()))
        back = c.wait_until(lambda: _all_of(seen_since("up", victim, t1), watchers), 120,
                            interval=0.05, message="every agent to see %s up again" % victim.name)
        run.recover.append(max(back.values()))
        settle()
        for a in agents:
            if a is not victim:
                for o in seen_since("down", a, t0):
                    run.collateral[o != victim.name] += 1


def _all_of(seen: dict, watchers: list[str]):
    return seen if all(w in seen for w in watchers) else None


# ---------------------------------------------------------------- ekka

def bench_ekka(n: int, plan: Plan) -> Run:
    run = Run("ekka", n)
    with c.BenchCluster(n) as cl:
        cl.cluster_extra = "discovery_strategy = static\nstatic { seeds = %s }" % json.dumps(cl.names)
        if plan.tls:
            cl.cluster_extra += tls_lines(cl)
        try:
            _ekka(cl, run, plan)
        except Exception:
            print(cl.logs(10))
            raise
    return run


def tls_lines(cl) -> str:
    """Mutual TLS on the cluster and RPC ports: one leaf for every agent's address (the bench
    measures the cost of TLS, not the issuing of a hundred certificates)."""
    from harness.certs import Certs     # tests/harness: trustme, installed for the tests
    certs = Certs(cl.log_dir / "pki")
    leaf = certs.issue("agents", *cl.hosts)
    return ('\nproto_dist = inet_tls\nssl { certfile = %s, keyfile = %s, cacertfile = %s }'
            % (json.dumps(str(leaf.cert)), json.dumps(str(leaf.key)), json.dumps(str(certs.ca_pem))))


def _ekka(cl, run: Run, plan: Plan) -> None:
    nodes = cl.start_all(timeout=form_timeout(cl.n))
    t0 = time.monotonic()
    run.form_s = c.time_until(lambda: one_cluster(nodes), form_timeout(cl.n), interval=0.05, start=t0)
    events = c.EventLog(nodes)
    c.wait_until(lambda: all(t.is_alive() for t in events.threads), 10)
    time.sleep(1)   # let every stream attach before the window opens

    def seen_since(kind, victim, t0):
        out = {}
        for t, observer, e in events.of("node_" + kind):
            if t >= t0 and e.get("node") == victim.name and observer not in out:
                out[observer] = t - t0
        return out

    def downs_since(t0):
        return sum(1 for t, _, _ in events.of("node_down") if t >= t0)

    idle_and_cpu(run, plan, [nd.proc.pid for nd in nodes], downs_since)
    trials(run, plan, nodes, lambda v: v.pause(), lambda v: v.resume(), seen_since,
           lambda: c.wait_until(lambda: one_cluster(nodes), form_timeout(cl.n), interval=0.2,
                                message="one cluster of %d again" % cl.n))


def one_cluster(nodes) -> bool:
    ids, n = set(), len(nodes)
    for nd in nodes:
        st = nd.status()
        if len(st["running_nodes"]) != n:
            return False
        ids.add(st["cluster_id"])
    return len(ids) == 1


# ---------------------------------------------------------------- serf

HANDLER = """#!/bin/sh
# One line per member in this event: <unix time> <event> <member name>
t=$(date +%s.%N)
while read -r name rest; do echo "$t $SERF_EVENT $name"; done >> "$1"
"""


class SerfEvents:
    """Member events of every serf agent, read back from the files its event handler writes."""

    def __init__(self, sc):
        self.dir = sc.log_dir
        self.handler = self.dir / "handler.sh"
        self.handler.write_text(HANDLER)
        self.handler.chmod(self.handler.stat().st_mode | stat.S_IXUSR)
        # wall clock in the files, monotonic here
        self.offset = time.time() - time.monotonic()

    def args(self, node) -> list[str]:
        return ["-event-handler", "member-join,member-failed,member-leave=%s %s"
                % (self.handler, self.dir / ("ev-" + node.name))]

    def lines(self, node):
        try:
            text = (self.dir / ("ev-" + node.name)).read_text()
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 3:
                out.append((float(parts[0]) - self.offset, parts[1], parts[2]))
        return out

    def view(self, node) -> dict:
        """{member: last event} as this agent saw it."""
        v = {}
        for _, kind, member in self.lines(node):
            v[member] = kind
        return v


def bench_serf(n: int, plan: Plan) -> Run:
    run = Run("serf", n)
    with c.SerfCluster(n) as sc:
        ev = SerfEvents(sc)
        nodes = sc.nodes
        key = ["-encrypt", base64.b64encode(secrets.token_bytes(16)).decode()] if plan.tls else []
        for i, s in enumerate(nodes):
            join = ["-retry-join", nodes[0].bind, "-retry-interval", "1s"] if i else []
            s.start_with(ev.args(s) + join + key)
        for s in nodes:
            s.wait_ready(form_timeout(n))
        t0 = time.monotonic()

        def formed():
            names = {s.name for s in nodes}
            return all({m for m, k in ev.view(s).items() if k == "member-join"} >= names - {s.name}
                       for s in nodes)
        run.form_s = c.time_until(formed, form_timeout(n), interval=0.05, start=t0)
        c.wait_until(lambda: c.serf_all_alive(nodes, nodes), 30, message="serf members: all alive")

        def seen_since(kind, victim, t0):
            want = "member-failed" if kind == "down" else "member-join"
            out = {}
            for s in nodes:
                for t, k, m in ev.lines(s):
                    if t >= t0 and k == want and m == victim.name and s.name not in out:
                        out[s.name] = t - t0
            return out

        def downs_since(t0):
            return sum(1 for s in nodes for t, k, _ in ev.lines(s) if t >= t0 and k == "member-failed")

        idle_and_cpu(run, plan, [s.proc.pid for s in nodes], downs_since)
        trials(run, plan, nodes, lambda v: v.proc.pause(), lambda v: v.proc.resume(), seen_since,
               lambda: c.wait_until(lambda: c.serf_all_alive(nodes, nodes), 120, interval=0.5,
                                    message="serf: all alive again"))
    return run


# ---------------------------------------------------------------- report

def _pct(xs) -> str:
    return "%.2f%% / %.2f%%" % (c.median(xs), max(xs)) if xs else "-"


def _mb(xs) -> str:
    return "%.1f / %.1f MiB" % (c.median(xs), max(xs)) if xs else "-"


def _s(xs) -> str:
    return "%s (max %s)" % (c.secs(c.median(xs)), c.secs(max(xs))) if xs else "-"


def _r(a, b) -> str:
    return c.ratio(a, b) if a is not None and b is not None else "-"


def report(n: int, plan: Plan, e: Run | None, s: Run | None) -> None:
    def fig(run, f):
        return f(run) if run is not None else None

    def med(attr):
        return lambda r: c.median(getattr(r, attr)) if getattr(r, attr) else None

    rows = []

    def row(label, show, value):
        a, b = fig(e, value), fig(s, value)
        rows.append([label, show(e) if e else "-", show(s) if s else "-", _r(a, b)])

    row("last start -> one cluster of %d" % n, lambda r: c.secs(r.form_s) if r.form_s else "-",
        lambda r: r.form_s)
    row("idle CPU per agent, med / max (%d s)" % plan.cpu_s, lambda r: _pct(r.cpu_pct), med("cpu_pct"))
    row("idle CPU, whole cluster", lambda r: "%.3f cores" % r.cluster_cores if r.cpu_pct else "-",
        lambda r: r.cluster_cores)
    row("RSS per agent, med / max", lambda r: _mb(r.rss_mb), med("rss_mb"))
    row("SIGSTOP: first agent sees it down", lambda r: _s(r.detect_first), med("detect_first"))
    row("SIGSTOP: every agent sees it down", lambda r: _s(r.detect_all), med("detect_all"))
    row("SIGCONT: every agent sees it up", lambda r: _s(r.recover), med("recover"))
    row("false downs, %d s idle" % plan.idle_s,
        lambda r: str(r.false_downs) if r.false_downs is not None else "-", lambda r: None)
    row("others seen down in the trials: by the stopped one / the rest",
        lambda r: "%d / %d" % tuple(r.collateral) if r.detect_all else "-", lambda r: None)
    c.print_table("N = %d: ekka beside serf %s (median of %d SIGSTOP trials; ratio = ekka / serf)"
                  % (n, c.serf_version(), plan.trials), ["figure", "ekka", "serf", "ratio"], rows)
    sys.stdout.flush()


def targets(results: dict) -> None:
    rows = []
    for n, (e, s) in sorted(results.items()):
        if e is None:
            rows.append([n, "one cluster of %d" % n, "not measured", "-", "MISSED"])
            continue
        rows.append([n, "one cluster", c.secs(e.form_s), "formed", "ok"])
        if e.cpu_pct and s is not None and s.cpu_pct:
            r = e.cluster_cores / s.cluster_cores
            rows.append([n, "idle CPU / serf's", "%.2fx" % r, "<= %.0fx" % TARGET_CPU_RATIO,
                         c.verdict(r <= TARGET_CPU_RATIO)])
        if e.detect_all:
            d = c.median(e.detect_all)
            rows.append([n, "SIGSTOP detection (median, all see it)", c.secs(d),
                         "<= %.0f s" % TARGET_DETECT_S, c.verdict(d <= TARGET_DETECT_S)])
        if e.false_downs is not None:
            rows.append([n, "false downs (%.0f s idle)" % e.idle_s, e.false_downs, "0",
                         c.verdict(e.false_downs == 0)])
        if e.rss_mb:
            rows.append([n, "RSS per agent (max)", "%.1f MiB" % max(e.rss_mb), "<= %.0f MiB" % TARGET_RSS_MB,
                         c.verdict(max(e.rss_mb) <= TARGET_RSS_MB)])
    c.print_table("targets (issue 12; the CPU ratio and detection targets are set at N = 100)",
                  ["N", "figure", "ekka", "target", ""], rows)


def main() -> int:
    c.exit_on_sigterm()
    plan = Plan(sys.argv[1:])
    print("bench_scale (%s%s): N = %s, CPU over %d s, %d s idle, %d SIGSTOP trials; %d CPUs, load "
          "average %.2f (a shared machine)" % ("quick" if plan.quick else "full",
                                              ", ekka over TLS, serf encrypted" if plan.tls else "", plan.sizes, plan.cpu_s,
                                              plan.idle_s, plan.trials, os.cpu_count() or 0,
                                              os.getloadavg()[0]))
    sys.stdout.flush()
    if not c.serf_available():
        print("!! serf not found at %s: no comparison (apt-get install serf)" % c.SERF)
    results, failed = {}, []
    for n in plan.sizes:
        runs = []
        for system, fn in (("ekka", bench_ekka), ("serf", bench_serf)):
            if system == "serf" and not c.serf_available():
                runs.append(None)
                continue
            t0 = time.monotonic()
            try:
                runs.append(fn(n, plan))
            except Exception as e:  # noqa: BLE001 - reported, then the next run
                failed.append("%s N=%d" % (system, n))
                print("\n!! %s N=%d failed: %s: %s" % (system, n, type(e).__name__, e))
                traceback.print_exc(file=sys.stdout)
                runs.append(None)
            print("   (%s N=%d took %.1f s, load average %.2f)"
                  % (system, n, time.monotonic() - t0, os.getloadavg()[0]))
        results[n] = tuple(runs)
        report(n, plan, *runs)
    targets(results)
    if failed:
        print("\nfailed runs: %s" % ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
