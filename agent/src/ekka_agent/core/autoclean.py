"""Autoclean: remove a member that stayed down longer than cluster.autoclean, with guard rails.

Only the leader (oldest running member) cleans, so each removal happens once and is logged once.
Before removing, it asks every running peer whether it can still reach the member (a node cut
from the leader alone is not dead); any "yes" or any missing answer keeps it. It never leaves
fewer than cluster.autoclean_min_members members. The removal is a force-leave (a tombstone):
a cleaned node that comes back gets its tombstone, says so in its log, and runs alone until it
rejoins through discovery or `ekka-ctl cluster join`.
"""
from __future__ import annotations

from .context import Component, earliest
from .messages import CleanAnswer, CleanQuery

ASK_TIMEOUT = 3.0


def components(ctx, settings) -> list:
    s = settings.autoclean
    return [Autoclean(ctx, s.after, s.min_members)] if s.after else []


class Autoclean(Component):
    name = "autoclean"
    handles = (CleanQuery, CleanAnswer)

    def __init__(self, ctx, limit: float, min_members: int):
        self.ctx = ctx
        self.m = ctx.members
        self.limit = limit
        self.min_members = min_members
        self.every = min(max(limit / 4, 0.2), 30.0)
        self.started = 0.0
        self.check_at = None
        self.asking = None      # {"qid", "node", "waiting": set, "seen_by": [], "deadline"}
        self.qid = 0

    def on_start(self, now: float) -> None:
        self.started = now
        self.check_at = now + self.every

    def next_deadline(self):
        return earliest(self.check_at, self.asking["deadline"] if self.asking else None)

    def down_for(self, p: str, now: float) -> float:
        # Never seen up since this node started: count from our start.
        return now - self.m.down_since.get(p, self.started)

    def on_tick(self, now: float) -> None:
        if self.asking and now >= self.asking["deadline"]:
            a, self.asking = self.asking, None
            self.ctx.log("info", "autoclean: kept %s: no answer from %s" % (a["node"], ", ".join(sorted(a["waiting"]))))
        if self.check_at is None or now < self.check_at:
            return
        self.check_at = now + self.every
        if self.asking or self.m.leader() != self.m.me:
            return
        due = [p for p in self.m.stopped() if self.down_for(p, now) >= self.limit]
        if not due:
            return
        p = max(due, key=lambda q: (self.down_for(q, now), q))   # the longest gone first
        if len(self.m.members()) - 1 < self.min_members:
            return self.ctx.log("info", "autoclean: kept %s: removing it would leave fewer than "
                                 "cluster.autoclean_min_members = %d" % (p, self.min_members))
        self.qid += 1
        peers = set(self.m.running()) - {self.m.me}
        self.asking = {"qid": self.qid, "node": p, "waiting": peers, "seen_by": [], "deadline": now + ASK_TIMEOUT}
        for q in sorted(peers):
            self.ctx.send(q, CleanQuery(self.qid, p))
        self._maybe_remove(now)

    def _maybe_remove(self, now: float) -> None:
        a = self.asking
        if a["waiting"]:
            return
        self.asking = None
        p = a["node"]
        if a["seen_by"]:
            return self.ctx.log("info", "autoclean: kept %s: still reachable from %s" % (p, ", ".join(a["seen_by"])))
        if not self.m.is_member(p) or p in self.m.up or self.down_for(p, now) < self.limit:
            return
        gone = self.down_for(p, now)
        self.ctx.log("warning", "autoclean: removed member %s from the cluster: down for %.0fs (limit %.0fs); "
                      "it rejoins through discovery or `ekka-ctl cluster join`" % (p, gone, self.limit))
        self.ctx.emit("node_cleaned", p, down_for=round(gone, 1))
        self.ctx.remove_member(p, now)

    def on_message(self, p: str, msg, now: float) -> None:
        if isinstance(msg, CleanQuery):
            self.ctx.send(p, CleanAnswer(msg.query, msg.node in self.m.up))
        else:
            a = self.asking
            if a and a["qid"] == msg.query and p in a["waiting"]:
                a["waiting"].discard(p)
                if msg.up:
                    a["seen_by"].append(p)
                self._maybe_remove(now)

    def on_peer_down(self, p: str, now: float) -> None:
        a = self.asking
        if a and p in a["waiting"]:
            a["waiting"].discard(p)      # a peer that went down cannot vouch either way
            self._maybe_remove(now)

    def status(self, st: dict) -> None:
        st["autoclean"] = {"after_s": self.limit, "min_members": self.min_members}
