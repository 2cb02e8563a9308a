"""Shared by the lock tests: form a real cluster, and record grants for the checker."""
from __future__ import annotations

import random
import threading
import time

from harness.wait import wait_until
from sim.faults import random_fault

SIM_NAMES = ["n%d@127.0.0.1" % i for i in range(1, 6)]


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

    def assert_safe(self, strategies, at_least: int) -> None:
        """Enough grants of each strategy, no two holders at once, tokens only growing."""
        counts = {s: sum(1 for g in self.grants if g["strategy"] == s) for s in strategies}
        print("grants per strategy:", counts)
        # The agents' logs are in wall-clock time, the grants in time.monotonic().
        print("wall clock = monotonic + %.3f s" % (time.time() - time.monotonic()))
        for s in strategies:
            assert counts[s] >= at_least, counts
            assert self.overlaps(s) == [], (s, self.overlaps(s)[:3])
            assert self.token_regressions(s) == [], (s, self.token_regressions(s)[:3])

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


def sim_client_step(c, rng, node: str, who: str, strategy: str, held: dict, grants: list, lease: float) -> None:
    """One step of a simulated client `who` at `node`: acquire, renew or release, recording each
    grant's trusted time in `grants` (what History checks)."""
    res = "%s-%d" % (strategy, rng.randint(0, 1))
    g = held.get(who)
    t0 = c.now
    if g is None:
        r = c.command(node, "lock_acquire", resource=res, owner=who, strategy=strategy, lease=lease)
        if r and r.ok:
            held[who] = g = dict(resource=res, strategy=strategy, holder=who, token=r.result["token"],
                                 start=c.now, end=t0 + lease)
            grants.append(g)
    elif rng.random() < 0.5:
        r = c.command(node, "lock_renew", resource=g["resource"], owner=who, strategy=g["strategy"], lease=lease)
        if r and r.ok and c.now < g["end"]:
            g["end"] = t0 + lease
        else:
            held.pop(who)
    else:
        # A release frees the lock, re-entrant holds and all: an earlier grant of the same
        # resource this client still counted on (its renew failed, it took the lock again) ends too.
        for x in grants:
            if (x["holder"], x["resource"], x["strategy"]) == (who, g["resource"], g["strategy"]):
                x["end"] = min(x["end"], c.now)
        held.pop(who)
        c.command(node, "lock_release", resource=g["resource"], owner=who, strategy=g["strategy"])
    c.run(rng.uniform(0.01, 0.2))


def sim_names(n: int) -> list:
    return SIM_NAMES[:n] if n <= len(SIM_NAMES) else ["n%d@127.0.0.1" % i for i in range(1, n + 1)]


def sim_cluster(n=3, seed=1, **kw):
    """n nodes of the simulator joined into one cluster (n1 is the oldest: the leader)."""
    from ekka_agent.sim.cluster import SimCluster
    c = SimCluster(seed=seed, **kw)
    names = sim_names(n)
    for name in names:
        c.add(name)
    for name in names[1:]:
        assert c.command(name, "join", node=names[0]).ok
    assert c.run_until(lambda: all(len(c.view(x)["running_nodes"]) == n for x in names))
    return c


def sim_random_run(seed: int, n: int = 5, seconds: float = 120.0, faults: bool = True, drains: bool = False,
                   strategies=("quorum", "all"), first: int = 6) -> History:
    """2n clients spread over n simulated nodes take, renew and release two locks each of
    `strategies` for `seconds` of virtual time: clients c0 .. c<first-1> use the first strategy,
    the others the second. With `faults`, nodes crash and restart and the network splits and
    heals; with `drains`, nodes drain and are revived. Returns the History of every grant's
    trusted time, for the checker (overlaps, token_regressions), and how many drains it made."""
    names = sim_names(n)
    c = sim_cluster(n, seed=seed)
    rng = random.Random(seed)
    grants, held, drained = [], {}, 0
    clients = [(names[i % n], "c%d" % i) for i in range(2 * n)]
    # Chances per client step: drain or revive; then crash or restart, split, heal.
    drain_p = 0.03 if drains else 0.0
    crash_p, split_p, heal_p = (0.015, 0.01, 0.015) if drains else (0.03, 0.02, 0.03)
    if not faults:
        crash_p = split_p = heal_p = 0.0
    end = c.now + seconds
    while c.now < end:
        roll = rng.random()
        if roll < drain_p:
            node = rng.choice(names)
            if node in c.alive:
                cmd = "revive" if c.view(node)["drain"] != "up" else "drain"
                drained += cmd == "drain"
                c.command(node, cmd)
        else:
            random_fault(c, rng, names, roll - drain_p, crash_p, split_p, heal_p)
        node, who = rng.choice(clients)
        if node not in c.alive:
            held.pop(who, None)
            c.run(0.05)
            continue
        strategy = strategies[0] if int(who[1:]) < first else strategies[1]
        sim_client_step(c, rng, node, who, strategy, held, grants, lease=1.0)
    h = History()
    h.grants = grants
    h.drains = drained
    return h
