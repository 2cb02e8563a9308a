"""Split views into cliques (sets of nodes that all share data with each other) and pick the winner.

Pure functions of the views the leader gathered, so the leader's choice is deterministic and
can be tested alone. A view is {node: {"ep": epoch, "split": [...], "down": [...]}}:
  ep    the node's data epoch (nodes share data only within one epoch)
  split peers it is connected to but refuses to share data with (back from a partition)
  down  members it cannot reach at all
Two nodes conflict when either lists the other as split, or when they reach each other but
hold different epochs. Two nodes that cannot reach each other do not conflict: nothing can be
healed between them until the network is back (a partial partition, reported as an alarm).
"""
from __future__ import annotations


def conflicts(views: dict) -> dict:
    """node -> set of nodes it conflicts with (symmetric)."""
    out = {n: set() for n in views}
    by_ep: dict = {}
    for n, v in views.items():
        by_ep.setdefault(tuple(v["ep"]) if v["ep"] else None, []).append(n)
        for q in v["split"]:
            if q in views and q != n:
                out[n].add(q)
                out[q].add(n)
    if len(by_ep) > 1:
        downs = {n: set(v["down"]) for n, v in views.items()}
        groups = list(by_ep.values())
        for i, ga in enumerate(groups):
            for gb in groups[i + 1:]:
                for a in ga:
                    for b in gb:
                        if b not in downs[a] and a not in downs[b]:
                            out[a].add(b)
                            out[b].add(a)
    return out


def find_cliques(order: list, conflict: dict) -> list:
    """Greedy cover of `order` (oldest first) by cliques of the no-conflict relation.

    Each clique starts from the oldest node not yet placed and takes, oldest first, every node
    that conflicts with none already in it. Exact for the usual shapes (disjoint sides, one
    node apart); for tangled partial views it is still deterministic, and whoever is left out
    rejoins, after which all hold one epoch.
    """
    left = list(order)
    cliques = []
    while left:
        clique, rest, bad = [left[0]], [], set(conflict[left[0]])
        for n in left[1:]:
            if n in bad:
                rest.append(n)
            else:
                clique.append(n)
                bad |= conflict[n]
        cliques.append(clique)
        left = rest
    return cliques


def pick_winner(cliques: list) -> list:
    """The largest clique; on a tie the one holding the oldest member (cliques come oldest first)."""
    return max(enumerate(cliques), key=lambda ic: (len(ic[1]), -ic[0]))[1]


def partial_partitions(views: dict) -> dict:
    """Members some responders cannot reach while other responders can: {unreached: [by...]}.

    Every responder answered the leader, so it runs; a member in one responder's down list and
    not in another's is alive on one side only: a partial partition, not a crash.
    """
    downs = {n: set(v["down"]) for n, v in views.items()}
    out: dict = {}
    for n, d in downs.items():
        for q in d:
            if any(q not in d2 and q != b for b, d2 in downs.items()):
                out.setdefault(q, []).append(n)
    return {q: sorted(by) for q, by in sorted(out.items())}
