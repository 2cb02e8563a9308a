"""The rounds of a quorum, all or leader lock call: whom to ask, the reserve round (each voter
holds the resource and reports its counter), the commit round (max(counters)+1, or the token
of a re-entrant hold), and how a call ends. The client hears "granted" only after `need`
voters stored the token, so a later grant, whose voters overlap these, always picks a bigger
one. Any failure releases the reservations this attempt made, everywhere. Unlike Ekka, an
unreachable voter is a missing vote.

A mixin of LockCoordinator (lock_coordinator.py), which holds the ops (lock_op.py).
"""
from __future__ import annotations

from .lock_op import LockOp
from .messages import LockCommit, LockRelease, LockRenew, LockReply, LockRequest
from .ring import replica_set


class LockRounds:
    def voters(self, strategy: str, res: str):
        """(nodes to ask, votes needed, error) for quorum / all / leader, from this node's view."""
        m = self.ctx.members
        if strategy == "leader":
            return [m.leader()], 1, None
        if strategy == "all":
            reps = m.members()
            need = len(reps)
        else:
            reps, need = replica_set(m.members(), res)   # drained members too (core/drain.py)
        up = [n for n in reps if n == self.me or n in m.up]
        if not reps:
            return [], need, ("no_nodes", "no member to ask")
        if len(up) < need:
            down = [n for n in reps if n not in up]
            return up, need, ("no_quorum", "%s lock on %r needs %d of %s; down: %s"
                              % (strategy, res, need, ", ".join(reps), ", ".join(down)))
        return up, need, None

    def start_round(self, oid: str, now: float) -> None:
        """Send the op's request to every voter it asks; this node answers itself at once."""
        op = self.ops[oid]
        if not op.asked:
            return self._finish_fail(oid, "no_nodes", "no member to ask")
        tok = None
        if op.phase == "reserve":
            # A proposed token: voters whose counter is below it store it at once, and if enough
            # do, the grant needs no second round (see _on_rep).
            op.tok = tok = self.table.counters.get(op.res, 0) + 1
        if op.kind == "renew":
            msg = LockRenew(oid, op.res, op.owner, op.lease)
        else:
            msg = LockRequest(oid, op.phase, op.res, op.owner, op.strategy, op.lease,
                              self.voter.members_view(), tok)
        for n in op.asked:
            if n != self.me:
                self.ctx.send(n, msg)
        if self.me in op.asked:
            self._on_rep(self.me, self.voter.serve(self.me, msg, now), now)

    def _on_rep(self, p: str, msg: LockReply, now: float) -> None:
        oid = msg.op
        op = self.ops.get(oid)
        if op is None:
            return
        ph = msg.phase
        if op.kind == "release":
            if msg.released:
                op.released.append(p)
            op.oks[p] = msg
            # One node that held it is answer enough: releasing early is always safe, and the
            # others' copies go in order before any later request of this node.
            if op.released or len(op.oks) >= len(op.asked):
                self._finish_release(oid)
            return
        if ph == "commit":
            (op.committed if msg.ok else op.cnos).add(p)
            if op.phase == "commit":
                self._check_commit(oid)
            return
        if ph == "reserve" and op.phase == "commit":
            # A late yes: give it the same token, so it counts as one more copy of the grant.
            if msg.ok:
                op.oks[p] = msg
                self._send_commit(oid, p, now)
            return
        if p in op.oks or p in op.nos:
            return
        (op.oks if msg.ok else op.nos)[p] = msg
        if len(op.oks) >= op.need:
            if op.phase == "reserve":
                fast = sorted(n for n, r in op.oks.items() if r.fast == op.tok)
                if len(fast) >= op.need and not any(r.token is not None for r in op.oks.values()):
                    for n in sorted(op.oks):
                        if n not in fast:
                            self._send_commit(oid, n, now)
                    return self._finish_ok(oid, op.tok, nodes=fast)
                return self._commit(oid, now)
            return self._finish_ok(oid, op.oks[p].token)
        if len(op.asked) - len(op.nos) < op.need:
            self._fail_from_nos(oid)

    def _commit(self, oid: str, now: float) -> None:
        op = self.ops[oid]
        held = [r.token for r in op.oks.values() if r.token is not None]
        top = max(int(r.fast or r.counter or 0) for r in op.oks.values())
        others = max((int(r.fast or r.counter or 0) for r in op.oks.values() if r.token is None), default=0)
        # A re-entrant hold keeps its token, unless some voter has seen a later grant since
        # (the hold survived on a voter the other grant did not need): then it gets a new one.
        # A voter that does not hold it and has seen the same number saw another grant of it:
        # the hold may be what is left of an attempt that failed after a voter stored its
        # proposed token (its rollback not there yet), while that number went to another owner
        # through voters this node could not reach. Only a bigger token is then safe.
        op.token = max(held) if held and max(held) >= top and max(held) > others else top + 1
        op.phase = "commit"
        # Our own vote last: it may complete the op, and nothing may be sent after that.
        for n in sorted(op.oks, key=lambda n: n == self.me):
            self._send_commit(oid, n, now)

    def _send_commit(self, oid: str, n: str, now: float) -> None:
        op = self.ops.get(oid)
        if op is None:
            return
        msg = LockCommit(oid, op.res, op.owner, op.token)
        if n == self.me:
            self._on_rep(self.me, self.voter.serve(self.me, msg, now), now)
        else:
            self.ctx.send(n, msg)

    def _check_commit(self, oid: str) -> None:
        op = self.ops.get(oid)
        if op is None:
            return
        if len(op.committed) >= op.need:
            return self._finish_ok(oid, op.token, nodes=op.committed)
        if len(op.oks) - len(op.cnos) < op.need:
            self._finish_fail(oid, "lost", "the reservation ran out before the commit on %s"
                              % ", ".join(sorted(op.cnos)))

    def _fail_from_nos(self, oid: str) -> None:
        op = self.ops[oid]
        locked = [(n, r) for n, r in sorted(op.nos.items()) if r.error == "locked"]
        n, r = locked[0] if locked else sorted(op.nos.items())[0]
        msg = r.message or ("%r is held by %s on %s" % (op.res, r.holder, r.holder_node)
                            if r.error == "locked" else "%s answered %s" % (n, r.error))
        self._finish_fail(oid, r.error or "failed", msg, node=r.holder_node or n)

    def _finish_ok(self, oid: str, token, nodes=None) -> None:
        op = self.ops.pop(oid)
        nodes = sorted(nodes or op.oks)
        if op.kind == "renew" and token is None:
            token = next((r.token for r in op.oks.values() if r.token is not None), None)
        self.ctx.reply(op.rid, {"resource": op.res, "token": token, "strategy": op.strategy,
                                    "lease": op.lease, "nodes": nodes})

    def _finish_fail(self, oid: str, error: str, message: str, node: str | None = None) -> None:
        op = self.ops.pop(oid)
        if op.kind == "release":
            return self._finish_release(oid, op)
        if op.kind == "acquire" and op.strategy not in ("etcd",):
            self._rollback(oid, op)
        if op.kind == "renew":
            error = "lost"
        self.ctx.reply_error(op.rid, error, node=node, message=message)

    def _rollback(self, oid: str, op: LockOp) -> None:
        """Free what this attempt reserved, on every voter asked (replies may have been lost)."""
        msg = LockRelease(oid + "/rb", op.res, op.owner, only_op=oid)
        for n in op.asked:
            if n == self.me:
                self.table.release(self.me, op.owner, op.res, oid)
            else:
                self.ctx.send(n, msg)

    def _finish_release(self, oid: str, op: LockOp | None = None) -> None:
        op = op or self.ops.pop(oid)
        self.ctx.reply(op.rid, {"resource": op.res, "released": bool(op.released),
                                    "nodes": sorted(op.released)})

    def on_peer_down(self, p: str, now: float) -> None:
        for oid in list(self.ops):
            op = self.ops.get(oid)
            if op is None or p not in op.asked:
                continue
            if op.phase == "commit":
                if p not in op.committed:
                    self._on_rep(p, LockReply(oid, False, phase="commit"), now)
            elif p not in op.oks and p not in op.nos:
                self._on_rep(p, LockReply(oid, False, phase=op.phase, error="node_down",
                                          message="%s went down" % p), now)
