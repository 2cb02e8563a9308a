"""Member records learnt from peers are saved within a second (NodeCore.persist_soon), not
before the actions of the event that brought them: forming a cluster of N, a node learns
records in about N/2 bursts, each of which cost a save (two fsyncs) before it could answer."""
from __future__ import annotations

import json
import os

from ekka_agent.core.node import SAVE_SOON
from ekka_agent.runtime import state_file
from ekka_agent.sim import SimCluster
from ekka_agent.sim.agents import AgentSim

A, B, C, D = "a@10.6.0.1", "b@10.6.0.2", "c@10.6.0.3", "d@10.6.0.4"


def saved_members(c, node) -> set:
    return {r["node"] for r in c.saved[node]["membership"]["records"] if not r["removed"]}


def test_a_member_learnt_from_a_peer_is_saved_within_a_second_and_a_crash_before_loses_it_only_for_a_while():
    c = SimCluster(seed=3)
    for x in (A, B, C, D):
        c.add(x)
    for x in (B, C):
        assert c.command(x, "join", node=A).ok
    assert c.run_until(lambda: all(c.nodes[x].membership.running() == [A, B, C] for x in (A, B, C)))
    c.run(2 * SAVE_SOON)
    assert c.command(D, "join", node=A).ok
    # B hears of D from A's broadcast: its table has D at once, its saved state not yet.
    assert c.run_until(lambda: D in c.nodes[B].membership.records, timeout=5, step=0.001)
    assert D not in saved_members(c, B)
    learnt = c.now
    c.run_until(lambda: D in saved_members(c, B), timeout=5, step=0.01)
    assert c.now - learnt <= SAVE_SOON + 0.01
    # C crashes right after it learnt D: it comes back without it, and its peers tell it again.
    c.crash(C)
    c.restart(C)
    assert c.run_until(lambda: all(c.nodes[x].membership.running() == [A, B, C, D] for x in (A, B, C, D)),
                       timeout=60), {x: c.nodes[x].membership.running() for x in (A, B, C, D)}


def test_real_agents_forming_save_a_few_times_each_and_end_with_every_member_on_disk(tmp_path, monkeypatch):
    names = ["e%d@10.6.1.%d" % (i, i + 1) for i in range(16)]
    saves: dict = {}
    real_save = state_file.save

    def counting(data_dir, state):
        saves[state["node"]] = saves.get(state["node"], 0) + 1
        real_save(data_dir, state)
    monkeypatch.setattr(state_file, "save", counting)

    async def scenario(sim):
        for x in names:
            await sim.start(x)
        for x in names[1:]:
            assert (await sim.command(x, "join", node=names[0]))["ok"]

        async def formed():
            return all([(await sim.status(x))["running_nodes"] == sorted(names) for x in names])
        assert await sim.wait_until(formed, timeout=60)
        counts = dict(saves)
        await sim.sleep(2 * SAVE_SOON)
        for x in names:
            with open(os.path.join(sim.data_dir(x), state_file.STATE)) as f:
                on_disk = {r["node"] for r in json.load(f)["membership"]["records"]}
            assert on_disk == set(names), x
        return counts
    counts = AgentSim.run(scenario, tmp_path, seed=4)
    # Start, join, the epoch taken, a second or two of records learnt: not one per burst of them.
    # The node joined through saves each joiner before it answers: that one is a promise.
    assert max(counts[x] for x in names[1:]) <= 6, counts
    assert counts[names[0]] <= len(names) + 3, counts
