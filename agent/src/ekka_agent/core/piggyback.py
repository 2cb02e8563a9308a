"""Which membership updates ride on the next message, and how many times each is sent.

Each update is sent at most retransmit_mult * ceil(log10(n + 1)) times, enough for an epidemic
to reach all n members with high probability; the least-sent go first, and a newer update about
a member replaces the older one, so the queue never holds two stories about one node.
"""
from __future__ import annotations

import math

from .swim_msgs import Update


class Broadcasts:
    """Kept in buckets by times sent, newest last in each, so taking the few least-sent updates
    costs O(updates taken), not a sort of the whole queue (a thousand after a partition heals)."""

    def __init__(self, retransmit_mult: int):
        self.mult = retransmit_mult
        self._sent: dict[str, int] = {}            # node -> times its update was sent
        self._buckets: list[dict] = []             # times sent -> {node: update}, oldest first

    def __len__(self) -> int:
        return len(self._sent)

    def _bucket(self, k: int) -> dict:
        while len(self._buckets) <= k:
            self._buckets.append({})
        return self._buckets[k]

    def add(self, u: Update) -> None:
        self.drop(u.node)
        self._sent[u.node] = 0
        self._bucket(0)[u.node] = u

    def drop(self, node: str) -> None:
        k = self._sent.pop(node, None)
        if k is not None:
            del self._buckets[k][node]

    def about(self, node: str) -> Update | None:
        k = self._sent.get(node)
        return self._buckets[k][node] if k is not None else None

    def limit(self, n: int) -> int:
        return self.mult * max(1, math.ceil(math.log10(n + 1)))

    def take(self, count: int, n: int, first: Update | None = None) -> tuple:
        """Up to `count` updates for one message, least sent first, newest first among those
        (`first`, if given, leads it: the buddy rule, a suspect hears of its suspicion on the
        probe itself)."""
        if not self._sent and first is None:
            return ()
        out = [first] if first is not None else []
        skip = first.node if first is not None else None
        picked = []
        for k, bucket in enumerate(self._buckets):
            if len(out) >= count:
                break
            for node in reversed(bucket):
                if len(out) >= count:
                    break
                if node != skip:
                    out.append(bucket[node])
                    picked.append((node, k))
        limit = self.limit(n)
        for node, k in picked:
            u = self._buckets[k].pop(node)
            if k + 1 >= limit:
                del self._sent[node]
            else:
                self._sent[node] = k + 1
                self._bucket(k + 1)[node] = u
        return tuple(out)
