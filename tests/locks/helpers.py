"""Shared by the lock tests: form a real cluster, and record grants for the checker."""
from __future__ import annotations

import threading
import time

from harness.wait import wait_until


def form(agents, n: int, extra: str = "", hosts=None) -> list:
    """n real agents (on loopback, or one per netns host), joined into one cluster."""
    nodes = []
    for i in range(1, n + 1):
        if hosts is not None:
            h = hosts[i - 1]
            nodes.append(agents.add("ekka%d@%s" % (i, h.ip), host=h, extra=extra))
        else:
            nodes.append(agents.add(agents.name(i), extra=extra))
    for node in nodes[1:]:
        r = node.ctl("cluster", "join", nodes[0].name)
        assert r.returncode == 0, r.stdout + r.stderr
    agents.wait_running(nodes, nodes)
    return nodes


class History:
    """Every grant a checker client saw, with the times (time.monotonic, shared by all processes
    on this machine) during which the holder could trust it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.grants: list[dict] = []

    def add(self, **g) -> dict:
        with self.lock:
            self.grants.append(g)
        return g

    def _by_resource(self, strategy: str) -> list:
        """The grants of each resource under `strategy`, each list in order of start."""
        by_res: dict = {}
        for g in self.grants:
            if g["strategy"] == strategy:
                by_res.setdefault(g["resource"], []).append(g)
        return [sorted(gs, key=lambda g: g["start"]) for gs in by_res.values()]

    def overlaps(self, strategy: str) -> list:
        """Pairs of grants of one resource, to different holders, whose valid times overlap."""
        bad = []
        for gs in self._by_resource(strategy):
            for i, a in enumerate(gs):
                for b in gs[i + 1:]:
                    if b["start"] >= a["end"]:
                        break
                    if a["holder"] != b["holder"]:
                        bad.append((a, b))
        return bad

    def token_regressions(self, strategy: str) -> list:
        """Grants whose token is not above that of every grant that ended before they began.
        (A holder that re-takes a lock it still holds somewhere gets its token again: re-entrant.)"""
        bad = []
        for gs in self._by_resource(strategy):
            for i, b in enumerate(gs):
                for a in gs[:i]:
                    if a["end"] <= b["start"] and (a["token"] > b["token"] or
                                                   (a["token"] == b["token"] and a["holder"] != b["holder"])):
                        bad.append((a, b))
        return bad


def wait_free(client_fn, timeout: float = 30) -> None:
    wait_until(client_fn, timeout, message="the lock to become free")


def now() -> float:
    return time.monotonic()
