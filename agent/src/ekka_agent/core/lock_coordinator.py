"""The lock coordinator: the node a client asked runs each lock call to its end.

It checks the command, picks the voters (core/lock_voter.py on each node) from the strategy
(core/locks.py lists them) and runs the rounds. quorum and all take two: reserve (each voter
holds the resource and reports its counter), then commit (the coordinator sends
max(counters)+1, or the token of a re-entrant hold). The client hears "granted" only after
`need` voters stored the token, so a later grant, whose voters overlap these, always picks a
bigger one. Any failure releases the reservations this attempt made, everywhere. Unlike Ekka,
an unreachable voter is a missing vote. The etcd strategy is an EtcdLockCall to the runtime's
etcd helper and its EtcdLockResult.
"""
from __future__ import annotations

from . import drain
from .context import Component
from ..strategies import LOCK_STRATEGIES as STRATEGIES
from .lock_etcd import EtcdLockCall, EtcdLockResult
from .lock_voter import LockVoter
from .messages import LockCommit, LockRelease, LockRenew, LockReply, LockRequest
from .ring import replica_set
from .settings import LockSettings

MAX_RESOURCE = 512
MAX_OWNER = 256


COMMANDS = ("lock_acquire", "lock_renew", "lock_release", "lock_list")


class LockCoordinator(Component):
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
        self.ops: dict[str, dict] = {}
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
        return min((op["deadline"] for op in self.ops.values()), default=None)

    def on_tick(self, now: float) -> None:
        for oid in [k for k, op in self.ops.items() if now >= op["deadline"]]:
            op = self.ops.get(oid)
            if op is None:
                continue
            silent = [n for n in op["asked"] if n not in op["oks"] and n not in op["nos"]]
            self._finish_fail(oid, "timeout", "no answer in %.1fs from %s" % (self.timeout, ", ".join(silent) or "-"))

    # ---------- commands ----------
    def on_command(self, rid, cmd: str, a: dict, now: float) -> None:
        if cmd == "lock_list":
            return self.ctx.reply(rid, {"node": self.me, "locks": self.listing(now)})
        try:
            res, owner = self._str(a, "resource", MAX_RESOURCE), self._str(a, "owner", MAX_OWNER)
            strategy = a.get("strategy") or (None if cmd == "lock_release" else self.default_strategy)
            if strategy is not None and strategy not in STRATEGIES:
                raise ValueError("strategy = %r: must be one of %s" % (strategy, ", ".join(STRATEGIES)))
            lease = self._lease(a.get("lease"))
        except ValueError as e:
            return self.ctx.reply_error(rid, "bad_argument", message=str(e))
        if strategy == "etcd" and not self.etcd:
            return self.ctx.reply_error(rid, "not_configured", message="the etcd strategy needs "
                                        "cluster.locks.etcd.server or cluster.etcd.server in the config")
        getattr(self, "_" + cmd)(rid, res, owner, strategy, lease, now)

    @staticmethod
    def _str(a: dict, key: str, limit: int) -> str:
        v = a.get(key)
        if not isinstance(v, str) or not 1 <= len(v.encode()) <= limit or "\0" in v:
            raise ValueError("%s = %r: must be a string of 1-%d bytes" % (key, v, limit))
        return v

    def _lease(self, v) -> float:
        if v is None:
            return self.default_lease
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.1 <= v <= self.max_lease:
            raise ValueError("lease = %r: must be a number of seconds from 0.1 to %g (cluster.locks.max_lease)"
                             % (v, self.max_lease))
        return float(v)

    def _new_op(self, rid, kind: str, res: str, owner: str, strategy, lease: float, now: float, **kw) -> str:
        self.seq += 1
        oid = "%s/%s/%d" % (self.me, self.boot, self.seq)
        op = dict(rid=rid, kind=kind, res=res, owner=owner, strategy=strategy, lease=lease, asked=[], need=0,
                  oks={}, nos={}, phase=kind, token=None, committed=set(), cnos=set(), deadline=now + self.timeout)
        op.update(kw)
        self.ops[oid] = op
        return oid

    def voters(self, strategy: str, res: str):
        """(nodes to ask, votes needed, error) for quorum / all / leader, from this node's view."""
        m = self.ctx.members
        if strategy == "leader":
            return [m.leader()], 1, None
        if strategy == "all":
            reps = m.members()
            need = len(reps)
        else:
            reps, need = replica_set(drain.ring_members(m), res)   # drained members hold no replica
        up = [n for n in reps if n == self.me or n in m.up]
        if not reps:
            return [], need, ("no_nodes", "no member to ask")
        if len(up) < need:
            down = [n for n in reps if n not in up]
            return up, need, ("no_quorum", "%s lock on %r needs %d of %s; down: %s"
                              % (strategy, res, need, ", ".join(reps), ", ".join(down)))
        return up, need, None

    # ---- acquire ----
    def _lock_acquire(self, rid, res, owner, strategy, lease, now) -> None:
        if drain.stepping_down(self.ctx.members):
            return self.ctx.reply_error(rid, "draining", node=self.me, message="%s is drained: it grants no new "
                                        "lock; ask another member (or `ekka-ctl node revive`)" % self.me)
        if strategy == "etcd":
            oid = self._new_op(rid, "acquire", res, owner, strategy, lease, now, asked=["etcd"], need=1)
            self.ops[oid]["deadline"] = now + 2 * self.timeout   # the helper's own timeout fires first
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

    def start_round(self, oid: str, now: float) -> None:
        """Send the op's request to every voter it asks; this node answers itself at once."""
        op = self.ops[oid]
        if not op["asked"]:
            return self._finish_fail(oid, "no_nodes", "no member to ask")
        tok = None
        if op["phase"] == "reserve":
            # A proposed token: voters whose counter is below it store it at once, and if enough
            # do, the grant needs no second round (see _on_rep).
            op["tok"] = tok = self.table.counters.get(op["res"], 0) + 1
        if op["kind"] == "renew":
            msg = LockRenew(oid, op["res"], op["owner"], op["lease"])
        else:
            msg = LockRequest(oid, op["phase"], op["res"], op["owner"], op["strategy"], op["lease"],
                              self.voter.members_view(), tok)
        for n in op["asked"]:
            if n != self.me:
                self.ctx.send(n, msg)
        if self.me in op["asked"]:
            self._on_rep(self.me, self.voter.serve(self.me, msg, now), now)

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
            self.ops[oid]["deadline"] = now + 2 * self.timeout
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
            op["deadline"] = now + 2 * self.timeout
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

    # ---------- the coordinator's side ----------
    def _on_rep(self, p: str, msg: LockReply, now: float) -> None:
        oid = msg.op
        op = self.ops.get(oid)
        if op is None:
            return
        ph = msg.phase
        if op["kind"] == "release":
            if msg.released:
                op["released"].append(p)
            op["oks"][p] = msg
            # One node that held it is answer enough: releasing early is always safe, and the
            # others' copies go in order before any later request of this node.
            if op["released"] or len(op["oks"]) >= len(op["asked"]):
                self._finish_release(oid)
            return
        if ph == "commit":
            (op["committed"] if msg.ok else op["cnos"]).add(p)
            if op["phase"] == "commit":
                self._check_commit(oid)
            return
        if ph == "reserve" and op["phase"] == "commit":
            # A late yes: give it the same token, so it counts as one more copy of the grant.
            if msg.ok:
                op["oks"][p] = msg
                self._send_commit(oid, p, now)
            return
        if p in op["oks"] or p in op["nos"]:
            return
        (op["oks"] if msg.ok else op["nos"])[p] = msg
        if len(op["oks"]) >= op["need"]:
            if op["phase"] == "reserve":
                fast = sorted(n for n, r in op["oks"].items() if r.fast == op["tok"])
                if len(fast) >= op["need"] and not any(r.token is not None for r in op["oks"].values()):
                    for n in sorted(op["oks"]):
                        if n not in fast:
                            self._send_commit(oid, n, now)
                    return self._finish_ok(oid, op["tok"], nodes=fast)
                return self._commit(oid, now)
            return self._finish_ok(oid, op["oks"][p].token)
        if len(op["asked"]) - len(op["nos"]) < op["need"]:
            self._fail_from_nos(oid)

    def _commit(self, oid: str, now: float) -> None:
        op = self.ops[oid]
        held = [r.token for r in op["oks"].values() if r.token is not None]
        top = max(int(r.fast or r.counter or 0) for r in op["oks"].values())
        # A re-entrant hold keeps its token, unless some voter has seen a later grant since
        # (the hold survived on a voter the other grant did not need): then it gets a new one.
        op["token"] = max(held) if held and max(held) >= top else top + 1
        op["phase"] = "commit"
        # Our own vote last: it may complete the op, and nothing may be sent after that.
        for n in sorted(op["oks"], key=lambda n: n == self.me):
            self._send_commit(oid, n, now)

    def _send_commit(self, oid: str, n: str, now: float) -> None:
        op = self.ops.get(oid)
        if op is None:
            return
        msg = LockCommit(oid, op["res"], op["owner"], op["token"])
        if n == self.me:
            self._on_rep(self.me, self.voter.serve(self.me, msg, now), now)
        else:
            self.ctx.send(n, msg)

    def _check_commit(self, oid: str) -> None:
        op = self.ops.get(oid)
        if op is None:
            return
        if len(op["committed"]) >= op["need"]:
            return self._finish_ok(oid, op["token"], nodes=op["committed"])
        if len(op["oks"]) - len(op["cnos"]) < op["need"]:
            self._finish_fail(oid, "lost", "the reservation ran out before the commit on %s"
                              % ", ".join(sorted(op["cnos"])))

    def _fail_from_nos(self, oid: str) -> None:
        op = self.ops[oid]
        locked = [(n, r) for n, r in sorted(op["nos"].items()) if r.error == "locked"]
        n, r = locked[0] if locked else sorted(op["nos"].items())[0]
        msg = r.message or ("%r is held by %s on %s" % (op["res"], r.holder, r.holder_node)
                            if r.error == "locked" else "%s answered %s" % (n, r.error))
        self._finish_fail(oid, r.error or "failed", msg, node=r.holder_node or n)

    def _finish_ok(self, oid: str, token, nodes=None) -> None:
        op = self.ops.pop(oid)
        nodes = sorted(nodes or op["oks"])
        if op["kind"] == "renew" and token is None:
            token = next((r.token for r in op["oks"].values() if r.token is not None), None)
        self.ctx.reply(op["rid"], {"resource": op["res"], "token": token, "strategy": op["strategy"],
                                    "lease": op["lease"], "nodes": nodes})

    def _finish_fail(self, oid: str, error: str, message: str, node: str | None = None) -> None:
        op = self.ops.pop(oid)
        if op["kind"] == "release":
            return self._finish_release(oid, op)
        if op["kind"] == "acquire" and op["strategy"] not in ("etcd",):
            self._rollback(oid, op)
        if op["kind"] == "renew":
            error = "lost"
        self.ctx.reply_error(op["rid"], error, node=node, message=message)

    def _rollback(self, oid: str, op: dict) -> None:
        """Free what this attempt reserved, on every voter asked (replies may have been lost)."""
        msg = LockRelease(oid + "/rb", op["res"], op["owner"], only_op=oid)
        for n in op["asked"]:
            if n == self.me:
                self.table.release(self.me, op["owner"], op["res"], oid)
            else:
                self.ctx.send(n, msg)

    def _finish_release(self, oid: str, op: dict | None = None) -> None:
        op = op or self.ops.pop(oid)
        self.ctx.reply(op["rid"], {"resource": op["res"], "released": bool(op["released"]),
                                    "nodes": sorted(op["released"])})

    def on_peer_down(self, p: str, now: float) -> None:
        for oid in list(self.ops):
            op = self.ops.get(oid)
            if op is None or p not in op["asked"]:
                continue
            if op["phase"] == "commit":
                if p not in op["committed"]:
                    self._on_rep(p, LockReply(oid, False, phase="commit"), now)
            elif p not in op["oks"] and p not in op["nos"]:
                self._on_rep(p, LockReply(oid, False, phase=op["phase"], error="node_down",
                                          message="%s went down" % p), now)

    # ---------- etcd ----------
    def _etcd_owner(self, owner: str) -> str:
        return "%s|%s" % (self.me, owner)

    @staticmethod
    def _ekey(owner: str, res: str) -> str:
        return "%s\0%s" % (owner, res)

    def on_event(self, event: EtcdLockResult, now: float) -> None:
        op = self.ops.pop(event.op, None)
        if op is None:
            return self._etcd_late(event)
        k = self._ekey(op["owner"], op["res"])
        if op["kind"] == "release":
            if event.ok and event.result.get("released"):
                op["released"].append("etcd")
            op["oks"]["etcd"] = True
            if len(op["oks"]) >= len(op["asked"]):
                self._finish_release(event.op, op)
            else:
                self.ops[event.op] = op
            return
        if not event.ok:
            if op["kind"] == "renew":
                self.etcd_held.pop(k, None)
            return self.ctx.reply_error(op["rid"], "lost" if op["kind"] == "renew" else (event.error or "etcd_error"),
                                        message=event.message or event.error)
        r = event.result
        tok = r.get("token")
        # The lease etcd's own confirmed, which may be less than the one asked for (a renewal
        # keeps the TTL the etcd lease was granted with).
        lease = r.get("lease", op["lease"])
        self.etcd_held[k] = {"resource": op["res"], "owner": op["owner"], "token": tok,
                             "lease_id": r.get("lease_id"), "expires": now + lease}
        self.ctx.reply(op["rid"], {"resource": op["res"], "token": tok, "strategy": "etcd",
                                   "lease": lease, "nodes": ["etcd"]})

    def _etcd_late(self, event: EtcdLockResult) -> None:
        """An etcd acquire that succeeded after its caller was told `timeout`."""
        r = event.result
        if not (event.ok and r.get("kind") == "acquire"):
            return
        owner = r["owner"].split("|", 1)[1]
        held = self.etcd_held.get(self._ekey(owner, r["resource"]))
        if held is not None and r.get("joined"):
            # It moved the hold this owner still trusts onto a new etcd lease (never a shorter
            # one): follow it, so that renew and release name the lease the key is on.
            held["lease_id"] = r.get("lease_id")
            return
        # Nobody trusts it: hand it back, naming its lease, so a newer hold of the same owner
        # (a retry that re-entered it moved it onto another lease) is left alone.
        self.ctx.act(EtcdLockCall(event.op + "/late", "release", r["resource"], r["owner"],
                                          lease_id=r.get("lease_id")))

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
