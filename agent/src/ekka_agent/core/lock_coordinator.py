"""The lock coordinator: the node a client asked runs each lock call to its end.

It checks the command (lock_args.py), picks the voters (core/lock_voter.py on each node) from
the strategy (core/locks.py lists them) and runs the rounds (lock_rounds.py); each call is a
LockOp (lock_op.py). local grants from this node's table at once; the etcd strategy is an
EtcdLockCall to the runtime's etcd helper and its EtcdLockResult (lock_etcd_holds.py).
"""
from __future__ import annotations

from . import drain
from .context import Component
from ..strategies import LOCK_STRATEGIES as STRATEGIES
from .lock_args import MAX_OWNER, MAX_RESOURCE, lease_arg, text_arg
from .lock_etcd import EtcdLockCall, EtcdLockResult
from .lock_etcd_holds import EtcdHolds
from .lock_op import LockOp
from .lock_rounds import LockRounds
from .lock_voter import LockVoter
from .messages import LockRelease, LockReply
from .settings import LockSettings


COMMANDS = ("lock_acquire", "lock_renew", "lock_release", "lock_list")


class LockCoordinator(LockRounds, EtcdHolds, Component):
    # Named "locks": its state (with the voter's table) is saved under that name.
    name = "locks"
    handles = (LockReply,)
    commands = COMMANDS
    events = (EtcdLockResult,)

    def __init__(self, ctx, s: LockSettings, voter: LockVoter):
        self.ctx = ctx
        self.me = ctx.name
        self.voter = voter
        self.default_strategy = s.default_strategy
        self.default_lease = s.default_lease
        self.max_lease = s.max_lease
        self.timeout = s.request_timeout
        self.etcd = s.etcd
        self.table = voter.table       # the local and leader strategies grant from it directly
        self.etcd_held: dict[str, dict] = {}   # "owner\0res" -> {resource, owner, token, expires}
        self.ops: dict[str, LockOp] = {}
        self.boot = "%08x" % ctx.rng.getrandbits(32)   # op ids stay unique across restarts
        self.seq = 0

    # ---------- state ----------
    def snapshot(self) -> dict:
        off = self.ctx.wall_offset
        return {"table": self.table.snapshot(),
                "etcd": {k: dict(v, expires=v["expires"] + off) for k, v in self.etcd_held.items()}}

    def restore(self, st: dict) -> None:
        off = self.ctx.wall_offset
        self.table.restore(st.get("table", {}))
        self.etcd_held = {k: dict(v, expires=v["expires"] - off) for k, v in st.get("etcd", {}).items()}

    def status(self, st: dict) -> None:
        st["locks"] = {"granted_here": len(self.table.entries), "etcd": bool(self.etcd)}

    # ---------- time ----------
    def next_deadline(self):
        return min(op.deadline for op in self.ops.values()) if self.ops else None

    def on_tick(self, now: float) -> None:
        for oid in [k for k, op in self.ops.items() if now >= op.deadline]:
            op = self.ops.get(oid)
            if op is None:
                continue
            silent = [n for n in op.asked if n not in op.oks and n not in op.nos]
            self._finish_fail(oid, "timeout", "no answer in %.1fs from %s" % (self.timeout, ", ".join(silent) or "-"))

    # ---------- commands ----------
    def on_command(self, rid, cmd: str, a: dict, now: float) -> None:
        if cmd == "lock_list":
            return self.ctx.reply(rid, {"node": self.me, "locks": self.listing(now)})
        try:
            res, owner = text_arg(a, "resource", MAX_RESOURCE), text_arg(a, "owner", MAX_OWNER)
            strategy = a.get("strategy") or (None if cmd == "lock_release" else self.default_strategy)
            if strategy is not None and strategy not in STRATEGIES:
                raise ValueError("strategy = %r: must be one of %s" % (strategy, ", ".join(STRATEGIES)))
            lease = lease_arg(a.get("lease"), self.default_lease, self.max_lease)
        except ValueError as e:
            return self.ctx.reply_error(rid, "bad_argument", message=str(e))
        if strategy == "etcd" and not self.etcd:
            return self.ctx.reply_error(rid, "not_configured", message="the etcd strategy needs "
                                        "cluster.locks.etcd.server or cluster.etcd.server in the config")
        getattr(self, "_" + cmd)(rid, res, owner, strategy, lease, now)

    def _new_op(self, rid, kind: str, res: str, owner: str, strategy, lease: float, now: float, **kw) -> str:
        self.seq += 1
        oid = "%s/%s/%d" % (self.me, self.boot, self.seq)
        self.ops[oid] = LockOp(rid, kind, res, owner, strategy, lease, now + self.timeout, **kw)
        return oid

    # ---- acquire ----
    def _lock_acquire(self, rid, res, owner, strategy, lease, now) -> None:
        if drain.stepping_down(self.ctx.members):
            return self.ctx.reply_error(rid, "draining", node=self.me, message="%s is drained: it grants no new "
                                        "lock; ask another member (or `ekka-ctl node revive`)" % self.me)
        if strategy == "etcd":
            oid = self._new_op(rid, "acquire", res, owner, strategy, lease, now, asked=["etcd"], need=1)
            self.ops[oid].deadline = now + 2 * self.timeout   # the helper's own timeout fires first
            self.ctx.act(EtcdLockCall(oid, "acquire", res, self._etcd_owner(owner), lease))
            return
        if strategy == "local":
            r = self.table.grant_now(self.me, owner, res, "local", lease, "local", now)
            return self._reply_grant(rid, r, res, strategy, lease, [self.me])
        targets, need, err = self.voters(strategy, res)
        if err:
            return self.ctx.reply_error(rid, err[0], message=err[1])
        oid = self._new_op(rid, "acquire", res, owner, strategy, lease, now, asked=targets, need=need,
                           phase="one" if strategy == "leader" else "reserve")
        self.start_round(oid, now)

    def _reply_grant(self, rid, r: dict, res, strategy, lease, nodes) -> None:
        if r["ok"]:
            return self.ctx.reply(rid, {"resource": res, "token": r["token"], "strategy": strategy,
                                         "lease": lease, "nodes": sorted(nodes)})
        self.ctx.reply_error(rid, r.get("error", "locked"), node=r.get("holder_node"),
                              message=r.get("message") or "%r is held by %s on %s"
                              % (res, r.get("holder"), r.get("holder_node")))

    # ---- renew ----
    def _lock_renew(self, rid, res, owner, strategy, lease, now) -> None:
        if strategy == "etcd":
            k = self._ekey(owner, res)
            if k not in self.etcd_held:
                return self.ctx.reply_error(rid, "lost", message="%r is not held by %s through etcd" % (res, owner))
            oid = self._new_op(rid, "renew", res, owner, strategy, lease, now, asked=["etcd"], need=1)
            self.ops[oid].deadline = now + 2 * self.timeout
            self.ctx.act(EtcdLockCall(oid, "renew", res, self._etcd_owner(owner), lease,
                                              self.etcd_held[k].get("lease_id")))
            return
        if strategy == "local":
            t = self.table.renew(self.me, owner, res, lease, now)
            if t is None:
                return self.ctx.reply_error(rid, "lost", message="%r is not held by %s" % (res, owner))
            return self.ctx.reply(rid, {"resource": res, "token": t, "lease": lease, "nodes": [self.me]})
        targets, need, err = self.voters(strategy, res)
        if err:
            return self.ctx.reply_error(rid, "lost", message=err[1])
        oid = self._new_op(rid, "renew", res, owner, strategy, lease, now, asked=targets, need=need)
        self.start_round(oid, now)

    # ---- release ----
    def _lock_release(self, rid, res, owner, strategy, lease, now) -> None:
        m = self.ctx.members
        asked = [self.me] + [n for n in m.others() if n in m.up]
        if strategy == "local":
            asked = [self.me]
        ek = self._ekey(owner, res)
        use_etcd = self.etcd and (strategy == "etcd" or (strategy is None and ek in self.etcd_held))
        if strategy == "etcd":
            asked = []
        if use_etcd:
            asked.append("etcd")
        oid = self._new_op(rid, "release", res, owner, strategy, lease, now, asked=asked, need=len(asked),
                           released=[])
        op = self.ops[oid]
        if use_etcd:
            # Name the hold's etcd lease: this release can then never free a later hold of the
            # same owner, however late etcd sees it.
            held = self.etcd_held.pop(ek, None) or {}
            op.deadline = now + 2 * self.timeout
            self.ctx.act(EtcdLockCall(oid, "release", res, self._etcd_owner(owner),
                                              lease_id=held.get("lease_id")))
        msg = LockRelease(oid, res, owner)
        for n in asked:
            if n not in (self.me, "etcd"):
                self.ctx.send(n, msg)
        if self.me in asked:
            self._on_rep(self.me, self.voter.serve(self.me, msg, now), now)
        elif not asked:
            self._finish_release(oid)

    # ---------- the voter's side ----------
    def on_message(self, p: str, msg: LockReply, now: float) -> None:
        self._on_rep(p, msg, now)

    # ---------- views ----------
    def listing(self, now: float) -> list:
        out = self.table.listing(now)
        for k, v in list(self.etcd_held.items()):
            if now >= v["expires"]:
                del self.etcd_held[k]
                continue
            out.append({"resource": v["resource"], "owner": v["owner"], "node": self.me, "strategy": "etcd",
                        "token": v["token"], "count": 1, "expires_in": round(v["expires"] - now, 3)})
        return out
