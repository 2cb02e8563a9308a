"""Real Agents (runtime/agent.py) on the in-memory network, on a virtual clock, from a seed.

What sim/cluster.py does for bare NodeCores at thousands of nodes, this does for the whole
runtime at a handful: the agent's loop and timers, its state file (written before any reply, so
a crash keeps exactly what was persisted), its runtime helpers (runtime/extras.py) and its
control socket. Only the transport is swapped (sim/memory_transport.py), as memberlist's
MockNetwork runs the real Memberlist.

    def test_x(tmp_path):
        async def scenario(sim):
            a, b = await sim.start("a@10.0.0.1"), await sim.start("b@10.0.0.2")
            assert (await sim.command("b@10.0.0.2", "join", node="a@10.0.0.1"))["ok"]
            sim.net.partition(["a@10.0.0.1"], ["b@10.0.0.2"])
            ...
        AgentSim.run(scenario, tmp_path, seed=1)

An exception in any callback (an action no one carries out) fails the run at the next wait.
"""
from __future__ import annotations

import asyncio
import json
import os
import random

from ..control_client import socket_path
from ..runtime.agent import Agent
from . import virtual_loop
from .memory_transport import MemoryNetwork
from .settings import sim_config


class AgentSim:
    def __init__(self, root, seed: int = 0, options: dict | None = None, delay=(0.0005, 0.002), loss: float = 0.0):
        self.root = str(root)
        self.rng = random.Random(seed)
        self.net = MemoryNetwork(self.rng.getrandbits(64), delay, loss)
        self.options = dict(options or {})
        self.node_options: dict[str, dict] = {}
        self.agents: dict[str, Agent] = {}

    @classmethod
    def run(cls, scenario, root, seed: int = 0, **kw):
        """Run `async scenario(sim)` on a virtual clock; every agent is stopped at the end."""
        async def body():
            sim = cls(root, seed, **kw)
            try:
                return await scenario(sim)
            finally:
                await sim.close()
        return virtual_loop.run(body())

    @property
    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def data_dir(self, name: str) -> str:
        return os.path.join(self.root, name.split("@")[0])

    # ---- agent lifecycle ----
    async def start(self, name: str, **options) -> Agent:
        """Start (or restart from its data_dir) the agent `name`; options are flat config keys."""
        if options or name not in self.node_options:
            self.node_options[name] = options
        cfg = sim_config(dict(self.options, **self.node_options[name], **{
            "node.name": name, "node.data_dir": self.data_dir(name)}))
        a = Agent(cfg, make_transport=self.net.transport, rng=random.Random(self.rng.getrandbits(64)))
        self.agents[name] = a
        await a.start()
        return a

    async def stop(self, name: str) -> None:
        """A clean stop (SIGTERM): the agent says goodbye and saves its state."""
        await self.agents.pop(name).stop()

    async def crash(self, name: str) -> None:
        """kill -9: the agent runs nothing more and saves nothing more; what is on disk is what it
        persisted before its last action. Peers hear its connections close."""
        a = self.agents.pop(name)
        a.feed = _dead                  # timers, helpers and the transport reach the agent through feed
        a._pending.clear()              # and what was fed but not yet handled dies with it
        if a.timer:
            a.timer.cancel()
        a.transport.crash()
        for x in a.extras:
            await x.stop()             # their tasks die with the process
        await a.control.close()
        a._lock.close()                # the kernel lets go of the data_dir lock

    async def restart(self, name: str) -> Agent:
        return await self.start(name)

    async def close(self) -> None:
        for name in list(self.agents):
            await self.stop(name)

    # ---- asking the agents ----
    async def command(self, name: str, cmd: str, timeout: float = 60.0, **args) -> dict:
        """A control command through the agent's own command path (what the control socket calls)."""
        out = await self.agents[name].command(cmd, args, timeout)
        self.check()
        return out

    async def control(self, name: str, cmd: str, **args) -> dict:
        """A request over the agent's real Unix control socket, as ekka-ctl sends it."""
        r, w = await asyncio.open_unix_connection(socket_path(self.data_dir(name)))
        try:
            w.write((json.dumps({"cmd": cmd, "args": args}) + "\n").encode())
            await w.drain()
            return json.loads(await r.readline())
        finally:
            w.close()

    async def status(self, name: str) -> dict:
        r = await self.command(name, "status")
        assert r["ok"], r
        return r["result"]

    # ---- time ----
    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.check()

    async def wait_until(self, cond, timeout: float = 60.0, step: float = 0.1) -> bool:
        """Poll cond() (it may be async) every `step` simulated seconds; False after `timeout`."""
        deadline = self.now + timeout
        while True:
            ok = cond()
            if asyncio.iscoroutine(ok):
                ok = await ok
            if ok or self.now >= deadline:
                return bool(ok)
            await self.sleep(step)

    def check(self) -> None:
        asyncio.get_running_loop().check()


def _dead(_event) -> None:
    pass
