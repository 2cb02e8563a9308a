"""SimCluster: NodeCores wired through FakeNet the way the runtime wires them through sockets."""
from __future__ import annotations

import random

from ..core import events as ev
from ..core.node import NodeCore
from .net import FakeNet
from .settings import sim_settings


class SimCluster:
    def __init__(self, seed: int = 0, options: dict | None = None, delay=(0.0005, 0.002), loss: float = 0.0,
                 copy: bool = True):
        self.seed = seed
        self.rng = random.Random(seed)
        self.net = FakeNet(random.Random(self.rng.getrandbits(64)), delay, loss)
        # copy=False hands the (frozen) messages over as they are: much faster for big runs;
        # copy=True sends them through the codec and JSON like the real wire.
        self.copy = copy
        self.options = options or {}
        self.node_settings = sim_settings(self.options)   # every node's, unless add() gets its own options
        self.settings = self.node_settings.membership
        self.node_options: dict[str, dict] = {}
        self.nodes: dict[str, NodeCore] = {}
        self.saved: dict[str, dict] = {}        # what each node persisted (survives crashes)
        self.alive: set[str] = set()
        self.conns: dict[frozenset, int] = {}   # open connections per pair
        self.replies: dict = {}
        self.events: list = []                  # (time, node, event dict)
        self.logs: list = []
        self._tick_at: dict[str, float] = {}
        self._req = 0

    @property
    def now(self) -> float:
        return self.net.now

    # ---- node lifecycle ----
    def add(self, name: str, options: dict | None = None) -> NodeCore:
        self.node_options[name] = options or {}
        settings = sim_settings(dict(self.options, **options)) if options else self.node_settings
        core = NodeCore(name, settings, random.Random(self.rng.getrandbits(64)), wall_offset=1.7e9,
                        state=self.saved.get(name))
        self.nodes[name] = core
        self.alive.add(name)
        self._feed(name, ev.Start())
        return core

    def crash(self, name: str) -> None:
        """kill -9: the process is gone; peers see the connection reset if they can hear it."""
        if name in self.alive:
            self.saved[name] = self.net.wire(self.nodes[name].snapshot())
        self.alive.discard(name)
        for pair in [p for p in self.conns if name in p]:
            (other,) = pair - {name}
            n = self.conns.pop(pair)
            if other in self.alive and self.net.reachable(name, other):
                for _ in range(n):
                    self.net.later(self.net.latency(), self._feed, other, ev.ConnectionDown(name, "reset"))

    def restart(self, name: str) -> NodeCore:
        return self.add(name, self.node_options.get(name))

    # ---- commands ----
    def command(self, at: str, cmd: str, timeout: float = 30.0, **args):
        """Run a control command to completion; returns the Reply."""
        self._req += 1
        rid = self._req
        self._feed(at, ev.Command(rid, cmd, args))
        deadline = self.now + timeout
        while rid not in self.replies and self.now < deadline and self.net.step():
            pass
        return self.replies.pop(rid, None)

    def run(self, seconds: float) -> None:
        self.net.run_until(self.now + seconds)

    def run_until(self, cond, timeout: float = 60.0, step: float = 0.1) -> bool:
        deadline = self.now + timeout
        while self.now < deadline:
            if cond():
                return True
            self.run(step)
        return cond()

    # ---- wiring ----
    def _feed(self, name: str, event) -> None:
        if name not in self.alive:
            return
        core = self.nodes[name]
        acts = core.handle(event, self.now)
        # The runtime persists every change before acting, so what a crash leaves is the state at
        # the crash: crash() takes that copy, and nothing needs copying here.
        core.dirty = False
        for a in acts:
            self._act(name, a)
        self._schedule_tick(name)

    def _schedule_tick(self, name: str) -> None:
        d = self.nodes[name].next_deadline()
        if d is None:
            return
        d = max(d, self.now)
        if self._tick_at.get(name) == d:
            return
        self._tick_at[name] = d
        self.net.at(d, self._tick, name, d)

    def _tick(self, name: str, d: float) -> None:
        if self._tick_at.get(name) == d:
            del self._tick_at[name]
            self._feed(name, ev.Tick())

    def _act(self, src: str, a) -> None:
        net = self.net
        if isinstance(a, ev.Send):
            if a.channel == "cluster" and not self.conns.get(frozenset((src, a.peer))):
                return
            if a.peer in self.alive and net.reachable(src, a.peer):
                net.later(net.latency() + net.retransmit_delay(), self._deliver, src, a.peer,
                          net.carry(a.msg) if self.copy else a.msg)
        elif isinstance(a, ev.Connect):
            dst = a.peer
            if dst in self.alive and dst != src and net.reachable(src, dst) and net.reachable(dst, src):
                net.later(net.latency() * 2, self._connected, src, dst)
            else:
                net.later(self.settings.connect_timeout, self._feed, src, ev.ConnectFailed(dst, "timeout"))
        elif isinstance(a, ev.Disconnect):
            pair = frozenset((src, a.peer))
            n = self.conns.pop(pair, 0)
            if net.reachable(src, a.peer):
                for _ in range(n):
                    net.later(net.latency(), self._feed, a.peer, ev.ConnectionDown(src, "closed by peer"))
        elif isinstance(a, ev.Reply):
            self.replies[a.req_id] = a
        elif isinstance(a, ev.Emit):
            self.events.append((self.now, src, a.event))
        elif isinstance(a, ev.Log):
            self.logs.append((self.now, src, a.level, a.text))

    def _connected(self, src: str, dst: str) -> None:
        if src not in self.alive:
            return
        if dst not in self.alive or not self.net.reachable(src, dst):
            return self._feed(src, ev.ConnectFailed(dst, "refused"))
        pair = frozenset((src, dst))
        self.conns[pair] = self.conns.get(pair, 0) + 1
        self._feed(src, ev.ConnectionUp(dst, True))
        self._feed(dst, ev.ConnectionUp(src, False))

    def _deliver(self, src: str, dst: str, msg: dict) -> None:
        self._feed(dst, ev.Received(src, msg))

    # ---- views ----
    def view(self, name: str) -> dict:
        return self.nodes[name].status()

    def member_sets(self, names=None) -> dict:
        names = names or sorted(self.alive)
        return {n: tuple(self.nodes[n].membership.members()) for n in names}
