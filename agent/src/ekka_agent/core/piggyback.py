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
    costs O(updates taken), not a sort of the whole queue (ten thousand after a partition heals).

    This runs for every message sent, so the buckets are lists of records, popped from the end,
    and a replaced or dropped update is not searched out of its bucket: its record is no longer
    the one `_live` holds for its node, and is thrown away when it comes up."""

    __slots__ = ("mult", "_live", "_buckets", "_held", "_limit_n", "_limit")

    def __init__(self, retransmit_mult: int):
        self.mult = retransmit_mult
        self._live: dict[str, list] = {}           # node -> its record [times sent, update]
        self._buckets: list[list] = []             # times sent -> records, newest last
        self._held = 0                             # records in all buckets, replaced ones included
        self._limit_n, self._limit = -1, 0

    def __len__(self) -> int:
        return len(self._live)

    def _bucket(self, k: int) -> list:
        while len(self._buckets) <= k:
            self._buckets.append([])
        return self._buckets[k]

    def add(self, u: Update) -> None:
        rec = self._live[u.node] = [0, u]
        self._bucket(0).append(rec)
        self._held += 1
        if self._held > 2 * len(self._live) + 64:
            self._compact()

    def drop(self, node: str) -> None:
        self._live.pop(node, None)

    def about(self, node: str) -> Update | None:
        rec = self._live.get(node)
        return rec[1] if rec is not None else None

    def limit(self, n: int) -> int:
        if n != self._limit_n:
            self._limit_n, self._limit = n, self.mult * max(1, math.ceil(math.log10(n + 1)))
        return self._limit

    def _compact(self) -> None:
        """Replaced updates pile up in buckets that are never reached (news arriving faster than
        it is sent): drop their records, keeping the order of the live ones."""
        live = self._live
        for k, b in enumerate(self._buckets):
            self._buckets[k] = [r for r in b if live.get(r[1].node) is r]
        self._held = sum(map(len, self._buckets))

    def take(self, count: int, n: int, first: Update | None = None) -> tuple:
        """Up to `count` updates for one message, least sent first, newest first among those
        (`first`, if given, leads it: the buddy rule, a suspect hears of its suspicion on the
        probe itself)."""
        live = self._live
        if not live:
            return () if first is None else (first,)
        skip = first.node if first is not None else None
        out = [first] if first is not None else []
        limit = self.limit(n)
        moved = []
        for k, bucket in enumerate(self._buckets):
            if len(out) >= count:
                break
            held = None
            while bucket and len(out) < count:
                rec = bucket.pop()
                u = rec[1]
                if live.get(u.node) is not rec:
                    self._held -= 1
                    continue                    # replaced or dropped since it was queued
                if u.node == skip:
                    held = rec                  # goes back where it was, ahead of older ones
                    continue
                out.append(u)
                if k + 1 >= limit:
                    del live[u.node]
                    self._held -= 1
                else:
                    rec[0] = k + 1
                    moved.append(rec)
            if held is not None:
                bucket.append(held)
        # Moved after the scan, so an update is not taken twice for one message.
        for rec in moved:
            self._bucket(rec[0]).append(rec)
        return tuple(out)
