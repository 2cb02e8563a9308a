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
        self.links: dict[frozenset, list] = {}  # pair -> its SimLinks with an end open, oldest first
        self.last_link = 0
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
        for pair in [p for p in self.links if name in p]:
            (other,) = pair - {name}
            for link in self.links.pop(pair):
                if other in link.open and other in self.alive and self.net.reachable(name, other):
                    self.net.later(self.net.latency(), self._end_closed, other, name, link, "reset")

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
        # The acceptor's end opens first (it checks the dialler's proof and answers ok), the
        # dialler's when that ok arrives: a reset the acceptor sends at once on an older link
        # between them can reach the dialler before its own end of the new one is up.
        self.last_link += 1
        lat = self.net.latency()
        link = SimLink(self.last_link, dst, pending=src, ready=self.now + lat)
        self.links.setdefault(frozenset((src, dst)), []).append(link)
        if self.stalls:
            self.stalls.fresh(src, dst)
        self._feed(dst, ev.ConnectionUp(src, False, link.id))
        self.net.later(lat, self._dialler_up, src, dst, link, self.nodes[src])

    def _dialler_up(self, src: str, dst: str, link: "SimLink", core) -> None:
        link.pending = None
        if src not in self.alive or self.nodes[src] is not core:
            if dst in link.open:    # the dialler crashed meanwhile: its kernel resets what arrives
                self.net.later(self.net.latency(), self._end_closed, dst, src, link, "reset")
            return
        if dst not in link.open or link not in self.links.get(frozenset((src, dst)), ()):
            # The acceptor closed it, or crashed, before the ok came.
            self.close_end(link, src, dst)
            return self._feed(src, ev.ConnectFailed(dst, "closed during the handshake"))
        link.open += (src,)
        self._feed(src, ev.ConnectionUp(dst, True, link.id))

    def _end_closed(self, dst: str, src: str, link: "SimLink", reason: str) -> None:
        """src's end of link closed (or src crashed), and dst reads it, unless dst closed its
        own end meanwhile."""
        if dst in link.open:
            self.close_end(link, dst, src)
            self._feed(dst, ev.ConnectionDown(src, link.id, reason))

    def close_end(self, link: "SimLink", name: str, peer: str) -> None:
        link.open = tuple(x for x in link.open if x != name)
        pair = frozenset((name, peer))
        lst = self.links.get(pair)
        if not link.open and lst and link in lst:
            lst.remove(link)
            if not lst:
                del self.links[pair]

    def open_links(self) -> dict:
        """pair -> how many of its links are open at both ends."""
        out = {}
        for pair, links in self.links.items():
            k = sum(1 for x in links if len(x.open) == 2)
            if k:
                out[pair] = k
        return out

    def _deliver(self, src: str, dst: str, msg: dict) -> None:
        self._feed(dst, ev.Received(src, msg))

    # ---- views ----
    def view(self, name: str) -> dict:
        return self.nodes[name].status()

    def member_sets(self, names=None) -> dict:
        names = names or sorted(self.alive)
        return {n: tuple(self.nodes[n].membership.members()) for n in names}


class SimLink:
    """One cluster-port connection: its id (ConnectionUp.link, the same at both ends here) and
    the nodes whose end of it is still open. Each end closes on its own: a close sent across a
    cut never arrives, and the other end stays open until it sends on it and is reset."""
    __slots__ = ("id", "open", "pending", "ready")

    def __init__(self, link_id: int, *ends: str, pending: str | None = None, ready: float = 0.0):
        self.id = link_id
        self.open = ends           # a tuple: half a million links in a 1,000-node run
        self.pending = pending      # the dialler, until the handshake's ok reaches it
        self.ready = ready          # when it does


class SimCarrier:
    """Carries out one node's actions on the fake network (a runtime/dispatch.py Carrier)."""

    def __init__(self, sim: SimCluster, name: str):
        self.sim, self.src, self.net = sim, name, sim.net

    def send(self, peer: str, msg, channel: str) -> None:
        sim, net, src = self.sim, self.net, self.src
        after_ok = None
        if channel == "cluster":
            mine = [x for x in sim.links.get(frozenset((src, peer)), ()) if src in x.open]
            if not mine:
                return
            link = mine[-1]     # the newest, as the transport sends
            if link.pending == peer:
                # Sent by the acceptor before the dialler's end is up: TCP delivers it after
                # the handshake's ok.
                after_ok = link.ready - net.now
            elif peer not in link.open:
                if peer in sim.alive and net.reachable(src, peer):
                    # Our end of a link the peer closed across a cut: its kernel has no socket
                    # for what we send now and answers with a reset.
                    sim.close_end(link, src, peer)
                    net.later(2 * net.latency(), sim._feed, src, ev.ConnectionDown(peer, link.id, "reset by peer"))
                return
        if peer not in sim.alive:
            return
        if sim.copy:
            msg = net.carry(msg)
        if channel == "cluster" and after_ok is None and sim.stalls and sim.stalls.hold(src, peer, msg, sim._deliver):
            return
        if net.reachable(src, peer):
            net.later(max(net.latency() + net.retransmit_delay(), after_ok or 0.0), sim._deliver, src, peer, msg)

    def connect(self, dst: str) -> None:
        sim, net, src = self.sim, self.net, self.src
        if dst in sim.alive and dst != src and net.reachable(src, dst) and net.reachable(dst, src):
            net.later(net.latency() * 2, sim._connected, src, dst)
        else:
            net.later(sim.settings.connect_timeout, sim._feed, src, ev.ConnectFailed(dst, "timeout"))

    def disconnect(self, peer: str, reason: str, links: tuple = (), abort: bool = False) -> None:
        sim, net, src = self.sim, self.net, self.src
        if sim.stalls:
            sim.stalls.closed(src, peer, replaced=bool(links))
        for link in list(sim.links.get(frozenset((src, peer)), ())):
            if src not in link.open or (links and link.id not in links):
                continue
            sim.close_end(link, src, peer)
            if peer in link.open and net.reachable(src, peer):
                net.later(net.latency(), sim._end_closed, peer, src, link, "closed by peer")
            # Across a cut the close is lost: the peer keeps its end (a ghost) until it sends on it.

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
