"""Partition figures (issue 4): how fast a split is seen and healed.

    python bench/bench_heal.py           # 5 trials on real agents, 1000-node sim with 3 seeds
    python bench/bench_heal.py --quick   # 2 trials, 1 seed

Real agents: 5 ekka-agent processes, one per network namespace, default timing (heartbeat 500 ms,
failure timeout 2500 ms, autoheal_delay 1 s). Each trial cuts the network 3/2 with nftables drop
rules, writes on both sides, and removes the rules. Status is polled every 10 ms over the control
sockets.
  detection: from the cut until every node lists the other side in stopped_nodes
  heal:      from the end of the cut until one cluster: every node runs with all, shares data with
             all, in one data epoch (target <= 2 s; Ekka only starts after 15 s)
  reconnect: the part of that until every node lists all as running again
Simulation: 1000 sans-IO nodes (tests/sim/test_partition_sim.py run_thousand): a few islands
cut off with connection resets, two crashes, loss 1%; virtual time from the network heal to one
cluster, and the wall time of the whole run.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common as c  # noqa: E402

from harness.agents import AgentCluster  # noqa: E402
from harness.netns import Network  # noqa: E402
from harness.procs import ProcessGroup  # noqa: E402
from harness.wait import wait_until  # noqa: E402
from partition.helpers import one_cluster  # noqa: E402

DEFAULTS = "cluster {\n  probe_interval = 500ms\n  failure_timeout = 2500ms\n}\n"


def all_running(nodes) -> bool:
    want = sorted(n.name for n in nodes)
    return all(n.status()["running_nodes"] == want for n in nodes)


def poll(cond, timeout: float = 60.0) -> float:
    t0 = time.monotonic()
    wait_until(cond, timeout, interval=0.01, message="condition")
    return time.monotonic() - t0


def real_agents(trials: int) -> dict:
    out = {"detect": [], "heal": [], "reconnect": []}
    with tempfile.TemporaryDirectory(prefix="ekbh") as tmp, ProcessGroup(Path(tmp) / "logs") as procs:
        net = Network(procs, 5)
        net.__enter__()
        ac = AgentCluster(procs)
        try:
            nodes = [ac.add("ekka%d@%s" % (i, h.ip), host=h, extra=DEFAULTS) for i, h in enumerate(net, 1)]
            for n in nodes[1:]:
                r = n.ctl("cluster", "join", nodes[0].name)
                assert r.returncode == 0, r.stdout + r.stderr
            poll(lambda: one_cluster(nodes), 60)
            a, b = nodes[:3], nodes[3:]
            for t in range(trials):
                net.partition(list(net)[:3], list(net)[3:])
                out["detect"].append(poll(lambda: all(set(x.name for x in b) <= set(n.status()["stopped_nodes"])
                                                      for n in a)
                                          and all(set(x.name for x in a) <= set(n.status()["stopped_nodes"])
                                                  for n in b), 60))
                a[0].call("kv_put", key="t%d" % t, value="majority")
                b[0].call("kv_put", key="t%d" % t, value="minority")
                net.heal()
                t0 = time.monotonic()
                out["reconnect"].append(poll(lambda: all_running(nodes), 60))
                poll(lambda: one_cluster(nodes), 60)
                out["heal"].append(time.monotonic() - t0)
                print("  trial %d: detection %.2fs, reconnect %.2fs, one cluster %.2fs"
                      % (t + 1, out["detect"][-1], out["reconnect"][-1], out["heal"][-1]), flush=True)
        finally:
            procs.close()
            net.close()
            ac.close()
    return out


def simulated(seeds) -> list:
    from sim.test_partition_sim import run_thousand
    rows = []
    for s in seeds:
        t0 = time.monotonic()
        _, virtual = run_thousand(s)
        rows.append((s, virtual, time.monotonic() - t0))
        print("  seed %d: healed in %.2fs virtual, run took %.1fs wall" % rows[-1], flush=True)
    return rows


def main() -> int:
    quick = c.quick_flag()
    c.exit_on_sigterm()
    if os.geteuid() != 0:
        print("bench_heal: needs root (network namespaces, nftables)", file=sys.stderr)
        return 2
    print("5 real agents, 3/2 split, default timing:", flush=True)
    r = real_agents(2 if quick else 5)
    med = {k: statistics.median(v) for k, v in r.items()}
    print("  median detection %.2fs, reconnect %.2fs, partition end -> one cluster %.2fs (target <= 2 s)"
          % (med["detect"], med["reconnect"], med["heal"]))
    print("1000 simulated nodes:", flush=True)
    rows = simulated([11] if quick else [11, 12, 13])
    print("  median heal %.2fs virtual; wall %.1fs per run"
          % (statistics.median(x[1] for x in rows), statistics.median(x[2] for x in rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
