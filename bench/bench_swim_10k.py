"""Ten thousand failure detectors (core/swim.py) on the deterministic in-memory loop, from a seed:
start, then rounds of random partitions (islands of a few members cut off from the rest, as a
rack or a switch fails), loss and jittered delay, crashes (silent, or seen as a reset) and
restarts, then the network heals and every crashed node restarts. It converges when every node
holds every other node up. Prints the seed, the virtual times and the wall time.

This is the detector and its dissemination alone: the member list is given (every node knows
every member from the start), there is no autoheal. The whole core (membership, autoheal, kv)
runs at 1,000 nodes in tests/sim/test_partition_sim.py; at 10,000 its per-node member tables
(about ten of them, each of 10,000 entries) need more memory than this machine has.

    python bench/bench_swim_10k.py [--quick] [--seed S] [--n N]      # quick: N = 2,000
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common as c  # noqa: E402

from core.swim_loop import SwimNet  # noqa: E402  (tests/core, on the path through common)
from ekka_agent.core.swim_events import Down, Up  # noqa: E402
from ekka_agent.sim.collector import large_run  # noqa: E402


class DownViews:
    """Stands in for SwimNet's log of every Down / Up / Suspected action (a partition at this
    size makes millions): per observer, only the set of members it holds down."""

    def __init__(self):
        self.held: dict[str, set] = {}
        self.downs = 0

    def append(self, entry) -> None:
        _, observer, a = entry
        if isinstance(a, Down):
            self.held.setdefault(observer, set()).add(a.node)
            self.downs += 1
        elif isinstance(a, Up):
            self.held.get(observer, set()).discard(a.node)


class BigNet(SwimNet):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.log = DownViews()

    def _carry(self, msg):
        """The sender's message itself, not a copy through the codec (which the tests run at up
        to 1,000 nodes; the same seed gives the same run either way): an update is then one
        object however many queues hold it. On real hosts each agent holds its own copy; here
        10,000 queues of copies would not fit, and the codec was a sixth of the wall time."""
        return msg

    def restart(self, node: str) -> None:
        self.log.held[node] = set(n for n in self.names if n != node)
        super().restart(node)

    def not_converged(self) -> int:
        """Pairs (observer, member) where a live observer holds a member down."""
        return sum(len(s) for n, s in self.log.held.items() if n not in self.crashed)


def run(n: int, seed: int, chaos_s: float = 40.0) -> dict:
    rng = random.Random(seed)
    t_wall = time.monotonic()
    net = BigNet(n, seed=seed, delay=0.001, jitter=0.004)
    built = time.monotonic() - t_wall
    net.start()
    net.run_until(3.0)
    crashed: set = set()
    rounds = 0
    while net.now < 3.0 + chaos_s:
        rounds += 1
        act = rng.random()
        if act < 0.5:
            # one to three islands of 1-20 members each, the rest is the main side
            rest = list(net.names)
            rng.shuffle(rest)
            islands = []
            for _ in range(rng.randint(1, 3)):
                k = rng.randint(1, 20)
                islands.append(rest[:k])
                rest = rest[k:]
            net.partition(rest, *islands)
        elif act < 0.7:
            net.heal()
        elif act < 0.85 and len(crashed) < 20:
            x = rng.choice(net.names)
            if x not in crashed:
                net.crash(x, reset=rng.random() < 0.5)
                crashed.add(x)
        elif crashed:
            x = rng.choice(sorted(crashed))
            net.restart(x)
            crashed.discard(x)
        net.loss = rng.choice([0.0, 0.01, 0.02])
        net.run_until(net.now + rng.uniform(2.0, 6.0))
    net.heal()
    net.loss = 0.0
    for x in sorted(crashed):
        net.restart(x)
    t_heal = net.now
    net.run_until_true(lambda: net.not_converged() == 0, t_heal + 120, step=0.5)
    converged_after = net.now - t_heal
    # The incremental count above is checked once against every detector's own table.
    wrong = sum(1 for o in net.names for m in net.names if m != o and not net.nodes[o].is_up(m))
    assert wrong == 0, "seed %d: %d (observer, member) pairs still down" % (seed, wrong)
    return {"n": n, "seed": seed, "rounds": rounds, "build_s": built, "heal_s": converged_after,
            "msgs_per_node": sum(net.sent.values()) / n, "downs": net.log.downs,
            "virtual_s": net.now, "wall_s": time.monotonic() - t_wall,
            "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> int:
    c.exit_on_sigterm()
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--n", type=int, default=None)
    a = ap.parse_args()
    n = a.n or (2000 if a.quick else 10000)
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1, 10 ** 6)
    print("bench_swim_10k: N = %d, seed %d (rerun: --n %d --seed %d)" % (n, seed, n, seed), flush=True)
    with large_run():
        r = run(n, seed)
    c.print_table("SWIM at N = %d on the in-memory loop: chaos, then heal and restart (seed %d)" % (n, seed),
                  ["N", "seed", "chaos rounds", "down verdicts", "virtual s", "heal -> every node holds every node up",
                   "messages per node", "build (wall)", "whole run (wall)", "max RSS"],
                  [[r["n"], r["seed"], r["rounds"], r["downs"], "%.0f s" % r["virtual_s"], "%.1f s" % r["heal_s"],
                    "%.0f" % r["msgs_per_node"], "%.0f s" % r["build_s"], "%.0f s" % r["wall_s"],
                    "%.0f MiB" % r["rss_mib"]]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
