"""The sans-IO core on a virtual clock and a fake network: deterministic from a seed."""
from __future__ import annotations

import pytest

from ekka_agent.sim import SimCluster

# Slower heartbeats keep a full mesh of 200 simulated nodes cheap; the logic is the same.
SIM = {"cluster.probe_interval": "2s", "cluster.failure_timeout": "8s"}


def names(n):
    return ["n%d@10.%d.%d.%d" % (i, i // 65025, (i // 255) % 255, i % 255 + 1) for i in range(n)]


def join_one_by_one(seed, n, loss=0.0, copy=True):
    c = SimCluster(seed=seed, options=SIM, loss=loss, copy=copy)
    ns = names(n)
    c.add(ns[0])
    for i, name in enumerate(ns[1:], 1):
        c.add(name)
        r = c.command(name, "join", node=c.rng.choice(ns[:i]))
        assert r is not None and r.ok, (seed, name, r)
    return c, ns


@pytest.mark.slow
def test_200_nodes_joining_one_by_one_end_with_the_same_members_table():
    seed = 200
    c, ns = join_one_by_one(seed, 200, copy=False)
    ok = c.run_until(lambda: set(c.member_sets().values()) == {tuple(sorted(ns))}, timeout=120, step=1.0)
    assert ok, "seed %d: members tables differ" % seed
    tables = {n: sorted((r["node"], r["version"], r["removed"]) for r in c.nodes[n].membership.records.values())
              for n in ns}
    assert len({tuple(t) for t in tables.values()}) == 1, "seed %d" % seed
    assert all(c.view(n)["stopped_nodes"] == [] for n in ns[:: 20])


def test_same_seed_same_run():
    def fingerprint(seed):
        c, ns = join_one_by_one(seed, 12, loss=0.01)
        c.run(10)
        return [(n, c.nodes[n].membership.cluster_id, tuple(c.nodes[n].membership.members())) for n in ns], c.now
    assert fingerprint(7) == fingerprint(7)


def test_crash_restart_and_partition_in_the_sim():
    c, ns = join_one_by_one(3, 6)
    c.run(5)
    c.crash(ns[5])
    assert c.run_until(lambda: c.view(ns[0])["stopped_nodes"] == [ns[5]], timeout=20)
    c.restart(ns[5])
    assert c.run_until(lambda: all(c.view(n)["stopped_nodes"] == [] for n in ns), timeout=20)
    c.net.partition(ns[:3], ns[3:])
    assert c.run_until(lambda: c.view(ns[0])["running_nodes"] == sorted(ns[:3]), timeout=30)
    c.net.heal()
    assert c.run_until(lambda: all(len(c.view(n)["running_nodes"]) == 6 for n in ns), timeout=30)


def test_sim_options_go_through_the_config_schema():
    from ekka_agent.config import ConfigError
    with pytest.raises(ConfigError) as e:
        SimCluster(options={"cluster.autoheal_dealy": 300})
    assert "cluster.autoheal_dealy: unknown key" in e.value.problems[0]
    assert SimCluster(options=SIM).settings.probe_interval == 2.0


def test_an_action_no_one_carries_out_fails_loudly():
    c = SimCluster(options={"cluster.locks.etcd.server": "http://127.0.0.1:2379"})
    c.add("a@h.x")
    with pytest.raises(TypeError, match="no one carries out the action EtcdLockCall"):
        c.command("a@h.x", "lock_acquire", resource="r", owner="o", strategy="etcd")
