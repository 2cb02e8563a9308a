"""The lock voter: every node's side of a lock call (core/lock_coordinator.py asks).

It answers lock_req / lock_commit / lock_renew / lock_rel from its LockTable
(core/lock_table.py): as the local table, as the leader for leader locks, and as one voter of
a quorum or all lock. A reserve is refused when the asker sees another member list than this
node (their replica sets could differ), and a leader lock by a node that is not the leader in
its own view. While its node drains, or has just been revived, it grants no leader lock; it
votes on quorum and all locks throughout (core/lock_handover.py). The coordinator on this node
asks it directly.
"""
from __future__ import annotations

from . import drain
from .context import Component, earliest
from .lock_table import LockTable
from .lock_handover import Handover
from .messages import (LockCommit, LockHandover, LockHandoverAck, LockHandoverAsk, LockRelease, LockRenew, LockReply,
                       LockRequest)
from .ring import stable_hash


class LockVoter(Component):
    name = "lock_voter"
    handles = (LockRequest, LockCommit, LockRenew, LockRelease, LockHandover, LockHandoverAck, LockHandoverAsk)

    def __init__(self, ctx, timeout: float):
        self.ctx = ctx
        self.me = ctx.name
        self.table = LockTable(ctx)
        self.handover = Handover(ctx, self.table, timeout)   # drain and revive

    def on_start(self, now: float) -> None:
        self.table.on_start(now)

    def on_stop(self, now: float) -> None:
        self.table.on_stop()

    def next_deadline(self):
        return earliest(self.table.next_deadline(), self.handover.next_deadline())

    def on_tick(self, now: float) -> None:
        self.table.expire(now)
        self.handover.on_tick(now)

    def members_view(self) -> int:
        """A fingerprint of the member list, sent with a reserve and compared by each voter."""
        return stable_hash(drain.view_key(self.ctx.members))

    def on_drain(self, drained: bool, now: float) -> bool:
        return self.handover.on_drain(drained, now)

    def on_peer_down(self, p: str, now: float) -> None:
        self.handover.on_peer_down(p, now)
        # Ekka drops a dead owner's locks. Safe only for leader locks held here; quorum and all
        # voters keep them until the lease runs out, since the owner may only be cut off.
        for r in self.table.drop_node(p, ("leader",)):
            self.ctx.log("info", "released leader lock %r of %s: the node is down" % (r, p))

    def on_message(self, p: str, msg, now: float) -> None:
        if isinstance(msg, (LockHandover, LockHandoverAck, LockHandoverAsk)):
            if self.ctx.members.is_member(p):
                self.handover.on_message(p, msg, now)
            return
        if not self.ctx.members.is_member(p):
            rep = LockReply(msg.op, False, error="not_member",
                            message="%s is not a member of %s's cluster" % (p, self.me))
        else:
            rep = self.serve(p, msg, now)
        self.ctx.send(p, rep)

    def serve(self, src: str, msg, now: float) -> LockReply:
        tb, oid, res, owner = self.table, msg.op, msg.resource, msg.owner
        if tb.stopped and isinstance(msg, (LockRequest, LockCommit, LockRenew)):
            # Its table was saved as a clean stop's: a vote given now could be lost with the
            # process, and the restart would trust the table without waiting out the leases.
            phase = msg.phase if isinstance(msg, LockRequest) else "commit" if isinstance(msg, LockCommit) else "renew"
            return LockReply(oid, False, phase=phase, error="recovering", message="%s is stopping" % self.me)
        if isinstance(msg, LockRequest):
            lease = float(msg.lease)
            # Draining or just revived (core/lock_handover.py): a leader or local grant here now
            # could be missed by the leader that takes over. Quorum and `all` votes go on: a
            # drained node stays a replica (core/drain.py).
            refused = self.handover.refusal() if msg.phase == "one" else None
            if refused:
                r = refused
            elif msg.phase == "one" and self.ctx.members.leader() != self.me:
                # The asker's view is behind a leader change (a drain or revive): the leader's
                # table is elsewhere now.
                r = {"ok": False, "error": "not_leader", "message": "%s is not the leader; %s is" % (
                    self.me, self.ctx.members.leader())}
            elif msg.phase == "one":
                r = tb.grant_now(src, owner, res, msg.strategy, lease, oid, now)
            elif msg.members_view != self.members_view():
                r = {"ok": False, "error": "view_mismatch",
                     "message": "%s and %s disagree on the member list; retry" % (src, self.me)}
            else:
                r = tb.reserve(src, owner, res, msg.strategy, lease, oid, now)
                tok = msg.token
                if r["ok"] and r["token"] is None and tok is not None and tok > r["counter"]:
                    tb.commit(src, owner, res, tok, oid, now)
                    r["fast"] = tok
            return LockReply(oid, phase=msg.phase, **r)
        if isinstance(msg, LockCommit):
            ok = tb.commit(src, owner, res, msg.token, oid, now)
            return LockReply(oid, ok, phase="commit", error=None if ok else "lost")
        if isinstance(msg, LockRenew):
            e = tb.holder(res, now)
            if e is not None and e["strategy"] == "leader" and self.ctx.members.leader() != self.me:
                # The asker's view is behind a leader change: the leader's copy would not get
                # this lease, run out first, and the lock be granted again.
                return LockReply(oid, False, phase="renew", error="not_leader", message="%s is not the "
                                 "leader; %s is" % (self.me, self.ctx.members.leader()))
            tok = tb.renew(src, owner, res, float(msg.lease), now)
            if tok is not None:
                self.handover.renewed(res, now)
            return LockReply(oid, tok is not None, phase="renew", token=tok, error=None if tok is not None else "lost")
        return LockReply(oid, True, phase="rel", released=tb.release(src, owner, res, msg.only_op, by=oid))
