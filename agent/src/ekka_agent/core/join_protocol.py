"""Join, leave and force-leave: the joiner asks a member (JoinRequest), the member writes the
joiner's record and answers with its table and data (JoinAccepted), and the joiner takes that
copy in place of its own. Leaving, or finding its own tombstone, makes a node a cluster of one.

A mixin of Membership (membership.py), which holds the state. A pending join is
{"target", "req_id", "deadline", "sent"}; it fails with node_down when the target cannot be
reached or does not answer within cluster.join_timeout.
"""
from __future__ import annotations

from .context import BadArgument
from .events import Disconnect
from .messages import JoinAccepted, JoinRequest, Sync
from .records import new_record, tombstone


class JoinProtocol:
    def on_command(self, req, cmd: str, args: dict, now: float) -> None:
        if cmd == "join":
            self.cmd_join(req, node_arg(args), now)
        elif cmd == "leave":
            self.cmd_leave(req, now)
        else:
            self.cmd_force_leave(req, node_arg(args), now)

    # ---------- the joiner ----------
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

    def join_connected(self, p: str, now: float) -> None:
        """A connection to p is up: if p is the join's target, the request goes now."""
        pj = self.pending_join
        if pj and pj["target"] == p and not pj["sent"]:
            pj["sent"] = True
            self.ctx.send(p, JoinRequest(self.new_guid(now)))

    def join_unreachable(self, p: str) -> None:
        pj = self.pending_join
        if pj and pj["target"] == p:
            self.pending_join = None
            self.ctx.reply_error(pj["req_id"], "node_down", p)

    def join_expired(self, now: float) -> None:
        pj = self.pending_join
        if pj and now >= pj["deadline"]:
            self.pending_join = None
            self.ctx.reply_error(pj["req_id"], "node_down", pj["target"])

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
                self.dial_member(q, now)
        self.detector.members_changed(self.others(), now, up=True)
        self.ctx.log("info", "joined cluster %s through %s" % (self.cluster_id[:8], p))
        self.ctx.emit("node_joined", self.me, via=p)
        self.ctx.reply(pj["req_id"], "ok")

    # ---------- the member asked ----------
    def on_join_req(self, p: str, msg: JoinRequest, now: float) -> None:
        cur = self.records.get(p)
        rec = new_record(p, msg.guid, version=(cur["version"] + 1) if cur else 1)
        self.merge([rec], now, source=self.me)
        self.broadcast([rec])
        self.ctx.send(p, JoinAccepted(self.cluster_id, list(self.records.values()), **self.ctx.join_snapshot()))
        self.ctx.log("info", "%s joins the cluster through this node" % p)

    # ---------- leave, force-leave, removal ----------
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


def node_arg(args: dict) -> str:
    from ..naming import NodeNameError, parse_node
    try:
        return str(parse_node(args.get("node")))
    except NodeNameError as e:
        raise BadArgument(str(e)) from None
