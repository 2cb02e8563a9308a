"""Autocluster figures on real agents (127.0.0.x): time from the last of N agents started to one
cluster of N, per discovery strategy (static, mcast, dns on a real dnsmasq, etcd on a real etcd),
N = 3, 10, 30; and in how many of 20 runs two clusters of 2+ nodes were ever seen at once.
Debian's `serf` agents joining one seed run in the same process for comparison (ratio printed).

    python bench/bench_discovery.py           # 3 runs per (strategy, N), 20 two-cluster runs
    python bench/bench_discovery.py --quick   # 1 run per (strategy, N), N = 3 and 10, 5 runs

"Started" is when the last agent's control socket answers (the process is up); "one cluster" is
every agent reporting the same cluster id and all N running (status polled over the sockets).
Agents use the default timing except a 1 s re-check interval. Target: static, N = 10, median
<= 2 s. Two clusters must never be seen (0 of 20).
"""
from __future__ import annotations

import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common as c  # noqa: E402

from harness.dnsmasq import start_dnsmasq  # noqa: E402
from harness.etcd import start_etcd  # noqa: E402
from harness.procs import ProcessGroup  # noqa: E402

TIMING = "autocluster { interval = 1s }"


class DiscCluster(c.BenchCluster):
    """BenchCluster whose nodes share one name part (dns needs app@IP with one app)."""

    def __init__(self, n: int, strategy_extra, same_name: bool = False):
        super().__init__(n, cluster_extra=TIMING)
        if same_name:
            self.names = ["bn%d@%s" % (self.offset, h) for h in self.hosts]
        self.strategy_extra = strategy_extra(self)

    def start_all(self, timeout: float = 60):
        nodes = [self.add(name, start=False, env={"WITH_EPMD": ""}, extra=self.strategy_extra)
                 for name in self.names]
        for node in nodes:
            node.start(wait=False)
        for node in nodes:
            node.wait_ready(timeout)
        return nodes


def views(nodes) -> list:
    out = []
    for n in nodes:
        try:
            st = n.status()
            out.append((st["cluster_id"], len(st["running_nodes"])))
        except Exception:  # an agent still starting up: not a view yet
            out.append((None, 0))
    return out


def two_clusters(vs) -> bool:
    return len({cid for cid, size in vs if cid and size > 1}) > 1


def one_run(strategy: str, n: int, extra_fn, same_name: bool, timeout: float = 90):
    """(seconds from the last agent up to one cluster, two clusters ever seen)."""
    with DiscCluster(n, extra_fn, same_name) as cl:
        nodes = cl.start_all()
        t0 = time.monotonic()
        seen_two = False
        while True:
            vs = views(nodes)
            seen_two = seen_two or two_clusters(vs)
            if len({cid for cid, _ in vs}) == 1 and all(size == n for _, size in vs):
                return time.monotonic() - t0, seen_two
            if time.monotonic() - t0 > timeout:
                raise RuntimeError("%s N=%d: no single cluster within %ss: %s\n%s"
                                   % (strategy, n, timeout, vs, cl.logs()))
            time.sleep(0.02)


def strategies(procs, workdir):
    """{name: (extra(cluster) -> config text, same_name)} with the real servers they need."""
    dns = {}
    etcd = start_etcd(procs, os.path.join(workdir, "etcd"))

    def static(cl):
        return "cluster { discovery_strategy = static, static { seeds = %s } }" % json.dumps(cl.names)

    def mcast(cl):
        group = "239.192.%d.%d" % (secrets.randbelow(250) + 1, secrets.randbelow(250) + 1)
        return ('cluster { discovery_strategy = mcast, mcast { addr = "%s", ports = [%d], ttl = 1 } }'
                % (group, 20000 + secrets.randbelow(20000)))

    def dnsx(cl):
        if "srv" in dns:
            dns["srv"].stop()
        dns["srv"] = start_dnsmasq(procs, os.path.join(workdir, "dns%d" % secrets.randbelow(10**9)),
                                   a={"bench.test": cl.hosts})
        return ('cluster { discovery_strategy = dns, dns { name = "bench.test", record_type = a, '
                'servers = ["%s:%d"] } }' % (dns["srv"].address, dns["srv"].port))

    def etcdx(cl):
        return ('cluster { discovery_strategy = etcd, etcd { server = "%s", prefix = b%s, node_ttl = 30s } }'
                % (etcd.url, secrets.token_hex(4)))
    return {"static": (static, False), "mcast": (mcast, False), "dns": (dnsx, True), "etcd": (etcdx, False)}


def serf_join_time(n: int) -> float:
    """Serf agents all up, then each joins the first; seconds until every agent sees all alive."""
    with c.SerfCluster(n) as sc:
        nodes = sc.start_all()
        t0 = time.monotonic()
        for s in nodes[1:]:
            s.join(nodes[0])
        return c.time_until(lambda: c.serf_all_alive(nodes, nodes), 60, 0.05, start=t0)


def main() -> int:
    c.exit_on_sigterm()
    quick = c.quick_flag()
    sizes = (3, 10) if quick else (3, 10, 30)
    runs = 1 if quick else 3
    two_runs = 5 if quick else 20
    workdir = tempfile.mkdtemp(prefix="ekbd", dir="/tmp")
    procs = ProcessGroup(os.path.join(workdir, "logs"))
    rows, figures = [], {}
    try:
        strats = strategies(procs, workdir)
        for name, (extra, same) in strats.items():
            for n in sizes:
                ts, twos = [], 0
                for _ in range(runs):
                    t, two = one_run(name, n, extra, same)
                    ts.append(t)
                    twos += two
                figures[(name, n)] = statistics.median(ts)
                rows.append([name, n, runs, c.secs(statistics.median(ts)), c.secs(max(ts)), twos])
        c.print_table("autocluster: last agent up -> one cluster of N (median of %d)" % runs,
                      ["strategy", "N", "runs", "median", "max", "runs with two clusters"], rows)

        extra, same = strats["static"]
        twos = 0
        for _ in range(two_runs):
            _, two = one_run("static", 10, extra, same)
            twos += two
        c.print_table("never two clusters: static, N = 10, all started at once",
                      ["runs", "runs where two clusters of 2+ were seen at once", "target"],
                      [[two_runs, twos, "0 " + c.verdict(twos == 0)]])

        target = figures[("static", 10)]
        c.print_table("target", ["figure", "value", "target", ""],
                      [["static N=10 median", c.secs(target), "<= 2 s", c.verdict(target <= 2.0)]])

        if c.serf_available():
            srows = []
            for n in sizes:
                st = statistics.median([serf_join_time(n) for _ in range(runs)])
                srows.append([n, c.secs(figures[("static", n)]), c.secs(st), c.ratio(figures[("static", n)], st)])
            c.print_table("vs serf (%s): agents joining one seed until all see all alive" % c.serf_version(),
                          ["N", "ekka static", "serf join", "ekka / serf"], srows)
        else:
            print("serf not installed (apt-get install serf): no comparison")
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        procs.close()
        import shutil
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
