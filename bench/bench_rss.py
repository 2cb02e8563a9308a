"""Where an idle agent's memory goes (issue 12): 3 real agents with static seeds on 127.0.0.x (no
TLS, no HTTP, no etcd), and 3 Debian serf agents beside them.

    python bench/bench_rss.py            # 60 s idle before reading
    python bench/bench_rss.py --quick    # 10 s idle

Per agent after the idle time, from /proc (nothing inside the agent is asked): VmRSS split into
anonymous memory (the Python heap, the interpreter's objects) and file pages (the interpreter,
shared libraries), the thread count (each thread may get its own malloc arena), and for the first
agent its largest mappings and every shared object it loaded: a compiled module listed there
(cryptography's _rust, _lzma, prometheus) was imported, whoever imported it. The target is 30 MiB.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common as c  # noqa: E402

N = 3
TARGET_RSS_MB = 30.0


def proc_status(pid: int) -> dict:
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "Threads"):
                out[k] = int(v.split()[0])
    return out


def mappings(pid: int) -> Counter:
    """Resident kB per mapped file ([anon], [heap], a path)."""
    rss: Counter = Counter()
    where = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            if re.match(r"[0-9a-f]+-[0-9a-f]+ ", line):
                parts = line.split()
                where = parts[5] if len(parts) > 5 else "[anon]"
            elif line.startswith("Rss:"):
                rss[where] += int(line.split()[1])
    return rss


def measure(pids: list[int]) -> list[dict]:
    return [proc_status(p) for p in pids]


def ekka(idle_s: float) -> tuple[list[dict], Counter]:
    with c.BenchCluster(N) as cl:
        cl.cluster_extra = "discovery_strategy = static\nstatic { seeds = %s }" % json.dumps(cl.names)
        nodes = cl.start_all()
        c.wait_until(lambda: c.sees_running(nodes, nodes), 60, message="one cluster of %d" % N)
        time.sleep(idle_s)
        pids = [nd.proc.pid for nd in nodes]
        return measure(pids), mappings(pids[0])


def serf(idle_s: float) -> list[dict]:
    with c.SerfCluster(N) as sc:
        nodes = sc.start_all()
        for s in nodes[1:]:
            s.join(nodes[0])
        c.wait_until(lambda: all(len(s.members()) == N for s in nodes), 60, message="serf cluster of %d" % N)
        time.sleep(idle_s)
        return measure([s.proc.pid for s in nodes])


def mib(kb: float) -> str:
    return "%.1f MiB" % (kb / 1024)


def main() -> int:
    c.exit_on_sigterm()
    quick = c.quick_flag()
    idle_s = 10 if quick else 60
    print("bench_rss (%s): %d agents, static seeds, %d s idle; load average %.2f"
          % ("quick" if quick else "full", N, idle_s, os.getloadavg()[0]))
    ek, maps = ekka(idle_s)
    sf = serf(idle_s) if c.serf_available() else None
    med = lambda rows, k: c.median([r[k] for r in rows])  # noqa: E731
    rows = []
    for k, label in (("VmRSS", "RSS per agent (median)"), ("RssAnon", "  anonymous (heap)"),
                     ("RssFile", "  file pages (code, libraries)")):
        e = med(ek, k)
        rows.append([label, mib(e), mib(med(sf, k)) if sf else "-",
                     "%.2fx" % (e / med(sf, k)) if sf else "-"])
    rows.append(["threads", str(ek[0]["Threads"]), str(sf[0]["Threads"]) if sf else "-", ""])
    c.print_table("idle memory, %d agents (target: RSS <= %.0f MiB)" % (N, TARGET_RSS_MB),
                  ["", "ekka", "serf", "ratio"], rows)
    top = [[os.path.basename(name), mib(kb)] for name, kb in maps.most_common(8)]
    c.print_table("the first agent's largest mappings", ["mapping", "resident"], top)
    libs = sorted(os.path.basename(m) for m in maps if m.endswith(".so") or ".so." in m)
    print("\nshared objects loaded by the first agent (%d): %s" % (len(libs), ", ".join(libs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
