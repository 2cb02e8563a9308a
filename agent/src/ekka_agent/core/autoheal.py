"""Autoheal: find partitions, and heal them on purpose instead of merging both sides blindly.

Three state machines, one file each (docs/partitions.md explains the why):

1. core/split_detector.py, on every node: was a returning member on the other side of a
   partition? Such peers share no data until a heal (it is the kv replica's gate).
2. core/heal_leader.py, on the oldest running member: gathers every node's view, picks the
   clique to keep (core/cliques.py) and hands the plan to its oldest member.
3. core/heal_coordinator.py: the coordinator opens a new data epoch; the nodes outside the
   winning clique save what they would lose and take the coordinator's copy.
"""
from __future__ import annotations

from .heal_coordinator import HealCoordinator
from .heal_leader import HealLeader
from .split_detector import SplitDetector


def components(ctx, settings) -> list:
    s = settings.autoheal
    split = SplitDetector(ctx, s)
    coordinator = HealCoordinator(ctx, s, split)
    leader = HealLeader(ctx, s, split, coordinator)
    split.leader = coordinator.leader = leader
    # The coordinator ticks before the leader: a round that ends on this tick is seen by it.
    return [split, coordinator, leader]
