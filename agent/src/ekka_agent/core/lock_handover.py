"""What happens to a node's lock table when it drains or is revived (core/drain.py).

Draining: its leader locks, and its counters, go to every member that may lead next (the
next-oldest leads from then on), before anyone asks it. Quorum grants stay where they are: a
drained node stays a replica and votes. The node coordinates no new grant and, as leader,
grants nothing new from the start of the drain (`all` and quorum votes go on), and counts as
drained only once those members acknowledged (or went down).

Revived: this node may lead again, but holds none of the leader locks granted without it. It
asks every running member for its table, carrying its new record; a member merges that record
first and answers with everything it holds. Until all have answered it grants no leader or local
lock (quorum and `all` votes go on: its replica table never stopped being kept).
"""
from __future__ import annotations

from . import drain
from .messages import LockHandover, LockHandoverAck, LockHandoverAsk


class Handover:
    def __init__(self, ctx, table, timeout: float):
        self.ctx = ctx
        self.me = ctx.name
        self.table = table
        self.timeout = timeout
        self.handing: dict = {}     # draining: peer -> op id, until it acknowledges
        self.asking: dict = {}      # revived: peer -> op id, until it answers
        self.deadline = None
        self.seq = 0

    def _op(self) -> str:
        self.seq += 1
        return "%s/handover/%d/%d" % (self.me, int(self.ctx.wall_us(self.ctx.now)), self.seq)

    def refusal(self):
        """Why this node grants no leader or local lock now (None: it does)."""
        if drain.stepping_down(self.ctx.members):
            return {"ok": False, "error": "draining",
                    "message": "%s is drained: it grants no new lock; retry" % self.me}
        if self.asking:
            return {"ok": False, "error": "recovering", "message": "%s was revived and is collecting the lock "
                    "tables; retry" % self.me}
        return None

    # ---------- drain / revive ----------
    def on_drain(self, drained: bool, now: float) -> bool:
        self.handing, self.asking = {}, {}
        self.deadline = None
        m = self.ctx.members
        if not drained:
            rec = m.records[self.me]
            for n in sorted(m.up):
                self.asking[n] = op = self._op()
                self.ctx.send(n, LockHandoverAsk(op, rec))
            if self.asking:
                self.deadline = now + self.timeout
            return False
        # To every member that may lead next, not only the one this node's view makes the next
        # leader: that view can be behind (a member revived a moment ago comes back with a new,
        # younger record), and a copy of a grant on a member that does not lead only refuses more.
        # Every counter, not only the leader locks': which resources were leader locks is not
        # kept, and a counter higher than needed only makes the next token bigger.
        entries = {r: e for r, e in self.table.held(now).items() if e["strategy"] == "leader"}
        counters = dict(self.table.counters)
        for n in self._takers():
            self.handing[n] = op = self._op()
            self.ctx.send(n, LockHandover(op, entries, counters))
        if self.handing:
            self.ctx.log("info", "drain: handing the lock table over to %s" % ", ".join(sorted(self.handing)))
        return bool(self.handing)

    def _takers(self) -> list:
        m = self.ctx.members
        return sorted(set(drain.eligible(m.running(), m.records, without=self.me)) & m.up)

    def renewed(self, res: str, now: float) -> None:
        """This node renewed a leader lock while it drains or is drained (its holder still asks it,
        from a view behind the drain): the members that took the table over get the new lease
        too, or the next leader's copy would run out first and it would grant the lock again."""
        if not drain.stepping_down(self.ctx.members):
            return
        e = self.table.held(now).get(res)
        if e is None or e["strategy"] != "leader":
            return
        for n in self._takers():
            self.ctx.send(n, LockHandover(self._op(), {res: e}, {}))

    def _done(self, p: str, now: float) -> None:
        if self.handing.pop(p, None) is not None and not self.handing:
            self.ctx.handed_over("lock_voter", now)
        if self.asking.pop(p, None) is not None and not self.asking:
            self.deadline = None
            self.ctx.log("info", "revived: lock tables collected; voting again")

    def on_peer_down(self, p: str, now: float) -> None:
        self._done(p, now)      # it takes over nothing and grants nothing now

    def next_deadline(self):
        return self.deadline

    def on_tick(self, now: float) -> None:
        if self.deadline is not None and now >= self.deadline:
            self.ctx.log("warning", "revived: no lock table from %s in %.1fs; voting again"
                         % (", ".join(sorted(self.asking)), self.timeout))
            self.asking, self.deadline = {}, None

    # ---------- messages ----------
    def on_message(self, p: str, msg, now: float) -> None:
        if isinstance(msg, LockHandoverAck):
            if self.handing.get(p) == msg.op:
                self._done(p, now)
        elif isinstance(msg, LockHandoverAsk):
            if msg.record["node"] == p:
                self.ctx.learn_record(msg.record, p, now)
            self.ctx.send(p, LockHandover(msg.op, self.table.held(now), dict(self.table.counters)))
        else:
            self.table.take_over(msg.entries, msg.counters, now)
            if msg.entries:
                self.ctx.log("info", "took over %d lock(s) from %s" % (len(msg.entries), p))
            if self.asking.get(p) == msg.op:
                self._done(p, now)
            else:
                self.ctx.send(p, LockHandoverAck(msg.op))
