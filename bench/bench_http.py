"""The HTTP endpoint's cost on a 10-node cluster (issue 11): the RSS it adds to an agent, and one
/metrics scrape (wall time, the agent's CPU time, body size); /status and /api/v1/cluster beside it.

    python bench/bench_http.py           # 10 agents, 200 scrapes
    python bench/bench_http.py --quick   # 10 agents, 50 scrapes

Every agent runs the same config except that the first has http.listen; its RSS is compared with
the median of the other nine after the same warm-up, and again after the scrapes.
"""
from __future__ import annotations

import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common as c  # noqa: E402

NODES = 10


def cpu_s(pid: int) -> float:
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_gets(url: str, n: int) -> tuple[list, int]:
    times, size = [], 0
    for _ in range(n):
        t0 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=10) as r:
            size = len(r.read())
        times.append(time.perf_counter() - t0)
    return times, size


def main() -> int:
    quick = c.quick_flag()
    c.exit_on_sigterm()
    scrapes = 50 if quick else 200
    with c.BenchCluster(NODES) as cl:
        port = 18000 + cl.offset
        url = "http://%s:%d" % (cl.hosts[0], port)
        nodes = [cl.add(n, start=False, env={"WITH_EPMD": ""},
                        extra='http { listen = "%s:%d" }' % (cl.hosts[0], port) if i == 0 else "")
                 for i, n in enumerate(cl.names)]
        for n in nodes:
            n.start(wait=False)
        for n in nodes:
            n.wait_ready(60)
        cl.form(nodes)
        time.sleep(5)        # a fixed warm-up before reading RSS (a measurement window, not a wait)
        rss0 = [c.rss_mb(n.proc.pid) for n in nodes]
        pid = nodes[0].proc.pid
        cpu0 = cpu_s(pid)
        metrics, size = timed_gets(url + "/metrics", scrapes)
        cpu_per = (cpu_s(pid) - cpu0) / scrapes
        status, _ = timed_gets(url + "/status", scrapes)
        api, api_size = timed_gets(url + "/api/v1/cluster", scrapes)
        rss1 = [c.rss_mb(n.proc.pid) for n in nodes]
    print("HTTP endpoint on 1 of %d agents (Python %s)" % (NODES, sys.version.split()[0]))
    print("  RSS after warm-up: with endpoint %.1f MB, others median %.1f MB -> added %.1f MB"
          % (rss0[0], c.median(rss0[1:]), rss0[0] - c.median(rss0[1:])))
    print("  RSS after %d scrapes: with endpoint %.1f MB, others median %.1f MB -> added %.1f MB"
          % (3 * scrapes, rss1[0], c.median(rss1[1:]), rss1[0] - c.median(rss1[1:])))
    for name, ts in (("/metrics", metrics), ("/status", status), ("/api/v1/cluster", api)):
        ts = sorted(ts)
        print("  GET %-16s median %.2f ms  p95 %.2f ms" % (name, 1000 * c.median(ts), 1000 * ts[int(.95 * len(ts))]))
    print("  one /metrics scrape: %.2f ms agent CPU, %d bytes (10 members); /api/v1/cluster %d bytes"
          % (1000 * cpu_per, size, api_size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
