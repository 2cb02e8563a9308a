"""A write made a moment before a heal's plan reached its writer still reaches every member.

The coordinator's plan moves the members to a new data epoch one at a time; a winner that wrote
just before the plan reached it tags the write with the old epoch, and a member that moved on
first used to drop it as coming from another epoch, while the losers took a copy made without
it: nothing ever sent it again (found by the partition simulation once the fake network opened
the acceptor's end of a connection before the dialler's, as TCP does).
"""
from __future__ import annotations

from ekka_agent.core import events as ev
from ekka_agent.core.messages import KvWrite
from ekka_agent.sim import SimCluster

NS = ["a@10.0.0.1", "b@10.0.0.2", "c@10.0.0.3", "d@10.0.0.4"]


def heal_of(core):
    return next(x for x in core.components if x.name == "autoheal")


def formed() -> SimCluster:
    c = SimCluster(seed=5)
    for n in NS:
        c.add(n)
    for n in NS[1:]:
        assert c.command(n, "join", node=NS[0]).ok
    assert c.run_until(lambda: all(heal_of(c.nodes[n]).synced == set(NS) - {n} for n in NS), timeout=30)
    return c


def test_a_write_tagged_with_the_epoch_just_left_is_taken_and_passed_on():
    c = formed()
    a, b, d = NS[0], NS[1], NS[3]
    core = c.nodes[a]
    h = heal_of(core)
    old, new = list(h.ep), [h.ep[0] + 1, "0123456789ab"]
    # a coordinates: b and c won with it, d lost; b writes before the plan reaches it.
    h.adopt(new, c.now, plan=NS, losers=[d], coordinator=a)
    late = KvWrite({"k": {"v": "late", "ver": [2 ** 40, 0, b], "del": False}}, 7, old)
    out = core.handle(ev.Received(b, late), c.now)
    assert core.kv.live().get("k") == "late"
    passed = sorted(x.peer for x in out if isinstance(x, ev.Send) and isinstance(x.msg, KvWrite)
                    and x.msg.epoch == new and "k" in x.msg.entries)
    assert passed == [NS[2], d]          # every member of the new epoch but the writer


def test_a_write_of_an_epoch_we_did_not_share_is_still_refused():
    c = formed()
    a, d = NS[0], NS[3]
    core = c.nodes[a]
    h = heal_of(core)
    new = [h.ep[0] + 1, "0123456789ab"]
    h.adopt(new, c.now, plan=NS, losers=[d], coordinator=a)
    other_side = KvWrite({"k": {"v": "theirs", "ver": [2 ** 40, 0, d], "del": False}}, 8, [1, "ffffffffffff"])
    core.handle(ev.Received(d, other_side), c.now)
    assert "k" not in core.kv.live()
