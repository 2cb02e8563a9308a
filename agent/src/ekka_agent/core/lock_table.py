"""One node's lock table: the locks it grants (as local lock, leader or quorum voter) and the
highest fencing token it has seen per resource.

An entry belongs to (node, owner): the node whose agent the client asked, and the client's own
id. Expiry times are monotonic here and wall-clock in the snapshot, so a restarted agent keeps
every grant it made until its lease runs out.
"""
from __future__ import annotations


class LockTable:
    def __init__(self, node):
        self.node = node
        self.entries: dict[str, dict] = {}   # res -> {owner, node, strategy, token, expires, count, op, lease}
        self.counters: dict[str, int] = {}   # res -> highest token granted or committed here

    # ---- state ----
    def snapshot(self) -> dict:
        off = self.node.wall_offset
        return {"counters": self.counters,
                "entries": {r: dict(e, expires=e["expires"] + off) for r, e in self.entries.items()}}

    def restore(self, st: dict) -> None:
        off = self.node.wall_offset
        self.counters = {r: int(c) for r, c in st.get("counters", {}).items()}
        self.entries = {r: dict(e, expires=e["expires"] - off) for r, e in st.get("entries", {}).items()}

    def persist(self) -> None:
        # The runtime saves (and fsyncs) the state before it sends the reply we are about to queue.
        self.node.dirty = True

    # ---- time ----
    def expire(self, now: float, res: str | None = None) -> None:
        for r in ([res] if res is not None else list(self.entries)):
            e = self.entries.get(r)
            if e is not None and now >= e["expires"]:
                del self.entries[r]
                self.node.log("info", "lock %r of %s on %s expired" % (r, e["owner"], e["node"]))

    def next_deadline(self):
        return min((e["expires"] for e in self.entries.values()), default=None)

    # ---- grants ----
    def holder(self, res: str, now: float):
        self.expire(now, res)
        return self.entries.get(res)

    def reserve(self, src: str, owner: str, res: str, strategy: str, lease: float, op: str, now: float) -> dict:
        """Phase one of a grant: hold the resource for (src, owner), or say who holds it."""
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
            self.persist()
            return {"ok": True, "counter": self.counters.get(res, 0), "token": e["token"]}
        # Not persisted yet: a reservation lost in a crash only fails its own commit.
        self.entries[res] = {"owner": owner, "node": src, "strategy": strategy, "token": None,
                             "expires": now + lease, "lease": lease, "count": 1, "op": op}
        return {"ok": True, "counter": self.counters.get(res, 0), "token": None}

    def commit(self, src: str, owner: str, res: str, token: int, op: str, now: float) -> bool:
        """Phase two: the coordinator chose the token; remember it even if the entry is gone."""
        if token > self.counters.get(res, 0):
            self.counters[res] = token
            self.persist()
        e = self.holder(res, now)
        if e is None or (e["node"], e["owner"]) != (src, owner):
            return False
        if e["token"] != token:
            e["token"] = token
            self.persist()
        return True

    def grant_now(self, src: str, owner: str, res: str, strategy: str, lease: float, op: str, now: float) -> dict:
        """Single-node grant (local, leader): reserve and issue the token in one step."""
        r = self.reserve(src, owner, res, strategy, lease, op, now)
        if not r["ok"] or r["token"] is not None:
            return r
        # The counter, or the wall clock in ms if later: tokens then keep growing across a
        # leader change as long as the clocks agree better than the time between two grants.
        token = max(self.counters.get(res, 0) + 1, int(self.node.wall_us(now) // 1000))
        self.commit(src, owner, res, token, op, now)
        return dict(r, token=token)

    def renew(self, src: str, owner: str, res: str, lease: float, now: float):
        e = self.holder(res, now)
        if e is None or (e["node"], e["owner"]) != (src, owner) or e["token"] is None:
            return None
        e["expires"] = max(e["expires"], now + lease)
        e["lease"] = lease
        self.persist()
        return e["token"]

    def release(self, src: str, owner: str, res: str, op: str | None = None) -> bool:
        """Free the lock if (src, owner) holds it; with op, only the entry that op created
        (a rollback must not free a hold the owner had before its re-entrant attempt)."""
        e = self.entries.get(res)
        if e is None or (e["node"], e["owner"]) != (src, owner):
            return False
        if op is not None and e["op"] != op:
            return False
        del self.entries[res]
        self.persist()   # or a restart would bring the lock back until its lease ends
        return True

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
