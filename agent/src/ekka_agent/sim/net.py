"""A fake network with a virtual clock: delay, loss, partitions and crashes, all from one seed.

Like trio's MockClock, time jumps straight to the next thing that happens, so a simulated
minute costs only the events in it.
"""
from __future__ import annotations

import heapq
import itertools
import json

from ..core.messages import Message, from_wire, to_wire


class Links:
    """Who can reach whom, and how late and how lossy a link is: the controls a test turns.
    Shared by FakeNet (the pure simulator) and the in-memory transport (memory_transport.py)."""

    def __init__(self, rng, delay=(0.0005, 0.002), loss: float = 0.0):
        self.rng = rng
        self.delay = delay
        self.loss = loss
        self.blocked: set[tuple[str, str]] = set()   # one-way blocks (src, dst)
        self.group_of: dict[str, int] | None = None  # partition groups; None = whole

    # ---- reachability ----
    def reachable(self, a: str, b: str) -> bool:
        if (a, b) in self.blocked:
            return False
        if self.group_of is not None and self.group_of.get(a, -1) != self.group_of.get(b, -1):
            return False
        return True

    def partition(self, *groups) -> None:
        """Split the network into groups; nodes not named form a group of their own each."""
        self.group_of = {}
        for i, g in enumerate(groups):
            for n in g:
                self.group_of[n] = i

    def heal(self) -> None:
        self.group_of = None
        self.blocked.clear()

    def block(self, a: str, b: str, both: bool = True) -> None:
        self.blocked.add((a, b))
        if both:
            self.blocked.add((b, a))

    def latency(self) -> float:
        return self.rng.uniform(*self.delay)

    def lost(self) -> bool:
        return self.loss > 0 and self.rng.random() < self.loss

    def retransmit_delay(self, rto: float = 0.2) -> float:
        """Both channels are TCP: a lost segment arrives late (after retransmits), never not at all."""
        d = 0.0
        while self.lost():
            d += rto
            rto = min(rto * 2, 3.0)
        return d


class FakeNet(Links):
    def __init__(self, rng, delay=(0.0005, 0.002), loss: float = 0.0):
        super().__init__(rng, delay, loss)
        self.now = 0.0
        self._q: list = []
        self._seq = itertools.count()

    # ---- scheduling ----
    def at(self, t: float, fn, *args) -> None:
        heapq.heappush(self._q, (t, next(self._seq), fn, args))

    def later(self, dt: float, fn, *args) -> None:
        self.at(self.now + dt, fn, *args)

    def step(self) -> bool:
        if not self._q:
            return False
        t, _, fn, args = heapq.heappop(self._q)
        self.now = max(self.now, t)
        fn(*args)
        return True

    def run_until(self, t: float) -> None:
        while self._q and self._q[0][0] <= t:
            self.step()
        self.now = max(self.now, t)

    @staticmethod
    def wire(obj: dict) -> dict:
        """What crosses the fake wire (or a disk) goes through JSON, exactly as the real one carries it."""
        return json.loads(json.dumps(obj))

    @classmethod
    def carry(cls, msg: Message) -> Message:
        """A message through the real codec and JSON: what the receiving transport would decode."""
        return from_wire(cls.wire(to_wire(msg)))
