"""Lifeguard's two rules against false suspicions: local health and dynamic suspicion timeouts.

Awareness (the local health multiplier): a node that misses acks it should have had, or has to
refute suspicions about itself, is probably the slow one (overloaded, paused, starved of CPU),
so it waits longer before blaming others; each good probe earns back one step.

Suspicion: a suspected member is declared dead after a timeout that starts long and shrinks
toward the short one as other members independently accuse it, so one slow observer alone does
not kill a healthy node, while a node many find silent is declared dead quickly.
"""
from __future__ import annotations

import math


class Awareness:
    __slots__ = ("max", "score")

    def __init__(self, max_score: int):
        self.max = max(1, max_score)
        self.score = 0

    def apply(self, delta: int) -> None:
        self.score = min(self.max - 1, max(0, self.score + delta))

    def scale(self, timeout: float) -> float:
        return timeout * (self.score + 1)


def suspicion_bounds(n: int, probe_interval: float, min_mult: float, max_mult: float) -> tuple:
    """(shortest, longest) suspicion timeout in a cluster of n: grows with log10(n), the time a
    broadcast needs to reach everyone."""
    lo = min_mult * max(1.0, math.log10(max(1, n))) * probe_interval
    return lo, lo * max_mult


class Suspicion:
    """One suspected member: who accused it, and when it is declared dead."""
    __slots__ = ("accusers", "expected", "lo", "hi", "start", "deadline")

    def __init__(self, accuser: str, expected: int, lo: float, hi: float, start: float):
        self.accusers = {accuser}
        self.expected = max(0, expected)   # independent confirmations that bring it down to lo
        self.lo, self.hi, self.start = lo, hi, start
        self.deadline = start + self._timeout()

    def confirm(self, by: str) -> bool:
        """Count `by` as an independent accuser; True if it is a new one."""
        if by in self.accusers or len(self.accusers) - 1 >= self.expected:
            return False
        self.accusers.add(by)
        self.deadline = self.start + self._timeout()
        return True

    def _timeout(self) -> float:
        if self.expected < 1:
            return self.lo
        frac = math.log(len(self.accusers)) / math.log(self.expected + 1)
        return max(self.lo, self.hi - (self.hi - self.lo) * frac)

    def postpone(self, by: float) -> None:
        """This node was paused: its clock jumped, the member had no fair chance to refute."""
        self.start += by
        self.deadline += by
