"""The lock core in the simulator: Ekka's locker scenarios, leases, rollback, restarts, and a
seeded random checker with partitions and crashes (virtual time, so it is cheap)."""
from __future__ import annotations


import pytest

from ekka_agent.core import events as ev
from ekka_agent.core.messages import LockRelease
from ekka_agent.core.ring import replica_set, stable_hash, walk

from .helpers import SIM_NAMES, sim_cluster, sim_random_run

NAMES = SIM_NAMES


cluster = sim_cluster


def acq(c, at, res, owner, strategy, lease=5.0):
    return c.command(at, "lock_acquire", resource=res, owner=owner, strategy=strategy, lease=lease)


def entries(c, node):
    return c.nodes[node].components[[x.name for x in c.nodes[node].components].index("locks")].table.entries


def test_ring_hash_is_stable_and_quorum_sets_overlap():
    assert stable_hash("abc") == 0xba7816bf8f01cfea      # SHA-256 prefix: the same in every process
    assert replica_set([], "r") == ([], 0)                # an empty node list
    members = ["m%d" % i for i in range(9)]
    for res in ("a", "b", "c"):
        reps, need = replica_set(members, res)
        assert (len(reps), need) == (5, 3) and reps == walk(members, res)[:5]
    for n in range(1, 8):
        reps, need = replica_set(members[:n], "x")
        assert need == min(3, n // 2 + 1) and 2 * need > len(reps)


@pytest.mark.parametrize("strategy", ["local", "leader", "quorum", "all"])
def test_acquire_release(strategy):
    c = cluster()
    a, b = NAMES[1], NAMES[2] if strategy != "local" else NAMES[1]
    r = acq(c, a, "res", "o1", strategy)
    assert r.ok and r.result["strategy"] == strategy
    assert acq(c, a, "res", "o1", strategy).result["token"] == r.result["token"]   # re-entrant
    no = acq(c, b, "res", "o2", strategy)
    assert (no.ok, no.error) == (False, "locked") and "held by o1" in no.message
    rel = c.command(a, "lock_release", resource="res", owner="o1")
    assert rel.ok and rel.result["released"]
    c.run(0.1)      # the release is answered by the first node that held it; let the rest arrive
    assert c.command(a, "lock_release", resource="res", owner="o1").result["released"] is False
    again = acq(c, b, "res", "o2", strategy)
    assert again.ok and again.result["token"] > r.result["token"]


def test_acquire_fails_with_empty_node_list():
    c = cluster(1)
    core = c.nodes[NAMES[0]]
    locks = [x for x in core.components if x.name == "locks"][0]
    oid = locks._new_op("req-1", "acquire", "r", "o", "quorum", 5.0, c.now, asked=[], need=1)
    locks.start_round(oid, c.now)
    replies = [a for a in core.out if isinstance(a, ev.Reply) and a.req_id == "req-1"]
    assert [(r.ok, r.error) for r in replies] == [(False, "no_nodes")]


@pytest.mark.parametrize("strategy", ["quorum", "all"])
def test_acquire_fails_when_all_nodes_are_down(strategy):
    c = cluster()
    for n in NAMES[1:3]:
        c.crash(n)
    assert c.run_until(lambda: c.view(NAMES[0])["running_nodes"] == [NAMES[0]])
    r = acq(c, NAMES[0], "res", "o", strategy)
    assert (r.ok, r.error) == (False, "no_quorum")
    assert entries(c, NAMES[0]) == {}


def test_acquire_fails_when_a_call_fails_and_rolls_back():
    c = cluster()
    # n3 stops answering before anyone notices it: the call to it times out (or its peer goes
    # down); the reservation n2 made is released again.
    c.net.block(NAMES[0], NAMES[2])
    r = acq(c, NAMES[0], "res", "o", "all")
    assert not r.ok and r.error in ("timeout", "node_down")
    c.run(0.1)
    assert entries(c, NAMES[0]) == {} and entries(c, NAMES[1]) == {}


def test_rollback_keeps_an_earlier_reentrant_hold():
    c = cluster()
    assert acq(c, NAMES[0], "res", "o", "quorum").ok
    c.net.block(NAMES[0], NAMES[1])
    c.net.block(NAMES[0], NAMES[2])
    assert not acq(c, NAMES[0], "res", "o", "all").ok      # a different strategy: refused
    c.net.heal()
    assert "res" in entries(c, NAMES[0])


def test_a_stale_reentrant_hold_gets_a_new_token():
    """X's hold survives only on a voter cut off while X released; Y takes the lock from the two
    others meanwhile. When X takes it again, the stale hold must not hand back X's old token."""
    c = cluster()
    n1, n2, n3 = NAMES[:3]
    x = acq(c, n1, "r", "x", "quorum", lease=30).result["token"]
    c.net.partition([n1, n3], [n2])
    assert c.run_until(lambda: c.view(n1)["running_nodes"] == [n1, n3])
    c.command(n1, "lock_release", resource="r", owner="x")
    c.run(0.1)
    y = acq(c, n3, "r", "y", "quorum").result["token"]
    c.command(n3, "lock_release", resource="r", owner="y")
    c.net.heal()
    assert c.run_until(lambda: all(len(c.view(n)["running_nodes"]) == 3 for n in NAMES[:3]))
    assert "r" in entries(c, n2)                      # x's stale hold
    c.net.block(n1, n3)                               # so the grant is made by n1 and n2
    again = acq(c, n1, "r", "x", "quorum")
    assert y > x and again.result["token"] > y



def test_a_hold_left_by_a_failed_attempt_never_takes_a_token_granted_elsewhere():
    """An attempt fails (its coordinator, just back from a crash, refuses its own vote) after a
    voter stored the token it proposed, and the rollback never reaches that voter. The proposal
    was the coordinator's counter + 1, behind: that number went to another owner while both
    were down. Taking the lock again finds the leftover hold, which must not hand that number out
    a second time."""
    c = cluster(5)
    n1, n2, n3, n4, n5 = NAMES
    assert acq(c, n1, "warm", "w", "quorum", lease=1.0).ok     # every voter now has a lease to wait out
    c.crash(n1)
    c.crash(n3)
    assert c.run_until(lambda: sorted(c.view(n2)["running_nodes"]) == sorted([n2, n4, n5]))
    first = acq(c, n2, "r", "c1", "quorum", lease=1.0)
    assert first.ok and first.result["nodes"] and n3 not in first.result["nodes"]
    assert c.command(n2, "lock_release", resource="r", owner="c1").ok
    c.restart(n3)
    c.run(3.0)                                   # past n3's wait after its crash
    c.crash(n2)
    c.crash(n4)
    dropped = []
    deliver = c._deliver

    def lose_rollbacks_to_n3(src, dst, msg):
        if dst == n3 and isinstance(msg, LockRelease) and msg.only_op:
            dropped.append(msg)
            return
        deliver(src, dst, msg)
    c._deliver = lose_rollbacks_to_n3
    c.restart(n1)                                # refuses its own vote for a second
    assert c.run_until(lambda: sorted(c.view(n1)["running_nodes"]) == sorted([n1, n3, n5]))
    failed = acq(c, n1, "r", "c0", "quorum", lease=5.0)
    assert not failed.ok and failed.error == "recovering", failed
    c.run(0.2)
    assert dropped and entries(c, n3)["r"]["owner"] == "c0"     # the leftover hold
    c._deliver = deliver
    c.run(1.5)                                   # n1 votes again
    again = acq(c, n1, "r", "c0", "quorum", lease=5.0)
    assert again.ok, again
    assert again.result["token"] > first.result["token"]

def test_lease_expires_and_renew_extends():
    c = cluster()
    assert acq(c, NAMES[0], "res", "o1", "quorum", lease=2).ok
    c.run(1.5)
    assert c.command(NAMES[0], "lock_renew", resource="res", owner="o1", strategy="quorum", lease=2).ok
    c.run(1.5)
    assert acq(c, NAMES[1], "res", "o2", "quorum").error == "locked"
    c.run(0.6)
    assert acq(c, NAMES[1], "res", "o2", "quorum").ok
    r = c.command(NAMES[0], "lock_renew", resource="res", owner="o1", strategy="quorum", lease=2)
    assert (r.ok, r.error) == (False, "lost")


def test_node_down_frees_leader_locks_at_once_and_quorum_locks_at_lease_end():
    c = cluster()
    assert acq(c, NAMES[2], "l", "o", "leader", lease=30).ok
    assert acq(c, NAMES[2], "q", "o", "quorum", lease=10).ok
    t0 = c.now
    c.crash(NAMES[2])
    assert c.run_until(lambda: acq(c, NAMES[1], "l", "p", "leader").ok, timeout=10)
    assert c.now - t0 < 10
    assert c.run_until(lambda: acq(c, NAMES[1], "q", "p", "quorum").ok, timeout=20)
    assert c.now - t0 >= 10


def test_tokens_survive_restarts_and_a_crashed_voter_waits_out_its_leases():
    c = cluster()
    last = 0
    for i in range(3):
        r = acq(c, NAMES[i], "res", "o%d" % i, "quorum", lease=4)
        assert r.result["token"] > last
        last = r.result["token"]
        c.command(NAMES[i], "lock_release", resource="res", owner="o%d" % i)
        c.run(0.1)
    assert acq(c, NAMES[0], "held", "o", "quorum", lease=4).ok
    for n in NAMES[:3]:
        c.crash(n)
    t0 = c.now
    for n in NAMES[:3]:
        c.restart(n)
    assert c.run_until(lambda: all(len(c.view(n)["running_nodes"]) == 3 for n in NAMES[:3]))
    # kill -9 lost the grants made since the last save: no vote until the longest lease is over.
    assert acq(c, NAMES[0], "res", "x", "quorum").error == "recovering"
    assert c.run_until(lambda: acq(c, NAMES[0], "res", "x", "quorum").ok, timeout=10)
    assert c.now - t0 >= 4
    assert c.command(NAMES[0], "lock_list").result["locks"][0]["token"] > last


def test_a_clean_stop_keeps_the_grants():
    c = cluster()
    g = acq(c, NAMES[1], "res", "o", "all", lease=30)
    for n in NAMES[:3]:
        c._feed(n, ev.Stop())
        c.crash(n)
    for n in NAMES[:3]:
        c.restart(n)
    assert c.run_until(lambda: all(len(c.view(n)["running_nodes"]) == 3 for n in NAMES[:3]))
    assert acq(c, NAMES[2], "res", "p", "all").error == "locked"
    assert acq(c, NAMES[1], "res", "o", "all").result["token"] == g.result["token"]



def test_a_stopping_node_votes_no_more_and_restarts_as_stopped_cleanly():
    # Votes that reached a node after its clean stop's state was written turned that state into
    # a crash's: after a plain restart it refused every lock for its longest lease (found with a
    # drained node, which votes on quorum locks, stopped while clients kept taking them).
    c = cluster()
    n1, n2, n3 = NAMES[:3]
    assert acq(c, n2, "warm", "w", "quorum", lease=30).ok      # n1 has a lease to wait out after a crash
    c._feed(n1, ev.Stop())
    c.net.block(n2, n3)                                          # so n2 needs n1's vote
    r = acq(c, n2, "res", "o", "quorum")
    assert (r.ok, r.error) == (False, "recovering") and "stopping" in r.message, r
    c.net.heal()
    c.crash(n1)                                                  # the process exits
    c.restart(n1)
    assert c.run_until(lambda: len(c.view(n1)["running_nodes"]) == 3)
    assert not [t for _, node, _, t in c.logs if node == n1 and "did not stop cleanly" in t]
    assert acq(c, n1, "res", "o", "quorum").ok

def test_a_minority_side_cannot_grant():
    c = cluster(5)
    c.net.partition(NAMES[:2], NAMES[2:])
    assert c.run_until(lambda: len(c.view(NAMES[0])["running_nodes"]) == 2
                       and len(c.view(NAMES[4])["running_nodes"]) == 3)
    for strategy in ("quorum", "all"):
        assert not acq(c, NAMES[0], "res-" + strategy, "minority", strategy).ok
    assert acq(c, NAMES[4], "res-quorum", "majority", "quorum").ok
    assert not acq(c, NAMES[4], "res-all", "majority", "all").ok   # all needs every member


@pytest.mark.parametrize("seed", [1, 2, 3, 107])
def test_random_faults_never_give_two_holders(seed):
    # Clients on 5 nodes take, renew and release 4 locks for 2 virtual minutes while nodes crash
    # and restart and the network splits. Seed 107 once handed a token out twice (a hold left by
    # a failed attempt: test_a_hold_left_by_a_failed_attempt_never_takes_a_token_granted_elsewhere).
    # bench/bench_fault_soak.py runs this checker over many more seeds.
    h = sim_random_run(seed)
    # Only that the run did grant locks: how many varies with the seed (about 40 to 100).
    assert len(h.grants) > 30
    for strategy in ("quorum", "all"):
        assert h.overlaps(strategy) == []
        assert h.token_regressions(strategy) == []


def test_the_checker_catches_ekkas_rule(monkeypatch):
    """Ekka's rule (a quorum of the *up* members, unreachable ones ignored) gives two holders."""
    from ekka_agent.core.lock_coordinator import LockCoordinator
    from ekka_agent.core.lock_voter import LockVoter
    from ekka_agent.core.ring import replica_set as rs

    def ekka_voters(self, strategy, res):
        up = self.ctx.members.running()
        if strategy == "all":
            return up, len(up), None
        reps, need = rs(up, res)
        return reps[:need], need, None
    monkeypatch.setattr(LockCoordinator, "voters", ekka_voters)
    monkeypatch.setattr(LockVoter, "members_view", lambda self: 0)
    h = sim_random_run(1)
    assert h.overlaps("quorum") and h.overlaps("all")
