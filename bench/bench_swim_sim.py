"""The SWIM failure detector alone (core/swim.py) on its deterministic in-memory loop, at default
settings: how long until a silent node is seen down (by the first, and by every member), how
long until a resumed one is up again everywhere, and what it sends, at N = 10, 100, 1,000.
Virtual time, 1-1.5 ms one-way latency: the protocol's own figures, without an event loop or
a loaded machine (bench_scale.py measures real agents). Seeds are printed.

    python bench/bench_swim_sim.py [--quick]      # quick: N = 10 and 100, fewer trials
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common as c  # noqa: E402

from core.swim_loop import SwimNet  # noqa: E402  (tests/core, on the path through common)
from ekka_agent.core.swim_events import Down  # noqa: E402


def trial(n: int, seed: int):
    net = SwimNet(n, seed=seed)
    net.start()
    net.run_until(3.0)
    victim = net.names[1 + seed % (n - 1)]
    watchers = [x for x in net.names if x != victim]
    sent0 = sum(net.sent.values())
    net.pause(victim)
    t0 = net.now
    net.run_until_true(lambda: net.all_see(victim, up=False, observers=watchers), t0 + 60, step=0.01)
    seen = net.first(Down, victim, t0)
    burst = (sum(net.sent.values()) - sent0) / n
    net.run_until(net.now + 3)
    net.resume(victim)
    t1 = net.now
    net.run_until_true(lambda: net.all_see(victim, up=True), t1 + 30, step=0.002)
    false = [a for _, _, a in net.downs(t0) if a.node != victim]
    return min(seen.values()) - t0, max(seen.values()) - t0, net.now - t1, burst, len(false)


def main() -> int:
    c.exit_on_sigterm()
    quick = c.quick_flag()
    sizes = (10, 100) if quick else (10, 100, 1000)
    rows = []
    for n in sizes:
        k = 2 if n >= 1000 else (4 if quick else 10)
        seeds = list(range(1, k + 1))
        t = time.monotonic()
        res = [trial(n, s) for s in seeds]
        first, all_, back, burst, false = zip(*res)
        rows.append([n, "%d..%d" % (seeds[0], seeds[-1]), c.secs(c.median(first)), c.secs(c.median(all_)),
                     c.secs(max(all_)), "%.3f s" % c.median(back), "%.1f" % c.median(burst), sum(false),
                     "%.0f s" % (time.monotonic() - t)])
    c.print_table("SWIM on the in-memory loop, defaults (probe 0.5 s, timeout 0.2 s, k = 3): one node "
                  "stopped per trial (virtual time)",
                  ["N", "seeds", "first sees it down (med)", "all see it (med)", "all (max)",
                   "all see it up after resume (med)", "messages per node until all see it",
                   "other nodes seen down", "wall"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
