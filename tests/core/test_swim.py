"""The failure detector on its own: unit tests of its rules, property tests of its codec and
state, and small deterministic clusters on the in-memory loop (swim_loop.py)."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st

from ekka_agent.core import swim_msgs as m
from ekka_agent.core.lifeguard import Awareness, Suspicion, suspicion_bounds
from ekka_agent.core.piggyback import Broadcasts
from ekka_agent.core.swim import Detector
from ekka_agent.core.swim_events import (ConnectionReset, Contact, Down, Indirect, Leave, MemberAdded, MemberRemoved,
                                         Received, SendTo, Suspected, SwimSettings, Timer, Up)
from ekka_agent.core.swim_msgs import ALIVE, DEAD, SUSPECT, Update

from .swim_loop import SwimNet


def sends(actions, cls=None):
    return [a for a in actions if isinstance(a, SendTo) and (cls is None or isinstance(a.msg, cls))]


def detector(members=("b", "c", "d"), **kw):
    d = Detector("a", SwimSettings(**kw))
    d.handle(MemberAdded(tuple(members)), 0.0)
    return d


# ---------------------------------------------------------------- probing, one node

def test_one_probe_per_period_round_robin_over_every_member():
    d = detector(members=[f"p{i}" for i in range(7)])
    targets = []
    t = d.next_deadline()
    for _ in range(14):
        out = d.handle(Timer(), t)
        pings = sends(out, m.Ping)
        assert len(pings) == 1
        targets.append(pings[0].peer)
        d.handle(Received(pings[0].peer, m.Ack(pings[0].msg.seq)), t + 0.01)
        t += 0.5
    assert sorted(targets[:7]) == sorted(targets[7:]) == [f"p{i}" for i in range(7)]


def test_no_ack_asks_k_others_then_suspects_then_declares_dead():
    d = detector(members=[f"p{i}" for i in range(5)])
    t = d.next_deadline()
    ping = sends(d.handle(Timer(), t), m.Ping)[0]
    target = ping.peer
    out = d.handle(Timer(), d.next_deadline())
    reqs = sends(out, m.PingReq)
    assert len(reqs) == 3 and all(r.msg.target == target and r.peer != target for r in reqs)
    t += 0.5
    out = d.handle(Timer(), t)
    assert Suspected(target, "a") in out
    assert d.status(target) == SUSPECT and d.is_up(target)
    t_sus = t
    while d.status(target) == SUSPECT:
        t = d.next_deadline()
        out = d.handle(Timer(), t)
        for p in sends(out, m.Ping):     # everyone else answers
            if p.peer != target:
                d.handle(Received(p.peer, m.Ack(p.msg.seq)), t)
    assert not d.is_up(target)
    lo, hi = suspicion_bounds(6, 0.5, 1.0, 3.0)
    assert t - t_sus <= hi + 1e-9


def test_indirect_ack_is_forwarded_to_the_requester():
    d = detector()
    out = d.handle(Received("b", m.PingReq(seq=42, target="c")), 0.0)
    ping = sends(out, m.Ping)[0]
    assert ping.peer == "c"
    out = d.handle(Received("c", m.Ack(ping.msg.seq)), 0.01)
    fwd = sends(out, m.Ack)
    assert [(a.peer, a.msg.seq) for a in fwd] == [("b", 42)]


def test_relay_without_answer_sends_a_nack():
    d = detector()
    d.handle(Received("b", m.PingReq(seq=7, target="c")), 0.0)
    out = d.handle(Timer(), 0.2)
    assert [(a.peer, a.msg.seq) for a in sends(out, m.Nack)] == [("b", 7)]


def test_connection_reset_is_down_at_once():
    d = detector()
    out = d.handle(ConnectionReset("c", "connection reset by peer"), 1.0)
    assert Down("c", "connection reset by peer") in out
    assert not d.is_up("c")


def test_suspicion_about_me_is_refuted_with_a_higher_incarnation():
    d = detector()
    out = d.handle(Received("b", m.Gossip((Update(SUSPECT, "a", 0, "c"),))), 1.0)
    assert d.inc == 1
    direct = {a.peer for a in sends(out) if Update(ALIVE, "a", 1, "a") in a.msg.updates}
    assert direct >= {"b", "c"}


def test_alive_with_higher_incarnation_clears_suspicion_and_brings_dead_back():
    d = detector()
    d.handle(Received("b", m.Gossip((Update(SUSPECT, "c", 0, "b"),))), 0.0)
    assert d.status("c") == SUSPECT
    d.handle(Received("b", m.Gossip((Update(ALIVE, "c", 0, "c"),))), 0.1)
    assert d.status("c") == SUSPECT, "the same incarnation does not refute"
    d.handle(Received("b", m.Gossip((Update(ALIVE, "c", 1, "c"),))), 0.2)
    assert d.status("c") == ALIVE and "c" not in d.suspicions
    d.handle(Received("b", m.Gossip((Update(DEAD, "c", 1, "b"),))), 0.3)
    assert not d.is_up("c")
    out = d.handle(Received("b", m.Gossip((Update(ALIVE, "c", 2, "c"),))), 0.4)
    assert Up("c") in out


def test_a_member_added_mid_round_is_probed_in_that_round():
    d = detector(members=[f"p{i}" for i in range(7)])
    t, targets = d.next_deadline(), []
    for k in range(8):
        if k == 3:
            d.handle(MemberAdded(("p7",)), t - 0.1)
        (ping,) = sends(d.handle(Timer(), t), m.Ping)
        targets.append(ping.peer)
        d.handle(Received(ping.peer, m.Ack(ping.msg.seq)), t + 0.01)
        t += 0.5
    assert sorted(targets) == [f"p{i}" for i in range(8)]


def test_a_member_held_dead_that_talks_to_us_is_told():
    d = detector()
    d.handle(ConnectionReset("c"), 0.0)
    out = d.handle(Received("c", m.Ping(5, "a")), 1.0)
    told = [a for a in sends(out) if a.peer == "c" and any(u.node == "c" and u.status == DEAD
                                                          for u in a.msg.updates)]
    assert told


def test_contact_from_a_member_held_dead_tells_it_so_it_refutes():
    d = detector()
    d.handle(ConnectionReset("c"), 0.0)
    d.handle(Timer(), 2.0)
    (told,) = sends(d.handle(Contact("c"), 2.0))
    assert told.peer == "c" and told.msg.updates[0] == Update(DEAD, "c", 0, "a")
    c = Detector("c")
    c.handle(MemberAdded(("a", "b", "d")), 2.0)
    back = c.handle(Received("a", told.msg), 2.01)
    refute = [a for a in sends(back) if a.peer == "a"][0]
    assert Up("c") in d.handle(Received("c", refute.msg), 2.02)


def test_a_new_connection_to_a_suspect_member_tells_it_again_at_once():
    """The tell sent when the suspicion arrived had no connection to go by (dropped); waiting out
    the once-per-period limit let the suspicion time out before the refutation came back."""
    def tells(out):     # ours, to c: what it must refute (gossip may carry b's news too)
        return [a for a in sends(out) if a.peer == "c" and Update(SUSPECT, "c", 0, "a") in a.msg.updates]
    d = detector(probe_interval=1.0)
    assert tells(d.handle(Received("b", m.Gossip((Update(SUSPECT, "c", 0, "b"),))), 0.1))  # lost: no connection
    assert tells(d.handle(Contact("c"), 0.3))
    assert not tells(d.handle(Received("c", m.Ack(99)), 0.4))    # then once per period again


def test_a_member_held_dead_is_no_witness_against_others():
    d = detector()
    d.handle(ConnectionReset("c"), 0.0)
    d.handle(Received("c", m.Gossip((Update(DEAD, "b", 0, "c"), Update(SUSPECT, "d", 0, "c")))), 1.0)
    assert d.status("b") == ALIVE and d.status("d") == ALIVE
    d.handle(Received("c", m.Gossip((Update(ALIVE, "c", 1, "c"),))), 1.1)   # it refutes, is back
    d.handle(Received("c", m.Gossip((Update(SUSPECT, "d", 0, "c"),))), 1.2)
    assert d.status("d") == SUSPECT


def test_a_member_just_back_repeats_old_deaths_as_accusations_only():
    """c was cut off and declared b dead on its side; back with us, it keeps gossiping that for
    a while. We talked to b all along: b becomes suspect (and refutes), never down."""
    d = detector()
    d.handle(ConnectionReset("c"), 0.0)
    d.handle(Received("c", m.Gossip((Update(ALIVE, "c", 1, "c"),))), 5.0)    # c refutes, is back
    out = d.handle(Received("c", m.Gossip((Update(DEAD, "b", 0, "c"),))), 5.1)
    assert d.status("b") == SUSPECT and not [a for a in out if isinstance(a, Down)]
    assert [a for a in sends(out) if a.peer == "b"], "b is told, so it refutes"
    # Long after its return, c is a witness like any other: its deaths are deaths.
    d.handle(Received("b", m.Gossip((Update(ALIVE, "b", 1, "b"),))), 5.2)
    out = d.handle(Received("c", m.Gossip((Update(DEAD, "d", 0, "c"),))), 60.0)
    assert Down("d", "declared down by c") in out
    # A goodbye is taken at once, back or not.
    d.handle(ConnectionReset("b"), 61.0)
    d.handle(Received("b", m.Gossip((Update(ALIVE, "b", 2, "b"),))), 62.0)
    out = d.handle(Received("b", m.Gossip((Update(DEAD, "b", 2, "b"),))), 62.1)
    assert not d.is_up("b")


def test_leave_says_goodbye_to_everyone_and_they_take_it_at_once():
    d = detector()
    out = d.handle(Leave(), 0.0)
    assert sorted(a.peer for a in sends(out, m.Gossip)) == ["b", "c", "d"]
    other = Detector("b")
    other.handle(MemberAdded(("a", "c", "d")), 0.0)
    got = other.handle(Received("a", sends(out)[0].msg), 0.01)
    assert Down("a", "stopped (said goodbye)") in got


def test_removed_member_is_forgotten():
    d = detector()
    d.handle(ConnectionReset("c"), 0.0)
    d.handle(MemberRemoved("c"), 0.1)
    assert d.status("c") is None and "c" not in d.order


def test_a_pause_blames_nobody():
    d = detector()
    ping = sends(d.handle(Timer(), d.next_deadline()), m.Ping)[0]
    out = d.handle(Timer(), 30.0)       # woken 30 s late: SIGSTOP
    assert not any(isinstance(a, Suspected) for a in out)
    assert d.is_up(ping.peer) and d.status(ping.peer) == ALIVE


def test_woken_late_an_ack_already_waiting_is_read_before_the_probe_is_judged():
    # The node starved of CPU for 0.8 s (less than a pause): its probe's period has ended
    # and the target's ack sat in the socket. Read first, it is a good probe, not a suspicion.
    d = detector()
    t = d.next_deadline()
    ping = sends(d.handle(Timer(), t), m.Ping)[0]
    out = d.handle(Received(ping.peer, m.Ack(ping.msg.seq)), t + 0.8)
    assert not any(isinstance(a, Suspected) for a in out)
    assert d.status(ping.peer) == ALIVE and d.aw.score == 0


def test_woken_late_a_refutation_already_waiting_saves_the_suspect():
    d = detector()
    d.handle(Received("c", m.Gossip(updates=(Update(SUSPECT, "b", 0, "c"),))), 0.0)
    assert d.status("b") == SUSPECT
    end = d.suspicions["b"].deadline
    while d.next_deadline() < end:      # on time until the suspicion's last timer
        t = d.next_deadline()
        for p in sends(d.handle(Timer(), t), m.Ping):
            d.handle(Received(p.peer, m.Ack(p.msg.seq)), t)
    assert d.status("b") == SUSPECT and d.suspicions["b"].deadline == end
    out = d.handle(Received("b", m.Gossip(updates=(Update(ALIVE, "b", 1, "b"),))), end + 0.5)
    assert not any(isinstance(a, Down) for a in out)
    assert d.status("b") == ALIVE


def test_on_time_a_timer_due_with_the_message_still_fires():
    # Read first, a message changes nothing else: the probe of another member still fails.
    d = detector()
    t = d.next_deadline()
    ping = sends(d.handle(Timer(), t), m.Ping)[0]
    other = next(p for p in ("b", "c", "d") if p != ping.peer)
    d.handle(Timer(), d.next_deadline())            # asks others
    out = d.handle(Received(other, m.Gossip(updates=())), t + 0.5)
    assert Suspected(ping.peer, "a") in out


# ---------------------------------------------------------------- Lifeguard and piggyback rules

def test_suspicion_timeout_shrinks_with_confirmations():
    lo, hi = 1.0, 3.0
    s = Suspicion("x", 3, lo, hi, 0.0)
    seen = [s.deadline]
    for by in ("y", "z", "w"):
        assert s.confirm(by)
        seen.append(s.deadline)
    assert seen[0] == hi and seen[-1] == lo and seen == sorted(seen, reverse=True)
    assert not s.confirm("y") and not s.confirm("v")   # repeats and extras change nothing


def test_awareness_scales_timeouts_within_bounds():
    a = Awareness(8)
    a.apply(-3)
    assert a.scale(0.5) == 0.5
    a.apply(100)
    assert a.scale(0.5) == 0.5 * 8


def test_each_update_is_sent_a_bounded_number_of_times():
    b = Broadcasts(4)
    b.add(Update(DEAD, "x", 3, "y"))
    n = 100
    count = 0
    while b.take(8, n):
        count += 1
    assert count == 4 * math.ceil(math.log10(n + 1))


def test_newer_update_replaces_older_about_the_same_node():
    b = Broadcasts(4)
    b.add(Update(SUSPECT, "x", 3, "y"))
    b.add(Update(ALIVE, "x", 4, "x"))
    assert b.take(8, 10) == (Update(ALIVE, "x", 4, "x"),)


# ---------------------------------------------------------------- property tests

names = st.sampled_from(["a", "b", "c", "d", "e"])
updates = st.builds(Update, st.sampled_from(m.STATUSES), names, st.integers(0, 5), names)
messages = st.one_of(
    st.builds(m.Ping, st.integers(0, 10**9), names, st.lists(updates, max_size=4).map(tuple)),
    st.builds(m.Ack, st.integers(0, 10**9), st.lists(updates, max_size=4).map(tuple)),
    st.builds(m.PingReq, st.integers(0, 10**9), names, st.lists(updates, max_size=4).map(tuple)),
    st.builds(m.Nack, st.integers(0, 10**9), st.lists(updates, max_size=4).map(tuple)),
    st.builds(m.Gossip, st.lists(updates, max_size=4).map(tuple)),
    st.builds(m.Sync, st.lists(updates, max_size=6).map(tuple), st.booleans(),
              st.lists(updates, max_size=4).map(tuple)),
)


class QueueModel:
    """The piggyback rules written the slow, obvious way: a list sorted on every take."""

    def __init__(self, mult: int):
        self.mult, self.entries, self.stamp = mult, {}, 0   # node -> [times sent, entered at, update]

    def add(self, u):
        self.stamp += 1
        self.entries[u.node] = [0, self.stamp, u]

    def drop(self, node):
        self.entries.pop(node, None)

    def take(self, count, n, first=None):
        limit = self.mult * max(1, math.ceil(math.log10(n + 1)))
        skip = first.node if first is not None else None
        order = sorted((e[0], -e[1], node) for node, e in self.entries.items() if node != skip)
        picked = order[:max(0, count - (first is not None))]
        out = [first] if first is not None else []
        for _, _, node in picked:
            e = self.entries[node]
            out.append(e[2])
            if e[0] + 1 >= limit:
                del self.entries[node]
            else:
                self.stamp += 1
                e[0], e[1] = e[0] + 1, self.stamp
        return tuple(out)


queue_ops = st.lists(st.one_of(
    st.tuples(st.just("add"), updates),
    # A burst of news faster than it is sent: enough replaced records to make the queue compact.
    st.tuples(st.just("burst"), st.lists(updates, min_size=70, max_size=100)),
    st.tuples(st.just("drop"), names),
    st.tuples(st.just("take"), st.integers(1, 6), st.sampled_from([3, 10, 100, 5000]), st.one_of(st.none(), updates)),
), max_size=80)


@given(queue_ops)
@settings(max_examples=300, deadline=None)
def test_piggyback_queue_takes_what_the_rules_say(ops):
    # Least sent first, newest first among equals, `first` leads and is not taken twice, a newer
    # update replaces the older, each sent at most limit(n) times: the fast queue agrees with
    # the model on every take, replaced records and compaction included.
    fast, model = Broadcasts(2), QueueModel(2)
    for op in ops:
        if op[0] == "take":
            assert fast.take(*op[1:]) == model.take(*op[1:]), op
        elif op[0] == "burst":
            for u in op[1]:
                fast.add(u)
                model.add(u)
        else:
            getattr(fast, op[0])(op[1])
            getattr(model, op[0])(op[1])
        assert len(fast) == len(model.entries)


@given(messages)
def test_codec_round_trip(msg):
    assert m.decode(m.encode(msg)) == msg


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                           lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c, max_size=4),
                           max_leaves=12)


@given(messages, st.sampled_from(["t", "v", "seq", "target", "updates", "table", "reply"]) | st.text(max_size=8),
       json_values)
def test_codec_mutated_frames_decode_or_fail_clearly(msg, key, value):
    d = m.encode(msg)
    d[key] = value
    try:
        got = m.decode(d)
    except m.SwimDecodeError as e:
        assert str(e)
    else:
        assert m.decode(m.encode(got)) == got


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["b", "c", "d"]), messages, st.floats(0, 2)), max_size=40))
def test_any_message_sequence_keeps_the_state_consistent(steps):
    """Whatever arrives, in whatever order: incarnations never go down, only suspects have a
    suspicion, up means not dead, and the detector always asks for a next deadline."""
    d = detector()
    now, last_inc = 0.0, {}
    for peer, msg, dt in steps:
        now += dt
        d.handle(Received(peer, msg), now)
        d.handle(Timer(), now)
        for n, mem in d.members.items():
            assert mem.inc >= last_inc.get(n, 0)
            last_inc[n] = mem.inc
            assert (n in d.suspicions) == (mem.status == SUSPECT)
            assert d.is_up(n) == (mem.status != DEAD)
        assert d.next_deadline() is not None and d.inc >= 0


# ---------------------------------------------------------------- small clusters, in memory

def settle(net, t=3.0):
    net.start()
    net.run_until(t)
    assert not net.downs(), net.downs()


def test_a_cut_link_is_reported_by_its_ends_only_and_nobody_goes_down():
    net = SwimNet(6, seed=4)
    settle(net)
    a, b = net.names[1], net.names[2]
    net.cut |= {(a, b), (b, a)}
    t0 = net.now
    net.run_until(t0 + 30.0)
    said = {(o, x.node) for t, o, x in net.log if t >= t0 and isinstance(x, Indirect)}
    assert said == {(a, b), (b, a)}, said          # both ends, about each other, nobody else
    assert net.downs(t0) == []                     # alive for everyone: the others reach both
    assert net.all_see(a, True) and net.all_see(b, True)


def test_a_new_link_restarts_the_count_of_probes_answered_only_through_others():
    def probe_answered_by_a_relay(contact: bool):
        d = detector()
        t = d.next_deadline()
        ping = sends(d.handle(Timer(), t), m.Ping)[0]
        d.indirect_only[ping.peer] = 1                      # the probe before also went round
        if contact:
            d.handle(Contact(ping.peer), t + 0.01)          # the cut link is back: a fresh one
        reqs = sends(d.handle(Timer(), d.next_deadline()), m.PingReq)
        d.handle(Received(reqs[0].peer, m.Ack(reqs[0].msg.seq)), d.next_deadline() - 0.01)
        return ping.peer, d.handle(Timer(), d.next_deadline())

    target, out = probe_answered_by_a_relay(contact=False)
    assert Indirect(target) in out                          # two in a row over a cut link
    target, out = probe_answered_by_a_relay(contact=True)
    assert Indirect(target) not in out                      # one since the fresh link


def test_idle_cluster_with_loss_has_no_false_downs():
    net = SwimNet(8, seed=1)
    net.loss = 0.05
    settle(net)
    net.run_until(120.0)
    assert net.downs() == []


def test_silent_crash_is_seen_by_every_member_and_its_restart_is_too():
    net = SwimNet(10, seed=2)
    settle(net)
    net.crash("n0003")
    t0 = net.now
    net.run_until_true(lambda: net.all_see("n0003", up=False), t0 + 30)
    assert {a.node for _, _, a in net.downs(t0)} == {"n0003"}, "nobody else went down"
    print("silent crash: all see it down after %.2f s (virtual)" % (net.now - t0))


def test_crash_with_connection_reset_is_down_at_once_then_spread():
    net = SwimNet(10, seed=3)
    settle(net)
    net.crash("n0005", reset=True)
    t0 = net.now
    net.run_until_true(lambda: net.all_see("n0005", up=False), t0 + 10)
    reasons = {a.reason for _, _, a in net.downs(t0)}
    assert "connection reset" in reasons


def test_paused_node_goes_down_and_is_up_again_as_soon_as_it_resumes():
    net = SwimNet(10, seed=4)
    settle(net)
    net.pause("n0007")
    t0 = net.now
    net.run_until_true(lambda: net.all_see("n0007", up=False), t0 + 30)
    net.run_until(net.now + 5)
    net.resume("n0007")
    t1 = net.now
    net.run_until_true(lambda: net.all_see("n0007", up=True), t1 + 5, step=0.01)
    # and the resumed node blames nobody for its own pause
    assert not [a for t, o, a in net.downs(t1) if o == "n0007"]
    print("SIGCONT: all see it up after %.3f s (virtual)" % (net.now - t1))


def test_a_restarted_node_hears_the_members_without_making_them_refute():
    # Nobody declared the members it restored from disk dead: telling them so would make each
    # refute with a new incarnation, news for every node (N x N after a restart at scale).
    net = SwimNet(50, seed=8)
    settle(net)
    x = net.names[7]
    net.crash(x)
    t0 = net.now
    net.run_until_true(lambda: net.all_see(x, up=False), t0 + 30)
    incs = {n: net.nodes[n].inc for n in net.names if n != x}
    net.restart(x)
    t1 = net.now
    net.run_until_true(lambda: net.all_see(x, up=True)
                       and all(net.nodes[x].is_up(m) for m in incs), t1 + 10, step=0.01)
    assert {n: net.nodes[n].inc for n in incs} == incs, "only the restarted node refutes"
    print("restart: all up both ways after %.2f s (virtual)" % (net.now - t1))


def test_an_island_that_was_cut_off_doubts_its_verdicts_instead_of_making_everyone_refute():
    # Three members cut off from 57 hold many of the 57 dead, and the 57 hold the three dead.
    # After the heal the three must refute (everyone holds them dead), but the 57 need not:
    # only the island held them down. Told they were declared dead, the islanders take them up
    # again from a table instead of telling each one to refute (each refutation is news for all
    # 60 nodes). Lifeguard slows the islanders' probes, so they get through 57 members slowly.
    net = SwimNet(60, seed=9)
    settle(net)
    island, rest = net.names[:3], net.names[3:]
    net.partition(rest, island)
    t0 = net.now
    held = lambda o: sum(not net.nodes[o].is_up(x) for x in rest)  # noqa: E731
    net.run_until_true(lambda: all(held(o) >= 20 for o in island)
                       and all(net.all_see(x, up=False, observers=rest) for x in island), t0 + 120, step=0.5)
    incs = {n: net.nodes[n].inc for n in rest}
    net.heal()
    t1 = net.now
    net.run_until_true(lambda: all(net.all_see(x, up=True) for x in net.names), t1 + 30, step=0.01)
    refuted = [n for n in rest if net.nodes[n].inc != incs[n]]
    # one each islander may still tell before it learns it was the one cut off
    assert len(refuted) <= len(island), refuted
    print("island heal: all up after %.2f s (virtual); %d of %d on the main side refuted"
          % (net.now - t1, len(refuted), len(rest)))


def test_partition_is_seen_on_both_sides_and_heals():
    net = SwimNet(10, seed=5)
    settle(net)
    a, b = net.names[:6], net.names[6:]
    net.partition(a, b)
    t0 = net.now
    net.run_until_true(lambda: all(net.all_see(x, up=False, observers=a) for x in b)
                       and all(net.all_see(x, up=False, observers=b) for x in a), t0 + 60)
    net.heal()
    t1 = net.now
    net.run_until_true(lambda: all(net.all_see(x, up=True) for x in net.names), t1 + 60)
    print("partition heal: all up again after %.2f s (virtual)" % (net.now - t1))


@pytest.mark.parametrize("n", [50, 1000])
def test_messages_per_node_per_period_do_not_grow_with_n(n):
    net = SwimNet(n, seed=6)
    settle(net, 2.0)
    periods = 10
    before = dict(net.sent)
    t0 = net.now
    net.run_until(t0 + periods * 0.5)
    per = [(net.sent[x] - before.get(x, 0)) / periods for x in net.names]
    avg = sum(per) / n
    # a ping and its ack each way, about one ping-req in a while: about 2 sent per period
    assert avg <= 2.5, avg
    assert max(per) <= 5, max(per)
    # a crash costs a bounded burst of gossip, still constant per node
    net.crash(net.names[1])
    before = dict(net.sent)
    t1 = net.now
    net.run_until_true(lambda: net.all_see(net.names[1], up=False), t1 + 30, step=0.5)
    periods = (net.now - t1) / 0.5
    extra = [net.sent[x] - before.get(x, 0) - avg * periods for x in net.names[2:]]
    # each piece of news (suspect, confirmations, dead) goes out a bounded number of times
    limit = net.nodes[net.names[0]].bc.limit(n)
    assert sum(extra) / len(extra) <= 3 * limit, (sum(extra) / len(extra), limit)
    print("N=%d: %.2f messages sent per node per period idle; a crash costs %.1f more per node "
          "(retransmit limit %d), spread to all in %.1f s" % (n, avg, sum(extra) / len(extra), limit,
                                                              net.now - t1))


# ---------------------------------------------------------------- the glue to membership

def test_liveness_keeps_the_detector_in_step_with_membership():
    import random as _random
    from ekka_agent.core.liveness import Liveness
    sent, logs, ups, downs = [], [], [], []
    lv = Liveness("a", _random.Random(1), lambda p, msg: sent.append((p, msg)),
                  lambda lvl, text: logs.append((lvl, text)), lambda p, now: ups.append(p),
                  lambda p, now, why: downs.append((p, why)))
    lv.members(["b"], 0.0)                      # remembered: down until it answers
    assert not lv.is_up("b") and ups == [] and sent and sent[0][1]["t"] == "swim.ping"
    lv.add("c", 0.1, up=True)                   # learnt through a join: up at once
    assert lv.is_up("c") and ups == ["c"]
    lv.reset("c", 0.2, "connection reset")
    assert downs == [("c", "connection reset")]
    assert lv.on_message("b", {"t": "swim.ack", "v": 1, "seq": "x"}, 0.3)
    assert logs[-1][0] == "warning" and "seq" in logs[-1][1]
    assert not lv.on_message("b", {"t": "hb"}, 0.3)
    lv.forget("c", 0.4)
    assert lv.d.status("c") is None


def test_a_suspicion_is_logged_by_its_accuser_and_counted_by_every_member():
    import random as _random
    from ekka_agent.core.liveness import Liveness
    logs, suspected = [], []
    lv = Liveness("a", _random.Random(1), lambda p, msg: None, lambda lvl, text: logs.append((lvl, text)),
                  lambda p, now: None, lambda p, now, why: None,
                  on_suspect=lambda node, by, now: suspected.append((node, by)))
    lv.members(["b", "c", "d"], 0.0, up=True)
    heard = m.encode(m.Gossip(updates=(Update(SUSPECT, "b", 0, "c"),)))
    assert lv.on_message("c", heard, 0.1)
    t = 0.1
    while not any(by == "a" for _, by in suspected):     # a's own probes go unanswered
        t = lv.next_deadline()
        lv.tick(t)
    assert suspected[0] == ("b", "c")
    said = [(lvl, text) for lvl, text in logs if "is suspected by" in text]
    assert said[0] == ("debug", "member b is suspected by c")
    assert said[1:] and all(lvl == "info" and text.endswith(" by a") for lvl, text in said[1:])
