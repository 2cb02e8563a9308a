"""The etcd strategy's side of the coordinator: the holds this node took through etcd, and
what etcd's answers (EtcdLockResult from the runtime's helper) do to them. etcd keeps the
lock; this node only remembers which etcd lease each of its holds is on, so a renew or a
release names that lease and never touches a later hold of the same owner.

A mixin of LockCoordinator (lock_coordinator.py), which holds etcd_held and the ops.
"""
from __future__ import annotations

from .lock_etcd import EtcdLockCall, EtcdLockResult


class EtcdHolds:
    def _etcd_owner(self, owner: str) -> str:
        return "%s|%s" % (self.me, owner)

    @staticmethod
    def _ekey(owner: str, res: str) -> str:
        return "%s\0%s" % (owner, res)

    def on_event(self, event: EtcdLockResult, now: float) -> None:
        op = self.ops.pop(event.op, None)
        if op is None:
            return self._etcd_late(event)
        k = self._ekey(op.owner, op.res)
        if op.kind == "release":
            if event.ok and event.result.get("released"):
                op.released.append("etcd")
            op.oks["etcd"] = True
            if len(op.oks) >= len(op.asked):
                self._finish_release(event.op, op)
            else:
                self.ops[event.op] = op
            return
        if not event.ok:
            if op.kind == "renew":
                self.etcd_held.pop(k, None)
            return self.ctx.reply_error(op.rid, "lost" if op.kind == "renew" else (event.error or "etcd_error"),
                                        message=event.message or event.error)
        r = event.result
        tok = r.get("token")
        # The lease etcd's own confirmed, which may be less than the one asked for (a renewal
        # keeps the TTL the etcd lease was granted with).
        lease = r.get("lease", op.lease)
        self.etcd_held[k] = {"resource": op.res, "owner": op.owner, "token": tok,
                             "lease_id": r.get("lease_id"), "expires": now + lease}
        self.ctx.reply(op.rid, {"resource": op.res, "token": tok, "strategy": "etcd",
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
