"""Autoheal, part 3: carrying out a heal plan (core/heal_leader.py made it).

The coordinator (the winning clique's oldest member) opens a new data epoch: the winners adopt
it as they are; every node outside the clique (a loser) saves the writes it would lose
(`ekka-ctl cluster conflicts`), replaces its data with the coordinator's copy and adopts the
epoch (the rejoin, below). When all have answered, or half the round's time has passed, the
coordinator tells the leader the round is done.
"""
from __future__ import annotations

from .context import Component
from .events import SaveConflicts
from .messages import HealAck, HealAdopt, HealPlan, HealRejoin, HealRound
from .settings import HealSettings

MAX_CONFLICTS_KEPT = 1000


class HealCoordinator(Component):
    name = "heal_coordinator"
    handles = (HealPlan, HealAdopt, HealRejoin, HealAck)
    commands = ("conflicts",)

    def __init__(self, ctx, settings: HealSettings, split):
        self.ctx = ctx
        self.m = ctx.members
        self.s = settings
        self.split = split              # SplitDetector: adopts epochs, knows this node's
        self.leader = None              # HealLeader: told directly when this node leads (autoheal.py wires it)
        self.coord = None               # the round this node coordinates
        self.conflicts: list = []       # the latest replaced writes (also on disk via SaveConflicts)
        self.rejoins = 0                # times this node rejoined through a heal (since start)

    # ---------- time ----------
    def next_deadline(self):
        return self.coord["deadline"] if self.coord else None

    def on_tick(self, now: float) -> None:
        if self.coord and now >= self.coord["deadline"]:
            self._finish()

    # ---------- messages ----------
    def on_message(self, p: str, msg, now: float) -> None:
        if not self.m.is_member(p):
            return
        if isinstance(msg, HealPlan):
            self.on_plan(msg, now)
        elif isinstance(msg, HealAdopt):
            if msg.epoch != self.split.ep:
                self.split.adopt(msg.epoch, now, plan=msg.plan, losers=msg.losers, coordinator=p, resync=msg.resync)
            self.ctx.send(p, HealAck(msg.heal))
        elif isinstance(msg, HealRejoin):
            self._rejoin(p, msg, now)
        else:
            self._on_ack(p, msg)

    # ---------- the coordinator ----------
    def on_plan(self, msg: HealPlan, now: float) -> None:
        if self.coord:
            self._finish()
        me, sp = self.m.me, self.split
        ep = sp.new_ep(max(msg.counter, (sp.ep[0] if sp.ep else 0) + 1))
        everyone = msg.winners + msg.losers
        resync = set(msg.resync)
        sp.adopt(ep, now, plan=everyone, losers=msg.losers, coordinator=me, resync=me in resync)
        waiting = set()
        for w in msg.winners:
            if w != me:
                waiting.add(w)
                self.ctx.send(w, HealAdopt(heal=msg.heal, epoch=ep, plan=everyone, losers=msg.losers,
                                           resync=w in resync))
        snap = self.ctx.data.entries
        for n in msg.losers:
            waiting.add(n)
            self.ctx.send(n, HealRejoin(heal=msg.heal, epoch=ep, kv=dict(snap), leader=msg.leader, plan=everyone,
                                        losers=msg.losers))
        self.coord = {"hid": msg.heal, "leader": msg.leader, "waiting": waiting, "rejoined": [],
                      "losers": set(msg.losers), "deadline": now + self.s.round_timeout / 2}
        if not waiting:
            self._finish()

    def _on_ack(self, p: str, msg: HealAck) -> None:
        c = self.coord
        if not c or c["hid"] != msg.heal or p not in c["waiting"]:
            return
        c["waiting"].discard(p)
        if p in c["losers"]:
            c["rejoined"].append(p)
        if not c["waiting"]:
            self._finish()

    def _finish(self) -> None:
        c, self.coord = self.coord, None
        msg = HealRound(c["hid"], sorted(c["rejoined"]))
        if c["leader"] == self.m.me:
            self.leader.round_done(msg, self.ctx.now)
        else:
            self.ctx.send(c["leader"], msg)

    # ---------- a node outside the winning clique ----------
    def _rejoin(self, p: str, msg: HealRejoin, now: float) -> None:
        if msg.epoch != self.split.ep:
            snap = msg.kv
            lost = []
            wall = self.ctx.wall_us(now) / 1e6
            for k, e in sorted(self.ctx.data.entries.items()):
                s = snap.get(k)
                if s is None or tuple(s["ver"]) < tuple(e["ver"]):
                    lost.append({"key": k, "value": e["v"], "deleted": e["del"], "node": e["ver"][2],
                                 "time": e["ver"][0] / 1000, "replaced_at": wall, "coordinator": p,
                                 "kept": None if s is None or s["del"] else s["v"]})
            self.ctx.log("warning", "autoheal: this node was on the losing side; its data is replaced by "
                         "%s's copy (%d write(s) of the split saved: ekka-ctl cluster conflicts)" % (p, len(lost)))
            if lost:
                self.conflicts = (self.conflicts + lost)[-MAX_CONFLICTS_KEPT:]
                self.ctx.act(SaveConflicts(tuple(lost)))
            self.split.begin_rejoin()
            self.rejoins += 1
            self.ctx.emit("node_healing", self.m.me, coordinator=p, leader=msg.leader, heal=msg.heal,
                          conflicts=len(lost))
            self.ctx.adopt_data(snap, now, heal_by=p)
            self.split.adopt(msg.epoch, now, plan=msg.plan, losers=msg.losers, coordinator=p)
        self.ctx.send(p, HealAck(msg.heal))

    # ---------- commands and status ----------
    def on_command(self, req, cmd: str, args: dict, now: float) -> None:
        self.ctx.reply(req, self.conflicts)

    def status(self, st: dict) -> None:
        st.setdefault("autoheal", {})["rejoins"] = self.rejoins
