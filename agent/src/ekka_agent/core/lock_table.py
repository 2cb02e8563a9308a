"""One node's lock table: the locks it grants (as local lock, leader or quorum voter) and the
highest fencing token it has seen per resource.

An entry belongs to (node, owner): the node whose agent the client asked, and the client's own
id. Nothing here forces a disk write per lock call (an fsync costs more than the whole call):
  - tokens: a ceiling 1000 above the counter is saved, and a restart after a crash resumes
    from it (a clean stop saves the counters themselves);
  - grants: saved with the rest of the state, and exact after a clean stop. After a crash the
    saved grants may be stale, so they are dropped and the node refuses to grant, vote or renew
    for the longest lease it ever gave (also saved): by then every grant it made has ended.
"""
from __future__ import annotations

CEILING_STEP = 1000


class LockTable:
    def __init__(self, ctx):
        self.ctx = ctx
        self.entries: dict[str, dict] = {}   # res -> {owner, node, strategy, token, expires, count, op, lease}
        self.counters: dict[str, int] = {}   # res -> highest token granted or committed here
        self.ceilings: dict[str, int] = {}   # res -> a saved bound above every token handed out
        self.max_lease = 0.0                  # the longest lease granted (saved)
        self.clean = False                    # the saved state was written by a clean stop
        self.crashed = False                  # restored from a state that was not
        self.stopped = False                  # the agent stops: the state above is its last
        self.grace_until = 0.0

    # ---- state ----
    def snapshot(self) -> dict:
        off = self.ctx.wall_offset
        return {"ceilings": dict(self.ceilings), "counters": dict(self.counters), "max_lease": self.max_lease,
                "clean": self.clean,
                "entries": {r: dict(e, expires=e["expires"] + off) for r, e in self.entries.items()}}

    def restore(self, st: dict) -> None:
        off = self.ctx.wall_offset
        self.ceilings = {r: int(c) for r, c in st.get("ceilings", {}).items()}
        self.counters = dict(self.ceilings)
        self.max_lease = float(st.get("max_lease", 0.0))
        self.clean = bool(st.get("clean"))
        if self.clean:      # exact counters: a kept re-entrant hold keeps its token
            self.counters = {r: int(c) for r, c in st.get("counters", {}).items()}
            self.entries = {r: dict(e, expires=e["expires"] - off) for r, e in st.get("entries", {}).items()}
        else:
            self.crashed = bool(self.max_lease)

    def on_start(self, now: float) -> None:
        if self.crashed:
            self.grace_until = now + self.max_lease
            self.ctx.log("warning", "locks: the agent did not stop cleanly; it grants and votes on no lock "
                          "for %.1fs (the longest lease it gave)" % self.max_lease)

    def on_stop(self) -> None:
        self.clean = True
        self.stopped = True
        self.persist()

    def persist(self) -> None:
        # The runtime saves (and fsyncs) the state before it sends the reply we are about to queue.
        self.ctx.persist()

    def _mark_running(self) -> None:
        if self.clean:
            self.clean = False
            self.persist()

    def note_token(self, res: str, token: int) -> None:
        if token > self.counters.get(res, 0):
            self.counters[res] = token
        if token >= self.ceilings.get(res, 0):
            self.ceilings[res] = token + CEILING_STEP
            self.persist()

    def note_lease(self, lease: float) -> None:
        if lease > self.max_lease:
            self.max_lease = lease
            self.persist()

    def recovering(self, now: float):
        if now < self.grace_until:
            return {"ok": False, "error": "recovering",
                    "message": "%s restarted after a crash and takes part in locks again in %.1fs"
                               % (self.ctx.name, self.grace_until - now)}
        return None

    # ---- time ----
    def expire(self, now: float, res: str | None = None) -> None:
        for r in ([res] if res is not None else list(self.entries)):
            e = self.entries.get(r)
            if e is not None and now >= e["expires"]:
                del self.entries[r]
                self.ctx.log("info", "lock %r of %s on %s expired" % (r, e["owner"], e["node"]))

    def next_deadline(self):
        return min(e["expires"] for e in self.entries.values()) if self.entries else None

    # ---- grants ----
    def holder(self, res: str, now: float):
        self.expire(now, res)
        return self.entries.get(res)

    def reserve(self, src: str, owner: str, res: str, strategy: str, lease: float, op: str, now: float) -> dict:
        """Phase one of a grant: hold the resource for (src, owner), or say who holds it."""
        busy = self.recovering(now)
        if busy:
            return busy
        self._mark_running()
        self.note_lease(lease)
        e = self.holder(res, now)
        if e is not None:
            if (e["node"], e["owner"]) != (src, owner):
                return {"ok": False, "error": "locked", "holder": e["owner"], "holder_node": e["node"],
                        "counter": self.counters.get(res, 0)}
            if e["strategy"] != strategy:
                return {"ok": False, "error": "locked", "holder": e["owner"], "holder_node": e["node"],
                        "message": "already held by this owner with strategy %s" % e["strategy"]}
            e["count"] += 1             # re-entrant, as in Ekka
            e["expires"] = max(e["expires"], now + lease)
            e["last"] = op
            return {"ok": True, "counter": self.counters.get(res, 0), "token": e["token"]}
        self.entries[res] = {"owner": owner, "node": src, "strategy": strategy, "token": None,
                             "expires": now + lease, "lease": lease, "count": 1, "op": op, "last": op}
        return {"ok": True, "counter": self.counters.get(res, 0), "token": None}

    def commit(self, src: str, owner: str, res: str, token: int, op: str, now: float) -> bool:
        """Phase two: the coordinator chose the token; remember it even if the entry is gone."""
        self.note_token(res, token)
        e = self.holder(res, now)
        if e is None or (e["node"], e["owner"]) != (src, owner):
            return False
        e["token"] = token
        return True

    def grant_now(self, src: str, owner: str, res: str, strategy: str, lease: float, op: str, now: float) -> dict:
        """Single-node grant (local, leader): reserve and issue the token in one step."""
        r = self.reserve(src, owner, res, strategy, lease, op, now)
        if not r["ok"] or r["token"] is not None:
            return r
        # The counter, or the wall clock in ms if later: tokens then keep growing across a
        # leader change as long as the clocks agree better than the time between two grants.
        token = max(self.counters.get(res, 0) + 1, int(self.ctx.wall_us(now) // 1000))
        self.commit(src, owner, res, token, op, now)
        return dict(r, token=token)

    def renew(self, src: str, owner: str, res: str, lease: float, now: float):
        e = self.holder(res, now)
        if e is None or (e["node"], e["owner"]) != (src, owner) or e["token"] is None:
            return None
        self.note_lease(lease)
        e["expires"] = max(e["expires"], now + lease)
        e["lease"] = lease
        return e["token"]

    def release(self, src: str, owner: str, res: str, op: str | None = None, by: str | None = None) -> bool:
        """Free the lock if (src, owner) holds it; with op, only the entry that op created
        (a rollback must not free a hold the owner had before its re-entrant attempt). `by` is
        the release's own op id: a release overtaken by a newer request of its node (a reordered
        delivery) leaves the newer hold alone."""
        e = self.entries.get(res)
        if e is None or (e["node"], e["owner"]) != (src, owner):
            return False
        if op is not None and e["op"] != op:
            return False
        if by is not None and _newer(e.get("last"), by):
            return False
        del self.entries[res]
        return True

    # ---- drain (core/drain.py) ----
    def held(self, now: float) -> dict:
        """The grants this table holds, with the time each has left: what a draining node hands over."""
        self.expire(now)
        return {r: {"owner": e["owner"], "node": e["node"], "strategy": e["strategy"], "token": e["token"],
                    "lease": e["lease"], "left": e["expires"] - now}
                for r, e in self.entries.items() if e["token"] is not None}

    def take_over(self, entries: dict, counters: dict, now: float) -> None:
        """A draining member's grants and counters, added to ours. A copy more of a grant only
        refuses more; a resource held here by another holder keeps it (only one of them can
        have been granted by a majority, and this node voted for its own)."""
        for r, c in counters.items():
            self.note_token(r, c)
        for r, e in entries.items():
            self.note_token(r, e["token"])
            self.note_lease(e["lease"])
            cur = self.holder(r, now)
            if cur is None:
                self.entries[r] = {"owner": e["owner"], "node": e["node"], "strategy": e["strategy"],
                                   "token": e["token"], "expires": now + e["left"], "lease": e["lease"],
                                   "count": 1, "op": "handover", "last": None}
            elif (cur["node"], cur["owner"]) == (e["node"], e["owner"]):
                cur["expires"] = max(cur["expires"], now + e["left"])
                cur["token"] = max(cur["token"] or 0, e["token"])
        self.persist()

    def drop_node(self, src: str, strategies) -> list:
        """Forget the locks a node holds with the given strategies (it went down)."""
        gone = [r for r, e in self.entries.items() if e["node"] == src and e["strategy"] in strategies]
        for r in gone:
            del self.entries[r]
        return gone

    def listing(self, now: float) -> list:
        self.expire(now)
        return [{"resource": r, "owner": e["owner"], "node": e["node"], "strategy": e["strategy"],
                 "token": e["token"], "count": e["count"], "expires_in": round(e["expires"] - now, 3)}
                for r, e in sorted(self.entries.items()) if e["token"] is not None]


def _newer(a, b) -> bool:
    """Is op id a ("node/boot/seq") a later request of the same agent run than b?"""
    try:
        na, ba, sa = a.rsplit("/", 2)
        nb, bb, sb = b.rsplit("/", 2)
        return (na, ba) == (nb, bb) and int(sa) > int(sb)
    except (AttributeError, ValueError):
        return False
