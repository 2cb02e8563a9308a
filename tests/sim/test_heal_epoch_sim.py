"""A lost heal_ep must not leave two members not sharing data for good.

A node that has just joined has no data epoch in its first hellos; the one it then takes
reaches the members it already said hello to only by a heal_ep message. The fake network here
loses every such message (an ask, and the answer to an ask, still pass), as an RPC connection
closing at the wrong moment does: the members must still come to share data with the joiners.
"""
from __future__ import annotations

from ekka_agent.core.messages import HealEpoch
from ekka_agent.sim import SimCluster


class LosesHealEpoch(SimCluster):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.answering: set = set()     # (from, to): a heal_ep that answers an ask, let through

    def _deliver(self, src, dst, msg) -> None:
        if isinstance(msg, HealEpoch):
            if msg.ask:
                self.answering.add((dst, src))
            elif (src, dst) in self.answering:
                self.answering.discard((src, dst))
            else:
                return
        super()._deliver(src, dst, msg)


def sharing_with_all(c, ns) -> bool:
    for n in ns:
        h = next(x for x in c.nodes[n].components if x.name == "autoheal")
        if c.nodes[n].membership.up - h.synced or len(c.nodes[n].membership.up) != len(ns) - 1:
            return False
    return True


def test_joiners_share_data_with_every_member_though_each_heal_ep_is_lost():
    for seed in (1, 2, 3, 4):
        c = LosesHealEpoch(seed=seed)
        ns = ["n%d@10.0.0.%d" % (i, i + 1) for i in range(5)]
        for x in ns:
            c.add(x)
        for x in ns[1:]:
            r = c.command(x, "join", node=ns[0])
            assert r is not None and r.ok, (seed, x, r)
        assert c.run_until(lambda: sharing_with_all(c, ns), timeout=20, step=0.25), (seed, {
            n: sorted(c.nodes[n].membership.up - next(x for x in c.nodes[n].components if x.name == "autoheal").synced)
            for n in ns})
