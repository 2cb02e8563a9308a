"""Drain and revive: who may lead and coordinate, and a node's way out of those roles.

A drained member stays in the cluster (it runs, replicates kv data, answers probes) but leads
nothing: the heal leader, the leader-lock table and autoclean pass to the next-oldest member, a
heal round is coordinated by another winner, its own lock coordinator grants nothing new and it
runs no discovery round. It stays a replica of quorum locks and votes on them, as RabbitMQ keeps
a node in maintenance mode a member of its quorum queues: replica sets follow the member list
alone, so a drain or revive never moves a grant's replicas. (They were taken from the members not
drained, and a drain handed its table to the new set; under a partition, or with a receiver
down, a later grant could then miss an earlier one: two holders, or one token twice.) Stopped
after its drain, the node is one missing vote, which a replica set of three or more outlasts.
The state is the member record's status, so it crosses the cluster with the records, and the
node's saved state keeps it over a restart until `revive`.

    up --drain--> draining --every part handed over--> drained --revive--> up
                  (draining, the node still counts as leader, but refuses new grants:
                   its leader-lock table reaches the next leader before anyone sends it a
                   request, so no lock is granted twice)
"""
from __future__ import annotations

from .context import Component

UP, DRAINING, DRAINED = "up", "draining", "drained"


def leads(records: dict, node: str) -> bool:
    """May `node` be chosen as leader, heal coordinator or replica? (not once drained)"""
    r = records.get(node)
    return r is None or r.get("status") != DRAINED


def eligible(nodes, records: dict, without: str | None = None) -> list:
    """The nodes that may be chosen. All of them if none may: a cluster whose every running
    member is drained still needs a leader."""
    nodes = [n for n in nodes if n != without]
    ok = [n for n in nodes if leads(records, n)]
    return ok or nodes


def stepping_down(view) -> bool:
    """Is this node draining or drained (it grants nothing new)?"""
    r = view.records.get(view.me)
    return bool(r) and r["status"] in (DRAINING, DRAINED)


def view_key(view) -> str:
    """What two nodes must agree on to ask the same voters: members, drained ones marked. (Replica
    sets no longer depend on the marks; they stay in the key so that agents of earlier versions,
    whose replica sets do, keep agreeing with this one.)"""
    return "|".join(n + ("*" if not leads(view.records, n) else "") for n in view.members())


class Drain(Component):
    name = "drain"
    commands = ("drain", "revive")

    def __init__(self, ctx, timeout: float):
        self.ctx = ctx
        self.m = ctx.members
        self.timeout = timeout         # the longest a handover may take before the node counts as drained
        self.waiting: set = set()      # parts still handing over
        self.deadline = None
        self.told = False              # the parts were told this node drains (on_drain(True))

    def state(self) -> str:
        r = self.m.records.get(self.m.me)
        return r["status"] if r and r["status"] in (DRAINING, DRAINED) else UP

    # ---------- life ----------
    def on_start(self, now: float) -> None:
        st = self.state()
        if st != UP:   # saved drained (or a restart in the middle of a handover)
            self.ctx.log("info", "this node is %s (saved): `ekka-ctl node revive` returns it" % st)
            self._hand_over(now)

    def on_joined(self, now: float, heal_by) -> None:
        self._left_drain(now)

    def on_reset(self, now: float) -> None:
        self._left_drain(now)

    def _left_drain(self, now: float) -> None:
        # A join or reset wrote a fresh record (status up): the roles come back with it.
        if self.told and self.state() == UP:
            self._revived(now)

    # ---------- time ----------
    def next_deadline(self):
        return self.deadline

    def on_tick(self, now: float) -> None:
        if self.deadline is not None and now >= self.deadline:
            self.ctx.log("warning", "drain: %s did not finish handing over in %.1fs; drained anyway"
                         % (", ".join(sorted(self.waiting)), self.timeout))
            self.waiting = set()
            self._drained(now)

    # ---------- commands ----------
    def on_command(self, req, cmd: str, args: dict, now: float) -> None:
        st = self.state()
        if cmd == "drain":
            if st != UP:
                return self.ctx.reply(req, st)
            self.ctx.set_status(DRAINING, now)
            self.ctx.log("info", "draining: handing over what this node leads and holds")
            self.ctx.emit("node_draining", self.m.me)
            self._hand_over(now)
            return self.ctx.reply(req, self.state())
        if st == UP:
            return self.ctx.reply(req, UP)
        self.ctx.set_status(UP, now)
        self._revived(now)
        self.ctx.log("info", "revived: this node leads, coordinates and discovers again")
        self.ctx.emit("node_revived", self.m.me)
        self.ctx.reply(req, UP)

    def _revived(self, now: float) -> None:
        self.waiting, self.deadline, self.told = set(), None, False
        self.ctx.drain_changed(False, now)

    def _hand_over(self, now: float) -> None:
        self.told = True
        self.waiting = set(self.ctx.drain_changed(True, now))
        if self.waiting:
            self.deadline = now + self.timeout
        else:
            self._drained(now)

    def handed_over(self, part: str, now: float) -> None:
        """A part (its on_drain returned True) has handed over what it held."""
        self.waiting.discard(part)
        if not self.waiting and self.deadline is not None:
            self._drained(now)

    def _drained(self, now: float) -> None:
        self.deadline = None
        if self.state() == DRAINING:
            self.ctx.set_status(DRAINED, now)
            self.ctx.log("info", "drained: another member leads and holds the replicas")
            self.ctx.emit("node_drained", self.m.me)

    def status(self, st: dict) -> None:
        st["drain"] = self.state()
        for s in (DRAINING, DRAINED):
            st[s + "_nodes"] = [n for n in self.m.members() if self.m.records[n]["status"] == s]


def components(ctx, settings) -> list:
    return [Drain(ctx, settings.locks.request_timeout)]
