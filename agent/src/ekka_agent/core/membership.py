"""Membership: who is in the cluster, who is up, and manual join / leave / force-leave.

A peer is up while a cluster-port connection to it is open and the failure detector
(core/failure_detector.py) finds it alive; a reset connection marks it down at once. Down
members are redialled with capped backoff for as long as they stay members, so a node that
comes back after any absence is found again. Heartbeats carry a digest of the members table
(under SWIM, one to a random peer now and then): a difference sends the table (anti-entropy).
"""
from __future__ import annotations

import uuid

from .context import BadArgument, Component
from .drain import eligible
from .events import Connect, Disconnect
from .failure_detector import make_detector
from .messages import Heartbeat, JoinAccepted, JoinRequest, NotMember, SwimMessage, Sync
from .records import digest, new_record, newer, tombstone


class Membership(Component):
    name = "membership"
    handles = (Heartbeat, Sync, JoinRequest, JoinAccepted, NotMember, SwimMessage)
    commands = ("join", "leave", "force_leave")

    def __init__(self, ctx):
        self.ctx = ctx                    # the NodeCore: a Context (core/context.py) that also hears
        self.me = ctx.name                # peer_up / peer_down / on_reset from here
        self.cluster_id = ""
        self.records: dict[str, dict] = {}
        self.conns: dict[str, int] = {}   # open cluster-port connections per peer
        self.up: set[str] = set()
        self.down_since: dict[str, float] = {}
        self.dialing: set[str] = set()
        self.redial_at: dict[str, float] = {}
        self.backoff: dict[str, float] = {}
        self.swim = ctx.settings.failure_detector == "swim"
        self.detector = make_detector(self, ctx.settings, ctx.rng)
        self.last_sync: dict[str, float] = {}
        self.mismatch: dict[str, int] = {}
        self._digest = None               # caches of digest(records) and members(): records_changed()
        self._members = None
        self._leader = None
        self.pending_join = None          # {"target", "req_id", "deadline", "sent"}
        self.former: list[str] = []       # clusters this node has left, newest last

    # ---------- state ----------
    def form_alone(self, now: float) -> None:
        """Become a cluster of one with a fresh identity."""
        self.remember_former()
        self.cluster_id = uuid.UUID(int=self.ctx.rng.getrandbits(128)).hex
        self.records = {self.me: new_record(self.me, self.new_guid(now))}
        self.records_changed()
        self.ctx.persist()

    def remember_former(self) -> None:
        if self.cluster_id and self.cluster_id not in self.former:
            self.former = (self.former + [self.cluster_id])[-16:]

    def new_guid(self, now: float):
        """Orders members by age: the time this node entered its cluster, then its name."""
        return [int(self.ctx.wall_us(now)), self.me]

    def restore(self, state: dict) -> None:
        self.cluster_id = state["cluster_id"]
        self.records = {r["node"]: r for r in state["records"]}
        self.records_changed()
        self.former = state.get("former", [])

    def snapshot(self) -> dict:
        return {"cluster_id": self.cluster_id, "former": self.former,
                "records": sorted(self.records.values(), key=lambda r: r["node"])}

    def records_changed(self) -> None:
        """Whoever writes self.records calls this (the caches are read on every event)."""
        self._digest = None
        self._members = None
        self._leader = None

    def members(self) -> list:
        if self._members is None:
            self._members = sorted(n for n, r in self.records.items() if not r["removed"])
        return list(self._members)

    def others(self) -> list:
        return [n for n in self.members() if n != self.me]

    def is_member(self, n: str) -> bool:
        r = self.records.get(n)
        return r is not None and not r["removed"]

    def running(self) -> list:
        return sorted([self.me] + [n for n in self.others() if n in self.up])

    def stopped(self) -> list:
        return sorted(n for n in self.others() if n not in self.up)

    def status_of(self, n: str) -> str:
        if n != self.me and n not in self.up:
            return "down"
        return self.records[n]["status"]

    def leader(self) -> str:
        """The oldest running member (smallest guid) that is not drained (core/drain.py). Cached:
        read on most events, it changes only with the records or the up set (records_changed,
        up_changed)."""
        if self._leader is None:
            self._leader = min(eligible(self.running(), self.records),
                               key=lambda n: tuple(self.records[n]["guid"]))
        return self._leader

    def up_changed(self) -> None:
        self._leader = None

    def set_own_status(self, status: str, now: float) -> None:
        """Our record's status (up, draining, drained), told to every member."""
        r = self.records[self.me]
        if r["status"] == status:
            return
        self.records[self.me] = rec = dict(r, status=status, version=r["version"] + 1)
        self.records_changed()
        self.ctx.persist()
        self.broadcast([rec])

    # ---------- time ----------
    def next_deadline(self):
        ds = [self.detector.next_deadline()]
        if self.redial_at:
            ds.append(min(self.redial_at.values()))
        if self.pending_join:
            ds.append(self.pending_join["deadline"])
        return min(ds)

    def digest(self) -> int:
        if self._digest is None:
            self._digest = digest(self.records)
        return self._digest

    def on_start(self, now: float) -> None:
        if not self.cluster_id:           # nothing restored
            self.form_alone(now)
        # Members restored from disk start down: up once they answer.
        self.detector.members_changed(self.others(), now, up=False)
        self.detector.on_start(now)
        for p in self.others():
            self.dial(p)

    # ---------- what the failure detector uses (its DetectorHost) ----------
    def connected(self) -> list:
        return sorted(self.conns)

    def heartbeat(self, first: bool = False) -> Heartbeat:
        return Heartbeat(self.cluster_id, self.digest(), first=first, swim=self.swim)

    def send(self, peer: str, msg) -> None:
        self.ctx.send(peer, msg)

    def log(self, level: str, text: str) -> None:
        self.ctx.log(level, text)

    def peer_silent(self, p: str, now: float, reason: str) -> None:
        if self.conns.pop(p, None):
            self.ctx.act(Disconnect(p, reason))
        if p in self.up:
            self.mark_down(p, now, reason)
        else:
            self.schedule_redial(p, now)

    def peer_down(self, p: str, now: float, reason: str) -> None:
        """The detector holds p down; its connection stays open (the detector closes it later)."""
        if p in self.up:
            self.mark_down(p, now, reason)

    def peer_suspected(self, p: str, by: str, now: float) -> None:
        """SWIM suspects a member (not yet down): an event for hooks and the suspicions metric."""
        if p != self.me and self.is_member(p):
            self.ctx.emit("node_suspected", p, by=by)

    def peer_alive(self, p: str, now: float) -> None:
        """The detector finds p alive again (it refuted, or answered after a restart)."""
        if not self.is_member(p) or p in self.up:
            return
        if self.conns.get(p):
            self.mark_up(p, now)
        else:
            self.dial(p)

    def on_tick(self, now: float) -> None:
        self.detector.on_tick(now)
        for p in sorted(p for p, at in self.redial_at.items() if now >= at):
            del self.redial_at[p]
            self.dial(p)
        pj = self.pending_join
        if pj and now >= pj["deadline"]:
            self.pending_join = None
            self.ctx.reply_error(pj["req_id"], "node_down", pj["target"])

    # ---------- connections ----------
    def dial(self, p: str) -> None:
        if p in self.dialing or self.conns.get(p):
            return
        self.dialing.add(p)
        self.ctx.act(Connect(p))

    def schedule_redial(self, p: str, now: float) -> None:
        if not self.is_member(p) or p == self.me or p in self.redial_at:
            return
        s = self.ctx.settings
        b = min(s.reconnect_max, self.backoff.get(p, s.reconnect_min / 2) * 2)
        self.backoff[p] = b
        self.redial_at[p] = now + b * (0.5 + self.ctx.rng.random() / 2)

    def on_connection_up(self, p: str, now: float) -> None:
        self.dialing.discard(p)
        self.redial_at.pop(p, None)
        self.backoff.pop(p, None)
        self.conns[p] = self.conns.get(p, 0) + 1
        self.detector.on_connection_up(p, now)
        # The digest first: the whole table crosses only if the tables really differ.
        self.ctx.send(p, self.heartbeat(first=True))
        pj = self.pending_join
        if pj and pj["target"] == p and not pj["sent"]:
            pj["sent"] = True
            self.ctx.send(p, JoinRequest(self.new_guid(now)))
        if self.is_member(p) and p not in self.up and self.detector.alive(p):
            self.mark_up(p, now)

    def on_connection_down(self, p: str, now: float, reason: str) -> None:
        n = self.conns.get(p, 0) - 1
        if n > 0:
            self.conns[p] = n
            return
        self.conns.pop(p, None)
        if p in self.up:
            self.mark_down(p, now, reason)
        self.schedule_redial(p, now)

    def on_connect_failed(self, p: str, now: float) -> None:
        self.dialing.discard(p)
        pj = self.pending_join
        if pj and pj["target"] == p:
            self.pending_join = None
            self.ctx.reply_error(pj["req_id"], "node_down", p)
        self.schedule_redial(p, now)

    def mark_up(self, p: str, now: float) -> None:
        self.up.add(p)
        self.up_changed()
        self.down_since.pop(p, None)
        self.ctx.log("info", "member %s is up" % p)
        self.ctx.emit("node_up", p)
        self.ctx.peer_up(p, now)

    def mark_down(self, p: str, now: float, reason: str) -> None:
        self.up.discard(p)
        self.up_changed()
        self.down_since[p] = now
        self.ctx.log("warning", "member %s is down: %s" % (p, reason))
        self.ctx.emit("node_down", p, reason=reason)
        self.ctx.peer_down(p, now)
        self.schedule_redial(p, now)

    # ---------- messages ----------
    def heard_from(self, p: str, now: float) -> None:
        """Any message from p shows it is alive."""
        self.detector.heard_from(p, now)

    def on_message(self, p: str, msg, now: float) -> None:
        if isinstance(msg, SwimMessage):
            self.detector.on_message(p, msg, now)
        elif isinstance(msg, Heartbeat):
            self.detector.on_heartbeat(p, msg, now)
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
        elif isinstance(msg, Sync):
            self.on_sync(p, msg, now)
        elif isinstance(msg, JoinRequest):
            self.on_join_req(p, msg, now)
        elif isinstance(msg, JoinAccepted):
            self.on_join_ok(p, msg, now)
        elif isinstance(msg, NotMember):
            self.on_not_member(p, msg, now)

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
                    self.dial(n)
        if changed:
            self.ctx.persist()
            self.detector.members_changed(self.others(), now, up=True)
        return changed

    def forget_peer(self, n: str, now: float) -> None:
        self.up.discard(n)
        self.up_changed()
        self.down_since.pop(n, None)
        self.redial_at.pop(n, None)
        self.backoff.pop(n, None)
        if self.conns.get(n):
            self.ctx.act(Disconnect(n, "removed from the cluster"))
            self.conns.pop(n, None)

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

    def removed(self, now: float, by: str) -> None:
        """Our own tombstone arrived: we were force-left or cleaned while away."""
        old = self.cluster_id
        self.ctx.log("warning", "this node was removed from cluster %s by %s; it now runs alone and "
                      "rejoins through discovery or `ekka-ctl cluster join`" % (old[:8], by))
        self.ctx.emit("node_removed", self.me, by=by)
        self.reset_alone(now)

    def reset_alone(self, now: float) -> None:
        for p in list(self.conns):
            self.ctx.act(Disconnect(p, "left the cluster"))
        self.conns.clear()
        self.up.clear()
        self.up_changed()
        self.down_since.clear()
        self.redial_at.clear()
        self.backoff.clear()
        self.form_alone(now)
        self.detector.members_changed((), now, up=False)
        self.ctx.on_reset(now)

    # ---------- join / leave / force-leave ----------
    def on_command(self, req, cmd: str, args: dict, now: float) -> None:
        if cmd == "join":
            self.cmd_join(req, node_arg(args), now)
        elif cmd == "leave":
            self.cmd_leave(req, now)
        else:
            self.cmd_force_leave(req, node_arg(args), now)

    def cmd_join(self, req_id, target: str, now: float) -> None:
        if target == self.me:
            return self.ctx.reply(req_id, "ignore")
        if self.is_member(target) and self.others():
            return self.ctx.reply_error(req_id, "already_in_cluster", target)
        if self.pending_join:
            return self.ctx.reply_error(req_id, "join_in_progress", self.pending_join["target"])
        self.pending_join = {"target": target, "req_id": req_id, "sent": False,
                             "deadline": now + self.ctx.settings.join_timeout}
        if self.conns.get(target):
            self.pending_join["sent"] = True
            self.ctx.send(target, JoinRequest(self.new_guid(now)))
        else:
            self.dial(target)

    def on_join_req(self, p: str, msg: JoinRequest, now: float) -> None:
        cur = self.records.get(p)
        rec = new_record(p, msg.guid, version=(cur["version"] + 1) if cur else 1)
        self.merge([rec], now, source=self.me)
        self.broadcast([rec])
        self.ctx.send(p, JoinAccepted(self.cluster_id, list(self.records.values()), **self.ctx.join_snapshot()))
        self.ctx.log("info", "%s joins the cluster through this node" % p)

    def on_join_ok(self, p: str, msg: JoinAccepted, now: float) -> None:
        pj = self.pending_join
        if not pj or pj["target"] != p:
            return
        self.pending_join = None
        old_cid, old_others = self.cluster_id, self.others()
        if old_others:
            # Leave the old cluster cleanly so it drops us instead of listing us as stopped.
            gone = tombstone(self.records[self.me], by=self.me)
            self.broadcast([gone], cid=old_cid)
            self.ctx.log("info", "left cluster %s to join %s" % (old_cid[:8], p))
        for q in old_others:
            self.forget_peer(q, now)
        self.remember_former()
        self.cluster_id = msg.cluster_id
        self.former = [c for c in self.former if c != self.cluster_id]
        self.records = {r["node"]: r for r in msg.records}
        self.records_changed()
        self.ctx.persist()
        self.ctx.adopt_data(msg.kv, now)
        for q in self.others():
            if self.conns.get(q):
                self.mark_up(q, now)
            else:
                self.dial(q)
        self.detector.members_changed(self.others(), now, up=True)
        self.ctx.log("info", "joined cluster %s through %s" % (self.cluster_id[:8], p))
        self.ctx.emit("node_joined", self.me, via=p)
        self.ctx.reply(pj["req_id"], "ok")

    def cmd_leave(self, req_id, now: float) -> None:
        if not self.others():
            return self.ctx.reply_error(req_id, "node_not_in_cluster")
        gone = tombstone(self.records[self.me], by=self.me)
        self.broadcast([gone])
        self.ctx.log("info", "leaving cluster %s" % self.cluster_id[:8])
        self.ctx.emit("node_left", self.me)
        self.reset_alone(now)
        self.ctx.reply(req_id, "ok")

    def cmd_force_leave(self, req_id, target: str, now: float) -> None:
        if target == self.me:
            return self.ctx.reply(req_id, "ignore")
        if not self.is_member(target):
            return self.ctx.reply_error(req_id, "node_not_in_cluster", target)
        self.remove_member(target, now, by=self.me)
        self.ctx.reply(req_id, "ok")

    def remove_member(self, target: str, now: float, by: str) -> None:
        """Tombstone a member and tell everyone, the member included if it is reachable."""
        t = tombstone(self.records[target], by=by)
        if self.conns.get(target):
            self.ctx.send(target, Sync(self.cluster_id, [t]))
        self.merge([t], now, source=by)
        self.broadcast([t])


def node_arg(args: dict) -> str:
    from ..naming import NodeNameError, parse_node
    try:
        return str(parse_node(args.get("node")))
    except NodeNameError as e:
        raise BadArgument(str(e)) from None
