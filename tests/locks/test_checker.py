"""The checker: many concurrent clients on 3 real agents in network namespaces, with kill -9,
an isolated node and a split injected (each phase lasts until the clients made a number of
grants under it). Every grant is recorded with the time its holder may
trust it (from before it asked, plus the lease the agent answered, moved on by renewals that
began while it was trusted, cut at release), as docs/locks.md promises. No two
holders may ever trust overlapping times for quorum, all and etcd, and tokens only grow."""
from __future__ import annotations

import json
import random
import threading
import time

from ekka_agent.client import AgentUnreachable, LockClient, LockError, NotAcquired
from harness.wait import wait_until

from .helpers import History, form

STRATEGIES = ("quorum", "all", "etcd")
LEASE = 1.5


def client_loop(h: History, node, owner: str, strategy: str, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    c = LockClient(node.data_dir / "ekka.sock", owner=owner, timeout=5)
    kept: dict = {}     # res -> this client's earlier grants of it still trusted (a renew failed)
    while not stop.is_set():
        res = "%s-%d" % (strategy, rng.randint(0, 1))
        try:
            g = c.acquire(res, strategy, lease=LEASE, wait=0.3)
        except (NotAcquired, AgentUnreachable, OSError, ValueError):
            time.sleep(rng.uniform(0.01, 0.1))
            continue
        rec = h.add(resource=res, strategy=strategy, holder=owner, token=g["token"],
                    start=g["acquired_at"], end=g["valid_until"])
        try:
            time.sleep(rng.uniform(0, 0.3))
            if rng.random() < 0.5:
                t0 = time.monotonic()
                r = c.renew(res, strategy, lease=LEASE)
                if t0 < rec["end"]:
                    rec["end"] = max(rec["end"], r["valid_until"])
                time.sleep(rng.uniform(0, 0.3))
            now = time.monotonic()
            # A release frees every hold this owner has of res, also one a failed renew left
            # trusted until its lease end (the next acquire of it was re-entrant): trust ends here.
            for held in kept.pop(res, []) + [rec]:
                held["end"] = min(held["end"], now)
            c.release(res, strategy)
        except (LockError, AgentUnreachable, OSError, ValueError):
            # Lost, or the agent died: the grant stays trusted until its lease ends.
            kept.setdefault(res, []).append(rec)


def test_no_two_holders_under_kills_and_partitions(procs, netns, agents, etcd_factory):
    net = netns(3)
    etcd = etcd_factory(host=net.controller.ip, netns=net.controller.ns)
    extra = ("cluster.locks.etcd.server = %s\ncluster.locks.request_timeout = 1s\n" % json.dumps(etcd.url))
    nodes = form(agents, 3, extra=extra, hosts=net.hosts)
    h, stop, threads = History(), threading.Event(), []
    for s_i, strategy in enumerate(STRATEGIES):
        for i in range(4):
            t = threading.Thread(target=client_loop, daemon=True,
                                 args=(h, nodes[i % 3], "%s-c%d" % (strategy, i), strategy, stop, 10 * s_i + i))
            t.start()
            threads.append(t)
    n1, n2, n3 = nodes
    try:
        def grants(k: int) -> None:
            # Each phase lasts until the clients made k more grants under it.
            want = len(h.grants) + k
            wait_until(lambda: len(h.grants) >= want, 60, message="%d more grants" % k)

        def sees_down(node, other) -> None:
            wait_until(lambda: other.name in node.status()["stopped_nodes"], 20,
                       message="%s to see %s down" % (node.name, other.name))

        grants(20)
        n3.kill()                                   # kill -9 while it holds and votes
        sees_down(n1, n3)
        grants(30)
        n3.start()
        agents.wait_running(nodes, nodes)
        grants(15)
        net.isolate(net.hosts[0])                   # n1 cut off from everyone, etcd included
        sees_down(n2, n1)
        grants(30)
        net.heal()
        agents.wait_running(nodes, nodes)
        grants(15)
        net.partition(net.hosts[:2], [net.hosts[2], net.controller])   # n3 keeps etcd
        sees_down(n1, n3)
        grants(30)
        net.heal()
        agents.wait_running(nodes, nodes)
        grants(20)
    finally:
        stop.set()
        for t in threads:
            t.join(15)
    h.assert_safe(STRATEGIES, 5)
    wait_until(lambda: all(not x.is_alive() for x in threads), 10, message="clients to stop")
