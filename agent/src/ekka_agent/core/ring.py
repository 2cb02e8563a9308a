"""The hash ring that picks which members vote on a quorum lock.

Ekka hashes with erlang:phash2; Python's hash() is salted per process, so two agents would
disagree. A SHA-256 prefix is the same on every node and every run.

Unlike Ekka, the ring holds every member (up or down) and a lock needs a majority of its replica
set: that is what keeps two sides of a partition from both granting it. A member that is down
is a missing vote, never a skipped one.
"""
from __future__ import annotations

import bisect
import hashlib


def stable_hash(s: str) -> int:
    return int.from_bytes(hashlib.sha256(s.encode()).digest()[:8], "big")


def quorum_size(n: int) -> int:
    """Ekka's count: min(3, N div 2 + 1)."""
    return min(3, n // 2 + 1) if n > 0 else 0


def walk(members, resource: str) -> list:
    """Members in ring order, starting at the first one at or after the resource's hash."""
    ring = sorted((stable_hash(m), m) for m in members)
    if not ring:
        return []
    i = bisect.bisect_left(ring, (stable_hash(resource), ""))
    return [m for _, m in ring[i:] + ring[:i]]


def replica_set(members, resource: str):
    """(replicas, votes needed). Any two sets of `need` votes out of the replicas overlap,
    because need > len(replicas) / 2: the replicas are the first 2Q-1 members on the ring."""
    members = sorted(set(members))
    q = quorum_size(len(members))
    return walk(members, resource)[:min(len(members), 2 * q - 1)], q
