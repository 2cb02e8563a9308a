"""Foundation figures with real agents on 127.0.0.x: join time per node, silent-failure detection,
idle RSS, replicated write latency on 3 nodes, and false downs during an idle run; Debian's serf
beside them where the measurement is comparable.

    python bench/bench_foundation.py           # full: 10 agents idle for 10 minutes
    python bench/bench_foundation.py --quick   # fewer agents, fewer trials, 30 s idle

Detection and false downs use the agent's default timing (heartbeat 500 ms, failure timeout
2500 ms): the config written here sets neither.
"""
from __future__ import annotations

import os
import secrets
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common as c  # noqa: E402

TARGET_RSS_MB = 40.0
TARGET_DETECT_S = 3.0


class Plan:
    def __init__(self, quick: bool):
        self.quick = quick
        self.join_sizes = [3, 5] if quick else [3, 10]
        self.warmup_s = 5 if quick else 30          # idle before reading RSS
        self.detect_trials = 3 if quick else 10
        self.serf_detect_trials = 2 if quick else 5
        self.writes = 200 if quick else 2000
        self.idle_nodes = 5 if quick else 10
        self.idle_s = 30 if quick else 600


figures: dict[str, object] = {}      # name -> value, for the summary
failures: list[str] = []


def section(name):
    """Run one measurement; on error print why (and the agents' logs) and go on with the next."""
    def wrap(fn):
        def run(*a, **kw):
            t0 = time.monotonic()
            try:
                fn(*a, **kw)
            except Exception as e:  # noqa: BLE001 - reported, then the next section runs
                failures.append(name)
                print("\n!! %s failed: %s: %s" % (name, type(e).__name__, e))
                traceback.print_exc(file=sys.stdout)
                logs = getattr(e, "bench_logs", "")
                if logs:
                    print(logs)
            print("   (%s took %.1f s)" % (name, time.monotonic() - t0))
            sys.stdout.flush()
        return run
    return wrap


def with_logs(cluster, fn):
    """Call fn(); if it raises, attach the agents' log tails to the exception for the report."""
    try:
        return fn()
    except Exception as e:
        e.bench_logs = cluster.logs(15)
        raise


# ---------------------------------------------------------------- join time and idle RSS

def _join_one_by_one(nodes, via_ctl: bool):
    """Join nodes[1:] to nodes[0] one after another; per node: (command returned, running on all)."""
    seed = nodes[0]
    ret_t, all_t = [], []
    for i, node in enumerate(nodes[1:], start=1):
        t0 = time.monotonic()
        if via_ctl:
            r = node.ctl("cluster", "join", seed.name)
            if r.returncode != 0 or "Join the cluster successfully." not in r.stdout:
                raise RuntimeError("ekka-ctl cluster join: rc %d: %s" % (r.returncode, r.stdout + r.stderr))
        else:
            res = node.call("join", node=seed.name)
            if res != "ok":
                raise RuntimeError("join over the control socket answered %r" % (res,))
        ret_t.append(time.monotonic() - t0)
        members = nodes[:i + 1]
        all_t.append(c.time_until(lambda: c.sees_running(members, members), 30, interval=0.005, start=t0))
    return ret_t, all_t


@section("join + idle RSS (ekka)")
def bench_join_ekka(plan: Plan) -> None:
    rows = []
    for n in plan.join_sizes:
        for via_ctl in (True, False):
            with c.BenchCluster(n) as cl:
                def run():
                    t0 = time.monotonic()
                    nodes = cl.start_all()
                    ready = time.monotonic() - t0
                    ret_t, all_t = _join_one_by_one(nodes, via_ctl)
                    if not via_ctl:
                        return ready, ret_t, all_t, None
                    # ekka-ctl's own start-up, to read the join figures against.
                    for _ in range(3):
                        t0 = time.monotonic()
                        nodes[0].ctl("cluster", "status")
                        figures.setdefault("ekka_ctl_startup", []).append(time.monotonic() - t0)
                    # Idle RSS once the cluster has run a while (a fixed idle window, not a wait).
                    time.sleep(plan.warmup_s)
                    return ready, ret_t, all_t, [c.rss_mb(node.proc.pid) for node in nodes]
                ready, ret_t, all_t, rss = with_logs(cl, run)
            key = "ctl" if via_ctl else "sock"
            figures["ekka_join_%s_%d" % (key, n)] = c.median(all_t)
            figures["ekka_join_total_%s_%d" % (key, n)] = sum(all_t)
            if rss:
                figures.setdefault("ekka_rss_all", []).extend(rss)
            rows.append([n, "ekka-ctl" if via_ctl else "control socket", c.secs(ready), c.ms(c.median(ret_t)),
                         c.ms(c.median(all_t)), c.ms(max(all_t)), c.secs(sum(all_t)),
                         "%.1f / %.1f MB" % (c.median(rss), max(rss)) if rss else ""])
    c.print_table("ekka join (cluster join SEED on each node, one after another)",
                  ["agents", "join via", "all started", "returned (med)", "running on all (med)",
                   "running on all (max)", "whole cluster", "idle RSS med / max"], rows)
    print("   'running on all' = from issuing the join until every member lists every joined node as "
          "running. Via ekka-ctl it includes the CLI's Python start-up (`ekka-ctl cluster status` "
          "alone: median %s). RSS read after %d s idle."
          % (c.ms(c.median(figures.get("ekka_ctl_startup", []))), plan.warmup_s))


@section("join + idle RSS (serf)")
def bench_join_serf(plan: Plan) -> None:
    rows = []
    for n in plan.join_sizes:
        with c.SerfCluster(n) as sc:
            nodes = sc.start_all()
            seed = nodes[0]
            ctl_t, all_t = [], []
            for i, node in enumerate(nodes[1:], start=1):
                t0 = time.monotonic()
                node.join(seed)
                ctl_t.append(time.monotonic() - t0)
                members = nodes[:i + 1]
                all_t.append(c.time_until(lambda: c.serf_all_alive(members, members), 30,
                                          interval=0.005, start=t0))
            time.sleep(plan.warmup_s)
            rss = [c.rss_mb(s.proc.pid) for s in nodes]
        figures["serf_join_%d" % n] = c.median(all_t)
        figures["serf_join_total_%d" % n] = sum(all_t)
        figures["serf_rss_%d" % n] = max(rss)
        figures.setdefault("serf_rss_all", []).extend(rss)
        rows.append([n, c.ms(c.median(ctl_t)), c.ms(c.median(all_t)), c.ms(max(all_t)), c.secs(sum(all_t)),
                     "%.1f / %.1f MB" % (c.median(rss), max(rss))])
    c.print_table("serf join (serf join ADDR, one agent after another, to one seed)",
                  ["agents", "cli returned (med)", "alive on all (med)", "alive on all (max)",
                   "whole cluster", "idle RSS med / max"], rows)


# ---------------------------------------------------------------- 3 nodes: writes, then detection

@section("replicated writes + failure detection (ekka, 3 agents)")
def bench_three(plan: Plan) -> None:
    with c.BenchCluster(3) as cl:
        with_logs(cl, lambda: _three(cl, plan))


def _three(cl, plan: Plan) -> None:
    nodes = cl.start_all()
    cl.form(nodes)
    writer, others = nodes[0], nodes[1:]
    client = writer.client()
    rows = []
    for label, size in (("64 B", 64), ("16 KiB", 16384)):
        value = secrets.token_hex(size // 2)
        for i in range(20):                                    # warm-up, not measured
            client.call("kv_put", key="warm%d" % i, value=value)
        lat = []
        for i in range(plan.writes):
            t0 = time.monotonic()
            res = client.call("kv_put", key="k%d" % (i % 100), value=value)
            lat.append(time.monotonic() - t0)
            if len(res["acked"]) != 2:
                raise RuntimeError("write %d acknowledged by %s, expected both other nodes" % (i, res["acked"]))
        # Acknowledged means applied: the last value is on the others already.
        for o in others:
            got = o.call("kv_get", key="k%d" % ((plan.writes - 1) % 100))["value"]
            if got != value:
                raise RuntimeError("%s does not hold the last acknowledged write" % o.name)
        figures["write_p50_%s" % label] = c.percentile(lat, 50)
        figures["write_p99_%s" % label] = c.percentile(lat, 99)
        rows.append([label, plan.writes, c.ms(c.percentile(lat, 50)), c.ms(c.percentile(lat, 99)),
                     c.ms(max(lat)), "%.0f/s" % (len(lat) / sum(lat))])
    c.print_table("replicated write latency, 3 agents (kv_put on one node, answered once both "
                  "others acknowledged; one at a time over the control socket)",
                  ["value", "writes", "p50", "p99", "max", "throughput"], rows)
    print("   every node saves its state file (write + fsync) before it acknowledges, so this is "
          "mostly disk sync time")

    # Silent failure: SIGSTOP one agent; time until both others list it in stopped_nodes.
    detect, first, back = [], [], []
    for trial in range(plan.detect_trials):
        victim = nodes[trial % 3]
        watchers = [n for n in nodes if n is not victim]
        victim.pause()
        t0 = time.monotonic()
        try:
            seen = {}

            def all_see():
                for w in watchers:
                    if w.name not in seen and victim.name in w.status()["stopped_nodes"]:
                        seen[w.name] = time.monotonic() - t0
                return len(seen) == len(watchers)
            c.time_until(all_see, 30, interval=0.01, start=t0)
            detect.append(max(seen.values()))
            first.append(min(seen.values()))
        finally:
            victim.resume()
        t1 = time.monotonic()
        back.append(c.time_until(lambda: c.sees_running(nodes, nodes), 30, start=t1))
    figures["ekka_detect_median"] = c.median(detect)
    c.print_table("silent-failure detection, 3 agents, defaults (heartbeat 500 ms, failure timeout "
                  "2500 ms): SIGSTOP one agent, poll the others' status every 10 ms",
                  ["trials", "median (both see it)", "min", "max", "median (first sees it)",
                   "back up on all after SIGCONT (med)"],
                  [[len(detect), c.secs(c.median(detect)), c.secs(min(detect)), c.secs(max(detect)),
                    c.secs(c.median(first)), c.secs(c.median(back))]])


@section("failure detection (serf, 3 agents)")
def bench_detect_serf(plan: Plan) -> None:
    with c.SerfCluster(3) as sc:
        nodes = sc.start_all()
        for s in nodes[1:]:
            s.join(nodes[0])
        c.time_until(lambda: c.serf_all_alive(nodes, nodes), 30)
        detect, back = [], []
        for trial in range(plan.serf_detect_trials):
            victim = nodes[trial % 3]
            watchers = [s for s in nodes if s is not victim]
            victim.proc.pause()
            t0 = time.monotonic()
            try:
                detect.append(c.time_until(
                    lambda: all(v.get(victim.name) == "failed" for v in c.serf_views(watchers).values()),
                    60, interval=0.01, start=t0))
            finally:
                victim.proc.resume()
            t1 = time.monotonic()
            back.append(c.time_until(lambda: c.serf_all_alive(nodes, nodes), 60, start=t1))
    figures["serf_detect_median"] = c.median(detect)
    c.print_table("serf failure detection, 3 agents, default LAN profile: SIGSTOP one agent, poll "
                  "`serf members` on the others",
                  ["trials", "median (both see failed)", "min", "max", "back alive on all (med)"],
                  [[len(detect), c.secs(c.median(detect)), c.secs(min(detect)), c.secs(max(detect)),
                    c.secs(c.median(back))]])


# ---------------------------------------------------------------- false downs while idle

@section("false downs while idle (ekka)")
def bench_false_downs(plan: Plan) -> None:
    with c.BenchCluster(plan.idle_nodes) as cl:
        with_logs(cl, lambda: _idle(cl, plan))


def _idle(cl, plan: Plan) -> None:
    nodes = cl.start_all()
    cl.form(nodes)
    events = c.EventLog(nodes)
    time.sleep(1)   # let the event streams attach before the window opens
    cpu0 = {n.name: c.cpu_seconds(n.proc.pid) for n in nodes}
    t0 = time.monotonic()
    load0 = os.getloadavg()[0]
    # The idle window itself is the measurement: nothing is waited for here.
    time.sleep(plan.idle_s)
    wall = time.monotonic() - t0
    cpu = [(c.cpu_seconds(n.proc.pid) - cpu0[n.name]) / wall * 100 for n in nodes]
    rss = [c.rss_mb(n.proc.pid) for n in nodes]
    downs = events.of("node_down")
    logged = sum(n.proc.stderr().count(" is down") for n in nodes)
    stopped = sorted({s for n in nodes for s in n.status()["stopped_nodes"]})
    figures["false_downs"] = len(downs)
    figures["idle_rss_after_run"] = max(rss)
    c.print_table("false downs: %d agents idle for %d s at default timing (events streamed from "
                  "every agent's control socket)" % (len(nodes), plan.idle_s),
                  ["agents", "idle", "node_down events", "'is down' log lines", "stopped at end",
                   "CPU per agent med / max", "RSS at end med / max", "load avg (start)"],
                  [[len(nodes), c.secs(wall), len(downs), logged, len(stopped),
                    "%.2f%% / %.2f%%" % (c.median(cpu), max(cpu)),
                    "%.1f / %.1f MB" % (c.median(rss), max(rss)), "%.2f" % load0]])
    for t, observer, e in downs[:20]:
        print("   node_down at +%.1f s: %s saw %s (%s)" % (t - t0, observer, e.get("node"), e.get("reason")))


# ---------------------------------------------------------------- summary

def summary(plan: Plan) -> None:
    f = figures
    rows = []

    def row(what, value, target, ok):
        rows.append([what, value, target, "-" if ok is None else c.verdict(ok)])

    rss_all = f.get("ekka_rss_all")
    if rss_all:
        row("idle RSS per agent (max)", "%.1f MB" % max(rss_all), "<= %.0f MB" % TARGET_RSS_MB,
            max(rss_all) <= TARGET_RSS_MB)
    if "idle_rss_after_run" in f:
        row("RSS after the idle run (max)", "%.1f MB" % f["idle_rss_after_run"], "<= %.0f MB" % TARGET_RSS_MB,
            f["idle_rss_after_run"] <= TARGET_RSS_MB)
    if "ekka_detect_median" in f:
        row("silent-failure detection (median)", c.secs(f["ekka_detect_median"]), "<= %.0f s" % TARGET_DETECT_S,
            f["ekka_detect_median"] <= TARGET_DETECT_S)
    if "false_downs" in f:
        row("false downs (%d agents, %d s idle)" % (plan.idle_nodes, plan.idle_s), f["false_downs"], "0",
            f["false_downs"] == 0)
    for n in plan.join_sizes:
        if "ekka_join_ctl_%d" % n in f and "ekka_join_sock_%d" % n in f:
            row("join per node, %d agents, ekka-ctl / socket (med)" % n,
                "%s / %s" % (c.ms(f["ekka_join_ctl_%d" % n]), c.ms(f["ekka_join_sock_%d" % n])), "-", None)
    for k in ("64 B", "16 KiB"):
        if "write_p50_%s" % k in f:
            row("replicated write %s, 3 agents, p50 / p99" % k,
                "%s / %s" % (c.ms(f["write_p50_%s" % k]), c.ms(f["write_p99_%s" % k])), "-", None)
    c.print_table("summary (targets from issue 2)", ["figure", "value", "target", ""], rows)

    cmp_rows = []
    for n in plan.join_sizes:
        for key, via in (("ctl", "ekka-ctl"), ("sock", "control socket")):
            a, b = f.get("ekka_join_%s_%d" % (key, n)), f.get("serf_join_%d" % n)
            if a is not None and b is not None:
                cmp_rows.append(["join per node, %d agents, %s (median)" % (n, via), c.ms(a), c.ms(b),
                                 c.ratio(a, b)])
            a, b = f.get("ekka_join_total_%s_%d" % (key, n)), f.get("serf_join_total_%d" % n)
            if a is not None and b is not None:
                cmp_rows.append(["cluster of %d formed, %s" % (n, via), c.secs(a), c.secs(b), c.ratio(a, b)])
    if f.get("ekka_rss_all") and f.get("serf_rss_all"):
        a, b = c.median(f["ekka_rss_all"]), c.median(f["serf_rss_all"])
        cmp_rows.append(["idle RSS per agent (median)", "%.1f MB" % a, "%.1f MB" % b, c.ratio(a, b)])
    if "ekka_detect_median" in f and "serf_detect_median" in f:
        a, b = f["ekka_detect_median"], f["serf_detect_median"]
        cmp_rows.append(["SIGSTOP detection, 3 agents (median)", c.secs(a), c.secs(b), c.ratio(a, b)])
    if cmp_rows:
        c.print_table("ekka beside serf %s (ratio = ekka / serf; below 1 means ekka is faster or smaller)"
                      % c.serf_version(), ["figure", "ekka", "serf", "ratio"], cmp_rows)


def main() -> int:
    c.exit_on_sigterm()
    plan = Plan(c.quick_flag())
    print("bench_foundation (%s): join sizes %s, %d detection trials, %d writes, %d agents idle %d s; "
          "%d CPUs, load average %.2f (figures are from a shared machine)"
          % ("quick" if plan.quick else "full", plan.join_sizes, plan.detect_trials, plan.writes,
             plan.idle_nodes, plan.idle_s, os.cpu_count() or 0, os.getloadavg()[0]))
    sys.stdout.flush()
    bench_join_ekka(plan)
    have_serf = c.serf_available()
    if have_serf:
        bench_join_serf(plan)
    bench_three(plan)
    if have_serf:
        bench_detect_serf(plan)
    bench_false_downs(plan)
    if not have_serf:
        print("\n!! serf not found at %s: the comparison is missing (apt-get install serf)" % c.SERF)
        failures.append("serf missing")
    summary(plan)
    if failures:
        print("\nfailed sections: %s" % ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
