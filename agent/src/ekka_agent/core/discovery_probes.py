"""The discovery probe: every node, manual ones included, answers a DiscoveryProbe with its
cluster (id, running size, oldest member, whether it is busy joining), so a prober learns
which clusters exist; the answers of this node's own round are collected here too, and a
probe from a stranger makes this node look again soon.

A mixin of AutoCluster (autocluster.py), which holds the state.
"""
from __future__ import annotations

from .messages import DiscoveryInfo, DiscoveryProbe


class DiscoveryProbes:
    def on_message(self, p: str, msg, now: float) -> None:
        if isinstance(msg, DiscoveryProbe):
            i = self.info()
            self.ctx.send(p, DiscoveryInfo(round=msg.round, cluster_id=i["cid"], size=i["size"], oldest=i["oldest"],
                                            enabled=i["enabled"], members=i["members"], busy=i["busy"]))
            if self.phase == "probing" and p in self.discovered and p not in self.answers:
                # It was not up when we probed it (that probe was dropped): ask again now.
                self.ctx.send(p, DiscoveryProbe(self.round))
            elif (self.enabled and self.phase == "idle" and not self.ctx.members.is_member(p)
                    and p not in self.answers):
                # A node we have not heard from is looking for its cluster: look again soon.
                soon = now + self.retry_min * (0.1 + 0.4 * self.ctx.rng.random())
                if self.next_run is None or self.next_run > soon:
                    self.next_run = soon
                self.backoff = self.retry_min
        elif self.phase == "probing" and msg.round == self.round and p in self.discovered:
            self.answers[p] = {"cid": msg.cluster_id, "size": msg.size, "oldest": msg.oldest,
                               "enabled": msg.enabled, "members": msg.members, "busy": msg.busy}
            self.unreachable.pop(p, None)
            if not self.pending_probes():
                self.deadline = None
                self.after_probe(now)

    def info(self) -> dict:
        m = self.ctx.members
        run = m.running()
        oldest = min((tuple(m.records[n]["guid"]) for n in run if n in m.records), default=())
        return {"cid": m.cluster_id, "size": len(run), "oldest": list(oldest), "enabled": self.enabled,
                "members": m.members(), "busy": m.pending_join is not None}
