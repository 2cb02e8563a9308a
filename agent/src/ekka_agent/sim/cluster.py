"""SimCluster: NodeCores wired through FakeNet the way the runtime wires them through sockets."""
from __future__ import annotations

import random

from ..core import events as ev
from ..core.node import NodeCore
from ..runtime.dispatch import step
from .net import FakeNet
from .settings import sim_settings
from .stalls import Stalls


class SimCluster:
    def __init__(self, seed: int = 0, options: dict | None = None, delay=(0.0005, 0.002), loss: float = 0.0,
                 copy: bool = True, stalls: bool = True):
        self.seed = seed
        self.rng = random.Random(seed)
        self.net = FakeNet(random.Random(self.rng.getrandbits(64)), delay, loss)
        self.stalls = Stalls(self.net) if stalls else None     # sim/stalls.py
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
        self.closing: dict[tuple, int] = {}     # (src, dst): closes by src on their way to dst
        self.unheard: dict[tuple, int] = {}     # (src, dst): of those, ones dst closed too meanwhile
        self.lost_close: dict[tuple, int] = {}  # (src, dst): closes by src lost across a cut
        self.replies: dict = {}
        self.events: list = []                  # (time, node, event dict)
        self.logs: list = []
        self.conflicts_saved: list = []         # (time, node, records) a heal asked to save
        self._carriers: dict[str, SimCarrier] = {}
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
        self._carriers[name] = SimCarrier(self, name)
        self.alive.add(name)
        self._feed(name, ev.Start())
        return core

    def crash(self, name: str) -> None:
        """kill -9: the process is gone; peers see the connection reset if they can hear it."""
        # What it keeps is what it saved last (SimCarrier.persist), copied as a file would be:
        # not what it learnt since from peers and had yet to save (NodeCore.persist_soon).
        if name in self.saved:
            self.saved[name] = self.net.wire(self.saved[name])
        self.alive.discard(name)
        if self.stalls:
            self.stalls.crashed(name)
        for d in (self.closing, self.unheard, self.lost_close):
            for k in [k for k in d if name in k]:
                del d[k]
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

    # ---- wiring: the runtime's own dispatcher (runtime/dispatch.py), actions carried out here ----
    def _feed(self, name: str, event) -> None:
        if name not in self.alive:
            return
        step(self.nodes[name], event, self.now, self._carriers[name])
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

    def helper(self, src: str, a) -> bool:
        """The simulated runtime helpers: the conflicts file. A test's subclass adds others."""
        if isinstance(a, ev.SaveConflicts):
            self.conflicts_saved.append((self.now, src, a.records))
            return True
        return False

    def _connected(self, src: str, dst: str) -> None:
        if src not in self.alive:
            return
        if dst not in self.alive or not self.net.reachable(src, dst):
            return self._feed(src, ev.ConnectFailed(dst, "refused"))
        pair = frozenset((src, dst))
        self.conns[pair] = self.conns.get(pair, 0) + 1
        if self.stalls:
            self.stalls.fresh(src, dst)
        self._feed(src, ev.ConnectionUp(dst, True))
        self._feed(dst, ev.ConnectionUp(src, False))

    def _closed_by_peer(self, src: str, dst: str) -> None:
        if self.unheard.get((src, dst)):
            self.unheard[(src, dst)] -= 1      # dst closed its end of it meanwhile
            return
        self.closing[(src, dst)] = max(0, self.closing.get((src, dst), 0) - 1)
        self._feed(dst, ev.ConnectionDown(src, "closed by peer"))

    def _deliver(self, src: str, dst: str, msg: dict) -> None:
        self._feed(dst, ev.Received(src, msg))

    # ---- views ----
    def view(self, name: str) -> dict:
        return self.nodes[name].status()

    def member_sets(self, names=None) -> dict:
        names = names or sorted(self.alive)
        return {n: tuple(self.nodes[n].membership.members()) for n in names}


class SimCarrier:
    """Carries out one node's actions on the fake network (a runtime/dispatch.py Carrier)."""

    def __init__(self, sim: SimCluster, name: str):
        self.sim, self.src, self.net = sim, name, sim.net

    def send(self, peer: str, msg, channel: str) -> None:
        sim, net, src = self.sim, self.net, self.src
        if channel == "cluster" and not sim.conns.get(frozenset((src, peer))):
            if sim.lost_close.get((peer, src)) and peer in sim.alive and net.reachable(src, peer):
                # Our end of a connection the peer closed across a cut: the peer's kernel has
                # no socket for what we send now and answers with a reset.
                sim.lost_close[(peer, src)] -= 1
                net.later(2 * net.latency(), sim._feed, src, ev.ConnectionDown(peer, "reset by peer"))
            return
        if peer not in sim.alive:
            return
        if sim.copy:
            msg = net.carry(msg)
        if channel == "cluster" and sim.stalls and sim.stalls.hold(src, peer, msg, sim._deliver):
            return
        if net.reachable(src, peer):
            net.later(net.latency() + net.retransmit_delay(), sim._deliver, src, peer, msg)

    def connect(self, dst: str) -> None:
        sim, net, src = self.sim, self.net, self.src
        if dst in sim.alive and dst != src and net.reachable(src, dst) and net.reachable(dst, src):
            net.later(net.latency() * 2, sim._connected, src, dst)
        else:
            net.later(sim.settings.connect_timeout, sim._feed, src, ev.ConnectFailed(dst, "timeout"))

    def disconnect(self, peer: str, reason: str, oldest: int = 0, abort: bool = False) -> None:
        sim, net, src = self.sim, self.net, self.src
        pair = frozenset((src, peer))
        if sim.stalls:
            sim.stalls.closed(src, peer, oldest=bool(oldest))
        n = sim.conns.pop(pair, 0)
        if oldest:
            # Connections the peer closed whose close never reached us (sent across a cut) or
            # has not yet are our oldest too: we close the same ones (our end of them), and hear
            # nothing more of those.
            lost = min(oldest, sim.lost_close.get((peer, src), 0))
            sim.lost_close[(peer, src)] = sim.lost_close.get((peer, src), 0) - lost
            same = min(oldest - lost, sim.closing.get((peer, src), 0))
            sim.closing[(peer, src)] = sim.closing.get((peer, src), 0) - same
            sim.unheard[(peer, src)] = sim.unheard.get((peer, src), 0) + same
            k = min(oldest - lost - same, n)
            if n > k:
                sim.conns[pair] = n - k
            n = k
        else:
            sim.lost_close.pop((peer, src), None)
        for _ in range(n):
            if net.reachable(src, peer):
                sim.closing[(src, peer)] = sim.closing.get((src, peer), 0) + 1
                net.later(net.latency(), sim._closed_by_peer, src, peer)
            else:       # lost across the cut: the peer keeps its end (a ghost, see lost_close)
                sim.lost_close[(src, peer)] = sim.lost_close.get((src, peer), 0) + 1

    def reply(self, r: ev.Reply) -> None:
        self.sim.replies[r.req_id] = r

    def log(self, level: str, text: str) -> None:
        self.sim.logs.append((self.sim.now, self.src, level, text))

    def emit(self, event: dict) -> None:
        self.sim.events.append((self.sim.now, self.src, event))

    def persist(self, snapshot) -> None:
        # Kept as it is (every part of a snapshot is a copy or never changes after); crash()
        # makes the copy a file would be.
        self.sim.saved[self.src] = snapshot()

    def helper(self, a) -> bool:
        return self.sim.helper(self.src, a)
