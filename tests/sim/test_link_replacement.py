"""A link replaced after a heal is no member going down (core/member_links.py): the real core of a
node in a formed pair, fed the transport's events in the orders the real sockets produce them
(tests/agent/test_link_reset.py has the transport's side; tests/partition/test_heal_agents.py
checks it on real heals: before this rule, about every other run of its six shapes logged a
member down for a reset link, and some a second return to autoheal)."""
from __future__ import annotations

from ekka_agent.core import events as ev
from ekka_agent.sim import SimCluster

A, B = "a@10.0.0.1", "b@10.0.0.2"


def pair():
    c = SimCluster(seed=3, options={"cluster.probe_interval": "1s", "cluster.failure_timeout": "5s"})
    c.add(A)
    c.add(B)
    assert c.command(B, "join", node=A).ok
    assert c.run_until(lambda: all(len(c.view(n)["running_nodes"]) == 2 for n in (A, B)), timeout=30)
    return c, c.nodes[A]


def downs(actions) -> list:
    return [a.event for a in actions if isinstance(a, ev.Emit) and a.event.get("event") == "node_down"]


def test_the_old_link_reset_before_the_fresh_dial_completes_is_no_down():
    c, core = pair()
    m, now = core.membership, c.now
    m.refresh_link(B, now)                      # a < b: a dials the fresh link at once
    assert B in m.dialing
    out = core.handle(ev.ConnectionDown(B, "[Errno 104] Connection reset by peer", remaining=0), now)
    assert downs(out) == [] and B in m.up
    out = core.handle(ev.ConnectionUp(B, True), now + 0.001)
    assert downs(out) == [] and B in m.up and m.conns[B] == 1


def test_if_the_fresh_dial_fails_the_member_is_down_with_the_reset():
    c, core = pair()
    m, now = core.membership, c.now
    m.refresh_link(B, now)
    core.handle(ev.ConnectionDown(B, "[Errno 104] Connection reset by peer", remaining=0), now)
    out = core.handle(ev.ConnectFailed(B, "refused"), now + 0.001)
    assert [d["reason"] for d in downs(out)] == ["[Errno 104] Connection reset by peer"] and B not in m.up


def test_the_transport_count_of_open_links_wins_over_the_cores():
    # The core counted two links (old and fresh) and reset the old one itself; the old one's
    # close, read by the transport before that reset, must not count again.
    c, core = pair()
    m, now = core.membership, c.now
    m.conns[B] = 1
    out = core.handle(ev.ConnectionDown(B, "[Errno 104] Connection reset by peer", remaining=1), now)
    assert downs(out) == [] and m.conns[B] == 1


def test_a_link_made_after_the_verdict_is_not_replaced_again():
    c, core = pair()
    m, now = core.membership, c.now
    verdict = now - 1.0                          # the newest link came up after it (pair())
    m.refresh_link(B, now, since=verdict)
    assert B not in m.dialing and B not in m.refreshing
    m.refresh_link(B, now, since=now + 1.0)       # a link older than the verdict is
    assert B in m.dialing and B in m.refreshing
