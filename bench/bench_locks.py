"""Lock service figures on 3 real agents: acquire-and-release latency (p50, p99) and throughput
per strategy, beside etcd's own lock (etcd3gw's Lock: lease + txn, then a delete txn) on a real
etcd in the same run, with ratios to it.

    python bench/bench_locks.py           # 2000 acquire+release per strategy, 10 s throughput runs
    python bench/bench_locks.py --quick   # 200 per strategy, 3 s throughput runs

Latencies are taken round-robin (one cycle of each strategy, then etcd's, and again), so all
see the same load; throughput runs one after another. Every client call goes over the agent's control socket (ekka_agent.client.LockClient, one
connection per call, as ekka-ctl does); the client sits beside the second agent, which is not
the leader, so `leader` pays one hop. Target: quorum p50 no slower than etcd's lock p50.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common as c  # noqa: E402

from ekka_agent.client import LockClient  # noqa: E402
from harness.etcd import start_etcd  # noqa: E402

STRATEGIES = ("local", "leader", "quorum", "all", "etcd")
THREADS = 4


def etcd_direct_client(etcd):
    """etcd3gw's own lock, as an application would use it."""
    from etcd3gw.lock import Lock
    cl = etcd.client(timeout=5)

    class Direct:
        def cycle(self, res: str) -> None:
            lk = Lock(res, ttl=15, client=cl)
            if not lk.acquire():
                raise RuntimeError("etcd lock %s not acquired" % res)
            lk.release()
    return Direct


def latencies(cycles: dict, n: int) -> dict:
    """n timed cycles of each, interleaved round-robin so every strategy (and etcd) meets the
    same load on this shared machine rather than each its own stretch of it."""
    out = {k: [] for k in cycles}
    for k, cycle in cycles.items():     # warm connections and caches
        for _ in range(min(20, n)):
            cycle("lat-" + k)
    for _ in range(n):
        for k, cycle in cycles.items():
            t0 = time.perf_counter()
            cycle("lat-" + k)
            out[k].append(time.perf_counter() - t0)
    return out


def throughput(make_cycle, seconds: float, tag: str) -> float:
    """Acquire+release per second with THREADS clients, each on its own resource."""
    counts, stop = [0] * THREADS, threading.Event()
    errors = []

    def run(i: int) -> None:
        cycle = make_cycle()
        res = "tp-%s-%d" % (tag, i)
        try:
            while not stop.is_set():
                cycle(res)
                counts[i] += 1
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(THREADS)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    time.sleep(seconds)     # the measurement window itself
    stop.set()
    for t in ts:
        t.join(30)
    if errors:
        raise errors[0]
    return sum(counts) / (time.monotonic() - t0)


def main() -> int:
    c.exit_on_sigterm()
    quick = c.quick_flag()
    n = 200 if quick else 2000
    window = 3.0 if quick else 10.0
    print("bench_locks: %d acquire+release per strategy, %d threads for %.0f s of throughput"
          % (n, THREADS, window))
    etcd_dir = tempfile.mkdtemp(prefix="ekbe", dir="/tmp")
    with c.BenchCluster(3) as bc:
        try:
            etcd = start_etcd(bc.procs, etcd_dir, "127.0.0.1", name="benchetcd")
            bc.cluster_extra = "locks.etcd.server = %s" % json.dumps(etcd.url)
            nodes = bc.start_all()
            bc.form(nodes)
            sock = nodes[1].data_dir / "ekka.sock"
            rows, p50 = [], {}
            cycles = {}
            for s in STRATEGIES:
                cl = LockClient(sock, owner="bench")

                def cycle(res, cl=cl, s=s):
                    cl.acquire(res, s, lease=15)
                    cl.release(res, s)
                cycles[s] = cycle
            direct = etcd_direct_client(etcd)
            cycles["etcd lock (direct)"] = direct().cycle
            lats = latencies(cycles, n)
            results = {}
            for s in STRATEGIES:
                def make(s=s):
                    cl2 = LockClient(sock)
                    return lambda res: (cl2.acquire(res, s, lease=15), cl2.release(res, s))
                results[s] = (lats[s], throughput(make, window, s))
            results["etcd lock (direct)"] = (lats["etcd lock (direct)"],
                                             throughput(lambda: direct().cycle, window, "direct"))
            base = c.percentile(results["etcd lock (direct)"][0], 50)
            base_tp = results["etcd lock (direct)"][1]
            for name, (lat, tp) in results.items():
                p50[name] = c.percentile(lat, 50)
                rows.append([name, c.ms(p50[name]), c.ms(c.percentile(lat, 99)), "%.0f/s" % tp,
                             c.ratio(p50[name], base), c.ratio(tp, base_tp)])
            c.print_table("acquire + release on 3 agents (client beside agent 2)",
                          ["strategy", "p50", "p99", "throughput", "p50 / etcd lock", "throughput / etcd lock"],
                          rows)
            ok = p50["quorum"] <= base
            print("\ntarget: quorum p50 (%s) <= etcd lock p50 (%s): %s"
                  % (c.ms(p50["quorum"]), c.ms(base), c.verdict(ok)))
        except Exception as e:  # noqa: BLE001
            print("!! bench_locks failed: %s: %s" % (type(e).__name__, e))
            traceback.print_exc(file=sys.stdout)
            print(bc.logs())
            return 1
        finally:
            import shutil
            shutil.rmtree(etcd_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
