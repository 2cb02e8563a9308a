"""Anti-entropy of the members table: digests compared, tables sent only when they differ,
and the merge of a received copy (the higher version wins: records.py).

A mixin of Membership (membership.py), which holds the state.
"""
from __future__ import annotations

from .messages import Heartbeat, NotMember, Sync, SyncSummary
from .records import RANGES, newer, tombstone


class TableSync:
    def on_heartbeat(self, p: str, msg: Heartbeat, now: float) -> None:
        if msg.cluster_id != self.cluster_id:
            if self.is_member(p) or msg.first:
                self.send_sync(p, now, force=msg.first)
        elif msg.digest == self.digest():
            self.mismatch.pop(p, None)
        elif msg.swim and not msg.first:
            # A digest sent to one random peer: push our table and ask for theirs at once.
            if msg.ranges:
                self.compare_tables(p, now)
            else:
                self.send_sync(p, now)
                self.ctx.send(p, self.heartbeat(first=True))
        else:
            # A broadcast in flight usually settles a difference within one heartbeat; send
            # the table when the difference is new on a connection or outlives a heartbeat.
            self.mismatch[p] = self.mismatch.get(p, 0) + 1
            if msg.first or self.mismatch[p] >= 2:
                self.mismatch.pop(p, None)
                if msg.ranges:
                    self.compare_tables(p, now, force=msg.first)
                else:
                    self.send_sync(p, now, force=msg.first)

    def send_sync(self, p: str, now: float, force: bool = False) -> None:
        if not force and now - self.last_sync.get(p, -1e9) < self.ctx.settings.sync_min_interval:
            return
        self.last_sync[p] = now
        self.ctx.send(p, Sync(self.cluster_id, list(self.records.values())))

    def compare_tables(self, p: str, now: float, force: bool = False) -> None:
        """Our digest of each range of the table, for a peer that answers one: the two tables
        then exchange only the ranges that differ (on_summary, on_sync), where whole tables
        made forming N nodes cost O(N^3) records (each new connection met a join in flight)."""
        if not force and now - self.last_sync.get(p, -1e9) < self.ctx.settings.sync_min_interval:
            return
        self.last_sync[p] = now
        self.ctx.send(p, SyncSummary(self.cluster_id, self.range_digests()))

    def on_summary(self, p: str, msg: SyncSummary, now: float) -> None:
        mine = self.range_digests()
        if msg.cluster_id != self.cluster_id:
            return
        if len(msg.ranges) != len(mine):
            return self.send_sync(p, now, force=True)   # cut another way (another release): all of it
        differ = [i for i, (a, b) in enumerate(zip(mine, msg.ranges)) if a != b]
        if differ:
            self.ctx.send(p, Sync(self.cluster_id, self.records_in(differ), want=differ))

    def on_sync(self, p: str, msg: Sync, now: float) -> None:
        if msg.cluster_id != self.cluster_id:
            theirs = {r["node"]: r for r in msg.records}
            mine = theirs.get(self.me)
            if mine and not mine["removed"] and msg.cluster_id in self.former and not self.pending_join:
                # They count us in a cluster we left while they were away: say so. (A cluster
                # we were never in may list us because our join to it is under way.)
                self.ctx.send(p, NotMember(msg.cluster_id, mine["version"]))
            return
        self.merge(msg.records, now, source=p, soon=True)
        if msg.want and self.cluster_id == msg.cluster_id:
            # Our records of the ranges they asked for, but those they just sent us.
            theirs = {r["node"]: r for r in msg.records}
            ranges = [i for i in msg.want if 0 <= i < RANGES]
            back = [r for r in self.records_in(ranges) if theirs.get(r["node"]) != r]
            if back:
                self.ctx.send(p, Sync(self.cluster_id, back))

    def merge(self, records: list, now: float, source: str, soon: bool = False) -> list:
        """Take the records newer than ours. `soon`: they are only what a peer told us (a
        Sync), saved within a second (NodeCore.persist_soon), not before our next actions."""
        changed, joined, gone = [], [], []
        for r in records:
            cur = self.records.get(r["node"])
            if not newer(r, cur):
                continue
            if r["node"] == self.me:
                if r["removed"]:
                    self.removed(now, by=r.get("by", source))
                    return changed
                continue  # only we write our own live record
            self.put_record(r)
            changed.append(r)
            n = r["node"]
            if r["removed"]:
                if cur is not None and not cur["removed"]:
                    gone.append(n)
                self.forget_peer(n, now)
                self.ctx.emit("node_removed", n, by=r.get("by", source))
                self.ctx.log("info", "member %s removed from the cluster by %s" % (n, r.get("by", source)))
            elif cur is None or cur["removed"]:
                joined.append(n)
                self.ctx.emit("node_joined", n)
                self.ctx.log("info", "member %s joined the cluster" % n)
                if self.conns.get(n):
                    self.mark_up(n, now)
                else:
                    self.dial_member(n, now)
        if changed:
            if soon:
                self.ctx.persist_soon()
            else:
                self.ctx.persist()
            self.detector.members_delta(sorted(joined), sorted(gone), now)
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
