"""Which membership updates ride on the next message, and how many times each is sent.

Each update is sent at most retransmit_mult * ceil(log10(n + 1)) times, enough for an epidemic
to reach all n members with high probability; the least-sent go first, and a newer update about
a member replaces the older one, so the queue never holds two stories about one node.
"""
from __future__ import annotations

import math

from .swim_msgs import Update


class Broadcasts:
    def __init__(self, retransmit_mult: int):
        self.mult = retransmit_mult
        self._q: dict[str, list] = {}       # node -> [update, times sent, order added]
        self._order = 0

    def __len__(self) -> int:
        return len(self._q)

    def add(self, u: Update) -> None:
        self._order += 1
        self._q[u.node] = [u, 0, self._order]

    def drop(self, node: str) -> None:
        self._q.pop(node, None)

    def about(self, node: str) -> Update | None:
        e = self._q.get(node)
        return e[0] if e else None

    def limit(self, n: int) -> int:
        return self.mult * max(1, math.ceil(math.log10(n + 1)))

    def take(self, count: int, n: int, first: Update | None = None) -> tuple:
        """Up to `count` updates for one message (`first`, if given, leads it: the buddy rule,
        a suspect hears of its suspicion on the probe itself)."""
        if not self._q and first is None:
            return ()
        limit = self.limit(n)
        out = [first] if first is not None else []
        room = count - len(out)
        entries = [e for e in self._q.values() if first is None or e[0].node != first.node]
        for e in sorted(entries, key=lambda e: (e[1], -e[2]))[:room]:
            e[1] += 1
            if e[1] >= limit:
                del self._q[e[0].node]
            out.append(e[0])
        return tuple(out)
