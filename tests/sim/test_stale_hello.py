"""A hello written before a partition and delivered after it must not undo the split.

An RPC connection the network cut holds what was written on it until TCP retransmits after the
heal. When that is a hello from before the two nodes had judged each other (its fields say "never
saw you", as after a restart), judging it would find no split: the receiver would start sharing
data with a member of the other side before autoheal decided, and the other side's winner would
take the losing side's writes. A node that has had its own hello answered by a peer knows the peer
has seen it, so such a hello from that peer, not restarted, is old and is dropped.
"""
from __future__ import annotations

from ekka_agent.core.messages import HealHello
from ekka_agent.sim import SimCluster

N0, N1 = "n0@10.0.0.1", "n1@10.0.0.2"


class HoldsFirstHello(SimCluster):
    """Keeps the first hello n0 asks n1 with (sent before either had judged the other)."""
    held = None

    def _deliver(self, src, dst, msg) -> None:
        if self.held is None and isinstance(msg, HealHello) and not msg.reply and (src, dst) == (N0, N1):
            self.held = msg
        super()._deliver(src, dst, msg)


def autoheal(c, n):
    return next(x for x in c.nodes[n].components if x.name == "autoheal")


def kv(c, n) -> dict:
    return {k: e["v"] for k, e in c.nodes[n].kv.entries.items() if not e["del"]}


def test_a_hello_from_before_the_cut_delivered_after_it_does_not_undo_the_split():
    tried = 0
    for seed in range(1, 21):
        c = HoldsFirstHello(seed=seed)
        c.add(N0)
        c.add(N1)
        r = c.command(N1, "join", node=N0)
        assert r is not None and r.ok, (seed, r)
        # n0's first hello reached n1 before n1 knew n0 (dropped), and n1's own hello was
        # answered: both judged each other once.
        assert c.run_until(lambda: N1 in autoheal(c, N0).decided and N0 in autoheal(c, N1).decided,
                           timeout=1, step=0.01), seed
        if (autoheal(c, N1).answered.get(N0) or (None,))[0] == c.held.round:
            continue        # n1 knew n0 in time and answered that first hello
        tried += 1
        assert c.held.seen is None
        c.net.partition([N0], [N1])     # that first hello is what the cut holds (below)
        assert c.run_until(lambda: not c.nodes[N0].membership.up and not c.nodes[N1].membership.up,
                           timeout=30), seed
        assert c.command(N1, "kv_put", key="split", value="written by n1 alone", timeout=2).ok
        c.net.heal()
        assert c.run_until(lambda: N0 in c.nodes[N1].membership.up, timeout=30, step=0.001), seed
        c._deliver(N0, N1, c.held)       # TCP retransmits what the cut held back
        assert c.run_until(lambda: [e for _, x, e in c.events if e["event"] == "partition_healed" and x == N1],
                           timeout=30), seed
        c.run(3.0)
        assert "split" not in kv(c, N0), (seed, "n0 took the losing side's write")
        assert kv(c, N0) == kv(c, N1), seed
        assert not autoheal(c, N0).req and not autoheal(c, N1).req, (seed, "a hello asked again for good")
    assert tried >= 3, tried
