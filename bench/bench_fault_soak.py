"""The seeded fault checkers of the test suite, over many more seeds than `make test` runs.

Each checker is a scenario of the pure simulator that takes a seed: clients taking, renewing and
releasing locks while nodes crash, restart, drain and the network splits (no two holders at once,
fencing tokens only grow); random partitions with loss, delay and crashes healed by autoheal (one
cluster, and without loss one copy of the data); a cluster forming by discovery all at once, also
across a split. The tests run each at two to four seeds; a bug that one seed in a thousand
reaches (as the lock token given twice that seed 107 found) needs this. Prints per checker the
seeds run, the wall time and every failing seed with what failed; replay one with the function
named there. Exit status 1 if any seed failed.

    python bench/bench_fault_soak.py [--quick] [--first SEED] [--count N] [--only WORD]
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common as c  # noqa: E402  (puts tests/ on the path)

from ekka_agent.sim.agents import AgentSim  # noqa: E402
from locks.helpers import sim_random_run  # noqa: E402
from sim import test_autocluster_sim as autocluster  # noqa: E402
from sim import test_real_agents as real_agents  # noqa: E402
from sim.test_partition_sim import one_copy, run_chaos  # noqa: E402


def _lock_faults(h, strategies) -> str | None:
    bad = [(s, h.overlaps(s)[:1], h.token_regressions(s)[:1]) for s in strategies
           if h.overlaps(s) or h.token_regressions(s)]
    return repr(bad) if bad else None


def locks_5(seed):
    return _lock_faults(sim_random_run(seed), ("quorum", "all"))


def locks_9(seed):
    return _lock_faults(sim_random_run(seed, n=9, first=12), ("quorum", "all"))


def drains(seed):
    h = sim_random_run(seed, seconds=90, faults=False, drains=True, strategies=("leader", "quorum"), first=5)
    return _lock_faults(h, ("leader", "quorum"))


def drains_and_faults(seed):
    # Leader locks live in one node's table: a split gives each side a leader, as in Ekka.
    h = sim_random_run(seed, seconds=90, drains=True, strategies=("leader", "quorum"), first=5)
    return _lock_faults(h, ("quorum",))


def heal_with_loss(seed):
    run_chaos(seed)


def heal_one_copy(seed):
    sim, ns = run_chaos(seed, loss=0.0, resets=True)
    if not sim.run_until(lambda: one_copy(sim, ns), 30):
        return "data differs after the heal"


def churn_with_autoclean(seed):
    return autocluster.churn_with_autoclean(seed)


def real_agents_chaos(seed):
    logging.getLogger("ekka").setLevel(logging.CRITICAL)     # thousands of expected warnings
    d = tempfile.mkdtemp(prefix="ekka-soak-")
    try:
        AgentSim.run(lambda sim: real_agents.chaos(sim, seed), Path(d), seed=seed, options=real_agents.CHAOS_OPTIONS)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def form_at_once(seed):
    autocluster.test_fifty_nodes_at_once_form_one_cluster(seed)


def form_across_a_split(seed):
    autocluster.test_partition_during_formation_then_heal_merges(seed)


# (name, check, replay, seeds in a full run, in a quick one)
CHECKS = [
    ("locks, 5 nodes, crashes and splits", locks_5, "tests/locks/helpers.py sim_random_run(seed)", 2000, 40),
    ("locks, 9 nodes, crashes and splits", locks_9, "sim_random_run(seed, n=9, first=12)", 500, 10),
    ("locks while nodes drain and revive", drains, "sim_random_run(seed, seconds=90, faults=False, "
     "drains=True, strategies=('leader', 'quorum'), first=5)", 1000, 20),
    ("locks, drains with crashes and splits", drains_and_faults, "sim_random_run(seed, seconds=90, "
     "drains=True, strategies=('leader', 'quorum'), first=5)", 1000, 20),
    ("autoheal, 20 nodes, partitions with loss", heal_with_loss, "tests/sim/test_partition_sim.py run_chaos(seed)",
     1000, 20),
    ("autoheal, one copy of the data", heal_one_copy, "run_chaos(seed, loss=0.0, resets=True)", 1000, 20),
    ("autoclean 5 s, crashes, splits, discovery", churn_with_autoclean,
     "tests/sim/test_autocluster_sim.py churn_with_autoclean(seed)", 1000, 20),
    ("real agents: crashes, splits, kv writes", real_agents_chaos,
     "tests/sim/test_real_agents.py chaos(sim, seed)", 1000, 20),
    ("autocluster, 52 nodes at once", form_at_once,
     "tests/sim/test_autocluster_sim.py test_fifty_nodes_at_once_form_one_cluster(seed)", 300, 5),
    ("autocluster, split during formation", form_across_a_split,
     "test_partition_during_formation_then_heal_merges(seed)", 300, 5),
]


def soak(check, first: int, count: int) -> tuple[list, float]:
    failed = []
    t0 = time.monotonic()
    for seed in range(first, first + count):
        try:
            why = check(seed)
        except Exception as e:      # an assertion of the scenario, or a bug it ran into
            why = "%s: %s" % (type(e).__name__, e)
        if why:
            failed.append((seed, why[:300]))
    return failed, time.monotonic() - t0


def main() -> int:
    c.exit_on_sigterm()
    ap = argparse.ArgumentParser(description="the seeded fault checkers over many seeds")
    ap.add_argument("--quick", action="store_true", help="a few seeds per checker")
    ap.add_argument("--first", type=int, default=1, help="first seed (default 1)")
    ap.add_argument("--count", type=int, default=0, help="seeds per checker (default: each one's own)")
    ap.add_argument("--only", default="", help="only the checkers whose name holds this word")
    args = ap.parse_args()
    if args.count < 0:
        ap.error("--count must be 0 or more, got %d" % args.count)
    total = 0
    print("%-42s %13s %8s %8s" % ("checker", "seeds", "failed", "wall"))
    checks = [c for c in CHECKS if args.only in c[0]]
    if not checks:
        ap.error("--only %r matches no checker (%s)" % (args.only, "; ".join(c[0] for c in CHECKS)))
    for name, check, replay, full, quick in checks:
        count = args.count or (quick if args.quick else full)
        failed, wall = soak(check, args.first, count)
        total += len(failed)
        print("%-42s %6d-%-6d %8d %7.0fs" % (name, args.first, args.first + count - 1, len(failed), wall), flush=True)
        for seed, why in failed[:5]:
            print("    seed %d: %s\n      replay: %s" % (seed, why, replay.replace("(seed", "(%d" % seed)))
    print("failed seeds in all: %d" % total)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
