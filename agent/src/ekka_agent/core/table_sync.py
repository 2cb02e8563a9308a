"""Anti-entropy of the members table: digests compared, tables sent only when they differ,
and the merge of a received copy (the higher version wins: records.py).

A mixin of Membership (membership.py), which holds the state.
"""
from __future__ import annotations

from .messages import Heartbeat, NotMember, Sync
from .records import newer, tombstone


class TableSync:
    def on_heartbeat(self, p: str, msg: Heartbeat, now: float) -> None:
        if msg.cluster_id != self.cluster_id:
            if self.is_member(p) or msg.first:
                self.send_sync(p, now, force=msg.first)
        elif msg.digest == self.digest():
            self.mismatch.pop(p, None)
        elif msg.swim and not msg.first:
            # A digest sent to one random peer: push our table and ask for theirs at once.
            self.send_sync(p, now)
            self.ctx.send(p, self.heartbeat(first=True))
        else:
            # A broadcast in flight usually settles a difference within one heartbeat; send
            # the table when the difference is new on a connection or outlives a heartbeat.
            self.mismatch[p] = self.mismatch.get(p, 0) + 1
            if msg.first or self.mismatch[p] >= 2:
                self.mismatch.pop(p, None)
                self.send_sync(p, now, force=msg.first)

    def send_sync(self, p: str, now: float, force: bool = False) -> None:
        if not force and now - self.last_sync.get(p, -1e9) < self.ctx.settings.sync_min_interval:
            return
        self.last_sync[p] = now
        self.ctx.send(p, Sync(self.cluster_id, list(self.records.values())))

    def on_sync(self, p: str, msg: Sync, now: float) -> None:
        if msg.cluster_id != self.cluster_id:
            theirs = {r["node"]: r for r in msg.records}
            mine = theirs.get(self.me)
            if mine and not mine["removed"] and msg.cluster_id in self.former and not self.pending_join:
                # They count us in a cluster we left while they were away: say so. (A cluster
                # we were never in may list us because our join to it is under way.)
                self.ctx.send(p, NotMember(msg.cluster_id, mine["version"]))
            return
        self.merge(msg.records, now, source=p)

    def merge(self, records: list, now: float, source: str) -> list:
        changed = []
        for r in records:
            cur = self.records.get(r["node"])
            if not newer(r, cur):
                continue
            if r["node"] == self.me:
                if r["removed"]:
                    self.removed(now, by=r.get("by", source))
                    return changed
                continue  # only we write our own live record
            self.records[r["node"]] = r
            self.records_changed()
            changed.append(r)
            n = r["node"]
            if r["removed"]:
                self.forget_peer(n, now)
                self.ctx.emit("node_removed", n, by=r.get("by", source))
                self.ctx.log("info", "member %s removed from the cluster by %s" % (n, r.get("by", source)))
            elif cur is None or cur["removed"]:
                self.ctx.emit("node_joined", n)
                self.ctx.log("info", "member %s joined the cluster" % n)
                if self.conns.get(n):
                    self.mark_up(n, now)
                else:
                    self.dial_member(n, now)
        if changed:
            self.ctx.persist()
            self.detector.members_changed(self.others(), now, up=True)
        return changed

    def broadcast(self, records: list, cid: str | None = None) -> None:
        msg = Sync(cid or self.cluster_id, records)
        for p in self.others():
            if self.conns.get(p):
                self.ctx.send(p, msg)

    def on_not_member(self, p: str, msg: NotMember, now: float) -> None:
        r = self.records.get(p)
        if msg.cluster_id != self.cluster_id or r is None or r["removed"]:
            return
        if r["version"] <= msg.version:
            t = tombstone(r, by=p)
            self.merge([t], now, source=p)
            self.broadcast([t])
