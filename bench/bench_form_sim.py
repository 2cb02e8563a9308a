"""Forming a cluster through the protocol on the whole sans-IO core (sim/cluster.py: membership,
the detector, autoheal, kv, locks), from a seed: N bare NodeCores, each joins the first one after
the other (as `ekka-ctl cluster join` does), until every node runs every other, shares data with
every other and holds one data epoch. One fresh interpreter per N, so memory is that run's.

Prints per N: the virtual time, the wall time, peak RSS, the events each core handled and the
messages delivered per pair of members, and the growth exponent between sizes (wall ~ N^k) with
what it predicts for 10,000 nodes. The core keeps a connection and a hello per pair of members (a
full mesh): events per pair stay flat, so the exponent is at least 2 and the 10,000-node figure is
far above the 10 minutes issue 12 asks; this bench tracks how far.

    python bench/bench_form_sim.py [--quick] [--sizes 250,500,1000] [--seed S]   # quick: 150,300
"""
from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common as c  # noqa: E402

from ekka_agent.sim import SimCluster  # noqa: E402
from ekka_agent.sim.collector import large_run  # noqa: E402
from sim.test_partition_sim import converged, names  # noqa: E402


def one(n: int, seed: int) -> dict:
    with large_run():
        return _form(n, seed)


def _form(n: int, seed: int) -> dict:
    t0 = time.monotonic()
    sim = SimCluster(seed=seed, delay=(0.0005, 0.005), copy=False)
    ns = names(n)
    for x in ns:
        sim.add(x)
    counts = {"events": 0, "messages": 0}
    feed, deliver = sim._feed, sim._deliver

    def counted_feed(name, event):
        counts["events"] += 1
        feed(name, event)

    def counted_deliver(src, dst, msg):
        counts["messages"] += 1
        deliver(src, dst, msg)
    sim._feed, sim._deliver = counted_feed, counted_deliver
    for x in ns[1:]:
        r = sim.command(x, "join", node=ns[0])
        if r is None or not r.ok:
            return {"n": n, "error": "%s could not join: %r" % (x, r)}
    ok = sim.run_until(lambda: converged(sim, ns), timeout=120, step=0.5)
    return dict(counts, n=n, ok=ok, virtual=sim.now, wall=time.monotonic() - t0,
                rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def sizes_arg(v: str) -> list:
    try:
        sizes = [int(x) for x in v.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("N[,N...], got %r" % v) from None
    if not all(2 <= x <= 20000 for x in sizes):
        raise argparse.ArgumentTypeError("each N must be 2..20000, got %r" % v)
    return sizes


def main() -> int:
    c.exit_on_sigterm()
    ap = argparse.ArgumentParser(description="the whole core forming N nodes through the protocol")
    ap.add_argument("--quick", action="store_true", help="N = 150, 300")
    ap.add_argument("--sizes", type=sizes_arg, default=None, help="N[,N...] (full: 250,500,1000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)   # one size, in this process
    a = ap.parse_args()
    seed = a.seed
    if a.one is not None:
        print(json.dumps(one(a.one, seed)))
        return 0
    sizes = a.sizes or ([150, 300] if a.quick else [250, 500, 1000])
    print("bench_form_sim: N nodes join one seed one after another through the protocol, seed %d" % seed)
    print("%6s  %10s  %9s  %9s  %15s  %s" % ("N", "virtual", "wall", "peak RSS", "per pair: ev/msg",
                                             "wall ~ N^k"))
    prev, failed = None, False
    for n in sizes:
        p = subprocess.run([sys.executable, __file__, "--one", str(n), "--seed", str(seed)],
                           capture_output=True, text=True)
        try:
            r = json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            print("%6d  failed: %s" % (n, (p.stderr or p.stdout).strip()[-400:]))
            failed = True
            continue
        if not r.get("ok"):
            print("%6d  did not form: %s" % (n, r.get("error", "no one cluster within 120 s virtual")))
            failed = True
            continue
        k = ""
        if prev:
            e = math.log(r["wall"] / prev["wall"]) / math.log(n / prev["n"])
            k = "k = %.2f; 10,000 nodes would take about %.0f min" % (e, r["wall"] * (10000 / n) ** e / 60)
        pairs = n * (n - 1) / 2
        print("%6d  %8.1f s  %7.1f s  %5.0f MiB  %7.1f / %5.1f  %s" % (
            n, r["virtual"], r["wall"], r["rss_mib"], r["events"] / pairs, r["messages"] / pairs, k))
        sys.stdout.flush()
        prev = r
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
