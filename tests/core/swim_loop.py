"""A deterministic in-memory network for the failure detector alone (core/swim.py).

Virtual clock, one event heap, a fixed seed. Every message goes through the wire codec (encode,
then decode), so what the detectors exchange is what a real link would carry. Faults: crash
(silent, or with a connection reset seen by whoever next sends to it), pause/resume (messages
to a paused node wait, as in a TCP buffer; its timers do not run), partitions, loss and delay.
"""
from __future__ import annotations

import heapq
import random
from collections import Counter

from ekka_agent.core import swim_msgs
from ekka_agent.core.swim import Detector
from ekka_agent.core.swim_events import (ConnectionReset, Down, Indirect, MemberAdded, Received, SendTo, Suspected,
                                         Timer, Up)


TIMER = Timer()     # no fields: one for every timer event (a million of them at 10,000 nodes)


class SwimNet:
    def __init__(self, n: int, seed: int, settings=None, delay: float = 0.001, jitter: float = 0.0005):
        self.rng = random.Random(seed)
        self.settings = settings
        self.names = ["n%04d" % i for i in range(n)]
        self.nodes = {nm: Detector(nm, settings, random.Random(self.rng.getrandbits(64)))
                      for nm in self.names}
        self.now = 0.0
        self.delay, self.jitter = delay, jitter
        self.loss = 0.0
        self.heap: list = []
        self.seq = 0
        self.timer_at: dict[str, float | None] = {}
        self.crashed: dict[str, bool] = {}      # name -> resets connections
        self.paused: set[str] = set()
        self.held: dict[str, list] = {}
        self.groups: dict[str, int] | None = None
        self.cut: set = set()                   # (src, dst) links that drop everything
        self.log: list = []                     # (time, observer, action) for Down / Up / Suspected
        self.sent: Counter = Counter()
        for nm in self.names:
            self._handle(nm, MemberAdded(tuple(self.names)))

    # ---------- faults ----------
    def crash(self, node: str, reset: bool = False) -> None:
        self.crashed[node] = reset

    def pause(self, node: str) -> None:
        self.paused.add(node)
        self.held.setdefault(node, [])

    def resume(self, node: str) -> None:
        self.paused.discard(node)
        for ev in self.held.pop(node, []):
            self._handle(node, ev)
        self._handle(node, TIMER)

    def restart(self, node: str) -> None:
        """A crashed node starts again: a fresh detector that knows the members (restored from
        disk) and holds them all down until it hears from them."""
        self.crashed.pop(node, None)
        self.nodes[node] = Detector(node, self.settings, random.Random(self.rng.getrandbits(64)))
        self.timer_at[node] = None
        self._handle(node, MemberAdded(tuple(self.names), up=False))
        self._handle(node, TIMER)

    def partition(self, *sides) -> None:
        self.groups = {nm: i for i, side in enumerate(sides) for nm in side}

    def heal(self) -> None:
        self.groups = None

    # ---------- running ----------
    def _push(self, t: float, kind: str, node: str, payload=None) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, node, payload))

    def _handle(self, node: str, event) -> None:
        if node in self.crashed:
            return
        if node in self.paused:
            if not isinstance(event, Timer):
                self.held[node].append(event)
            return
        d = self.nodes[node]
        for a in d.handle(event, self.now):
            if isinstance(a, SendTo):
                self._send(node, a)
            elif isinstance(a, (Down, Up, Suspected, Indirect)):
                self.log.append((self.now, node, a))
        t = d.next_deadline()
        if t is not None and t != self.timer_at.get(node):
            self.timer_at[node] = t
            self._push(max(t, self.now), "timer", node)

    def _send(self, src: str, a: SendTo) -> None:
        self.sent[src] += 1
        dst = a.peer
        if dst in self.crashed:
            if self.crashed[dst]:
                self._push(self.now + self.delay, "event", src, ConnectionReset(dst))
            return
        if self.groups is not None and self.groups.get(src) != self.groups.get(dst):
            return
        if self.cut and (src, dst) in self.cut:
            return
        if self.loss and self.rng.random() < self.loss:
            return
        t = self.now + self.delay + self.rng.random() * self.jitter
        self._push(t, "event", dst, Received(src, self._carry(a.msg)))

    def _carry(self, msg):
        """What the receiver gets: the message through the wire codec, both ways."""
        return swim_msgs.decode(swim_msgs.encode(msg))

    def run_until(self, t_end: float) -> None:
        while self.heap and self.heap[0][0] <= t_end:
            t, _, kind, node, payload = heapq.heappop(self.heap)
            self.now = max(self.now, t)
            if kind == "timer":
                if self.timer_at.get(node) != t:
                    continue        # superseded by a later next_deadline
                self.timer_at[node] = None
                self._handle(node, TIMER)
            else:
                self._handle(node, payload)
        self.now = max(self.now, t_end)

    def start(self) -> None:
        """Every node's first timer at a random point of the first period (as real agents
        start at slightly different moments)."""
        for nm in self.names:
            self.timer_at[nm] = self.rng.random() * 0.5
            self._push(self.timer_at[nm], "timer", nm)

    # ---------- reading ----------
    def live(self) -> list[str]:
        return [n for n in self.names if n not in self.crashed]

    def all_see(self, node: str, up: bool, observers=None) -> bool:
        obs = observers if observers is not None else [n for n in self.live() if n != node]
        return all(self.nodes[o].is_up(node) == up for o in obs)

    def first(self, kind, node: str, since: float = 0.0) -> dict:
        """{observer: time} of each observer's first `kind` action about node since `since`."""
        out = {}
        for t, obs, a in self.log:
            if t >= since and isinstance(a, kind) and a.node == node and obs not in out:
                out[obs] = t
        return out

    def downs(self, since: float = 0.0) -> list:
        return [(t, o, a) for t, o, a in self.log if t >= since and isinstance(a, Down)]

    def run_until_true(self, cond, limit: float, step: float = 0.05) -> float:
        """Advance in steps until cond() holds; returns the virtual time. Fails past `limit`."""
        while not cond():
            if self.now >= limit:
                raise AssertionError("condition not met by virtual time %.1f" % limit)
            self.run_until(self.now + step)
        return self.now
