"""Real Agents on the in-memory network and the virtual clock (sim/agents.py): how many simulated
seconds one wall second buys, forming a cluster of N and then holding it steady for a simulated
minute, at the default probe interval and timeout. Seeds are printed.

    python bench/bench_agent_sim.py [--quick]      # quick: N = 3 and 10
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common as c  # noqa: E402

from ekka_agent.sim.agents import AgentSim  # noqa: E402

STEADY_S = 60.0


def trial(n: int, seed: int, root: str):
    names = ["ekka%d@10.0.%d.%d" % (i + 1, i // 250, i % 250 + 1) for i in range(n)]
    out = {}

    async def scenario(sim):
        w0, s0 = time.perf_counter(), sim.now
        for name in names:
            await sim.start(name)
        for name in names[1:]:
            r = await sim.command(name, "join", node=names[0])
            assert r["ok"], r
        want = sorted(names)

        async def formed():
            return all([(await sim.status(x))["running_nodes"] == want for x in names])
        assert await sim.wait_until(formed, timeout=120)
        out["form"] = (sim.now - s0, time.perf_counter() - w0)
        w1, s1 = time.perf_counter(), sim.now
        await sim.sleep(STEADY_S)
        out["steady"] = (sim.now - s1, time.perf_counter() - w1)
    AgentSim.run(scenario, root, seed=seed)
    return out


def main() -> int:
    c.exit_on_sigterm()
    logging.disable(logging.WARNING)     # a member going down while others start is expected here
    quick = c.quick_flag()
    rows = []
    for n in ((3, 10) if quick else (3, 10, 30)):
        seed = n
        with tempfile.TemporaryDirectory(prefix="ekka-agent-sim-") as root:
            r = trial(n, seed, root)
        (fs, fw), (ss, sw) = r["form"], r["steady"]
        rows.append([n, seed, "%.1f s" % fs, "%.2f s" % fw, "%.0f s" % ss, "%.2f s" % sw, "%.0f" % (ss / sw)])
    c.print_table("real Agents on the in-memory network, virtual clock (probe 0.5 s, timeout 2.5 s)",
                  ["N", "seed", "form: simulated", "form: wall", "steady: simulated", "steady: wall",
                   "simulated s per wall s (steady)"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
