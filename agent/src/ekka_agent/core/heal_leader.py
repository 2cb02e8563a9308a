"""Autoheal, part 2, on the leader (the oldest running member): when and how to heal.

On a report (core/split_detector.py) it waits autoheal_delay, gathers every running node's
view (asking again whoever has not answered while it stays up), finds the cliques
(core/cliques.py), keeps the largest (ties: the one holding the oldest member) and hands the
plan to that clique's oldest member not drained (core/drain.py), the coordinator (core/heal_coordinator.py). When the
coordinator reports the round done it gathers again, until one clique remains. A partial
partition (running nodes that cannot reach each other) is waited out, not healed, and so is a
view with a returning member whose hello is not judged yet; views gathered while members went
or came back are gathered again. A breaker stops after autoheal_max_heals rounds in
autoheal_window and raises an alarm.

The leader's phases and what moves it between them are the table TRANSITIONS; a move that is
not in it is a bug and raises.
"""
from __future__ import annotations

import enum

from .cliques import conflicts, find_cliques, partial_partitions, pick_winner
from .context import Component
from .drain import eligible
from .messages import HealAlarms, HealPlan, HealReport, HealRound, HealView, HealViewRequest
from .settings import HealSettings

VIEW_RETRY = 1.0        # ask again for a view not given, for as long as that node is up
SETTLE_MAX = 5          # returns push a wait back by at most this many autoheal_delays in all


class Phase(enum.Enum):
    IDLE = None
    WAIT = "wait"         # a report came: let the network settle for autoheal_delay
    GATHER = "gather"     # asking every running node for its view
    HEAL = "heal"         # a plan is with the coordinator


# (phase, what happened) -> next phase
TRANSITIONS = {
    (Phase.IDLE, "report"): Phase.WAIT,
    (Phase.WAIT, "report"): Phase.WAIT,           # cuts the wait short
    (Phase.WAIT, "member_back"): Phase.WAIT,      # pushes it back: the other sides follow (on_peer_up)
    (Phase.GATHER, "member_back"): Phase.WAIT,    # and so it does to a gathering under way
    (Phase.WAIT, "timer"): Phase.GATHER,
    (Phase.HEAL, "timer"): Phase.GATHER,           # the round took too long: look again
    (Phase.HEAL, "round_done"): Phase.GATHER,
    (Phase.GATHER, "timer"): Phase.GATHER,         # ask again whoever has not answered
    (Phase.GATHER, "whole"): Phase.IDLE,           # one clique: nothing to heal
    (Phase.GATHER, "unsettled"): Phase.WAIT,       # a partial partition, or the breaker is open
    (Phase.GATHER, "split"): Phase.HEAL,
    (Phase.WAIT, "not_leader"): Phase.IDLE,        # someone older is back: reporters turn to it
    (Phase.HEAL, "not_leader"): Phase.IDLE,
    (Phase.GATHER, "not_leader"): Phase.IDLE,      # it came back while we gathered
}


class HealLeader(Component):
    name = "heal_leader"
    handles = (HealReport, HealView, HealRound, HealAlarms)

    def __init__(self, ctx, settings: HealSettings, split, coordinator):
        self.ctx = ctx
        self.m = ctx.members
        self.s = settings
        self.split = split              # SplitDetector: this node's own view and incarnation
        self.coordinator = coordinator  # HealCoordinator: when this node coordinates its own plan
        self.phase = Phase.IDLE
        self.phase_at = None
        self.gid = 0
        self.asked: set = set()
        self.views: dict = {}
        self.hid = 0
        self.cur_hid = None
        self.heals: list = []           # times of heal rounds (breaker)
        self.alarms: list = []          # the leader's alarms, on every node
        self.stopped_alarm = None
        self.settle_cap = None          # how far returns may push the current wait back

    def _to(self, what: str, at: float | None = None) -> None:
        nxt = TRANSITIONS.get((self.phase, what))
        if nxt is None:
            raise RuntimeError("heal leader: %r in phase %s" % (what, self.phase.name))
        if nxt not in (Phase.WAIT, Phase.GATHER):
            self.settle_cap = None
        self.phase, self.phase_at = nxt, at

    def on_reset(self, now: float) -> None:
        self.alarms = []

    # ---------- time ----------
    def next_deadline(self):
        return self.phase_at

    def on_tick(self, now: float) -> None:
        if self.phase_at is not None and now >= self.phase_at:
            self.phase_at = None
            if self.phase in (Phase.WAIT, Phase.HEAL):
                self._gather(now, "timer")
            elif self.phase is Phase.GATHER:
                self._gather_retry(now)

    # ---------- messages ----------
    def on_message(self, p: str, msg, now: float) -> None:
        if not self.m.is_member(p):
            return
        if isinstance(msg, HealReport):
            if self.m.leader() == self.m.me:
                self.triggered(now)
            elif self.m.leader() != p:
                self.ctx.send(self.m.leader(), msg)   # always towards an older node: no loops
        elif isinstance(msg, HealView):
            self._on_view(p, msg, now)
        elif isinstance(msg, HealRound):
            self.round_done(msg, now)
        elif p == self.m.leader():
            self.alarms = msg.alarms

    def triggered(self, now: float) -> None:
        """A node (maybe this one) reports a split or members gone down."""
        if not self.s.enabled:
            return
        if self.phase is Phase.WAIT:   # also cuts short a slow re-check of a partial partition
            self._to("report", min(self.phase_at, now + self.s.delay))
        elif self.phase is Phase.IDLE:
            self._to("report", now + self.s.delay)
        # else a gathering or a heal is under way: it sees this node's state too

    def on_peer_up(self, p: str, now: float) -> None:
        """A member back from down: a partition is probably ending, and the other sides come
        back within a moment (membership redials the members still down at once). Gathering
        now would heal the first group back on its own, maybe keeping a side that is not the
        largest, and the rest in a second round; so a wait under way lasts until autoheal_delay
        after the latest return, but not past SETTLE_MAX delays after the first (a flapping
        link must not hold a heal off for good). A gathering under way starts again after that
        wait: views that miss the members still coming back would be judged as whole sides."""
        if self.phase not in (Phase.WAIT, Phase.GATHER):
            return
        if self.settle_cap is None:
            self.settle_cap = now + SETTLE_MAX * self.s.delay
        at = min(now + self.s.delay, max(self.settle_cap, now))
        if self.phase is Phase.WAIT and self.phase_at is not None:
            at = max(self.phase_at, at)     # never sooner than the wait already was
        self._to("member_back", at)

    def round_done(self, msg: HealRound, now: float) -> None:
        if self.phase is Phase.HEAL and msg.heal == self.cur_hid:
            self._gather(now, "round_done")

    # ---------- gather views ----------
    def _gather(self, now: float, what: str) -> None:
        if self.m.leader() != self.m.me:
            return self._to("not_leader")
        self.gid += 1
        self._to(what, now + VIEW_RETRY)
        self.views = {self.m.me: self.split.my_view()}
        self.asked = set(self.m.running()) - {self.m.me}
        for p in sorted(self.asked):
            self.ctx.send(p, HealViewRequest(self.gid))
        if not self.asked:
            self._choose_heal(now)

    def _gather_retry(self, now: float) -> None:
        self.asked &= self.m.up          # a node that went down is out of this heal
        for p in sorted(self.asked):
            self.ctx.send(p, HealViewRequest(self.gid))
        self._to("timer", now + VIEW_RETRY)
        if not self.asked:
            self._choose_heal(now)

    def _on_view(self, p: str, msg: HealView, now: float) -> None:
        if self.phase is not Phase.GATHER or msg.gather != self.gid or p not in self.asked:
            return
        self.asked.discard(p)
        self.views[p] = {"ep": msg.epoch, "split": list(msg.split), "down": list(msg.down),
                         "pending": list(msg.pending)}
        if not self.asked:
            self._choose_heal(now)

    def _age(self, n: str):
        r = self.m.records.get(n)
        return (tuple(r["guid"]) if r else (float("inf"), n))

    # ---------- decide ----------
    def _choose_heal(self, now: float) -> None:
        """All views are in: gather again, nothing to do, wait for the network, or send a plan."""
        if set(self.m.running()) != set(self.views):
            # Members went or came back while the views were gathered (a partition that began
            # or healed meanwhile): views from before that would be judged with ones from after.
            return self._gather(now, "timer")
        views = self.views
        views[self.m.me] = self.split.my_view()     # ours as it is now, like the last answer
        if any(v["pending"] for v in views.values()):
            # A member is back but its hello is not judged yet: it would count as linked and
            # could land in the winning clique with the side it was cut from. Look again soon.
            return self._to("unsettled", now + VIEW_RETRY)
        order = sorted(views, key=self._age)
        cl = find_cliques(order, conflicts(views))
        partial = partial_partitions(views)
        alarms = []
        if partial:
            alarms.append({"name": "partial_partition", "message": "some running nodes cannot reach each other",
                           "unreachable": partial})
            # Some running nodes cannot reach each other (a cut link, or links still coming
            # back): a clique chosen now could be wrong and its losers unreachable. Wait for the
            # network; reports cut the wait short.
            self._set_alarms(alarms + ([self._partition_alarm({"cliques": cl, "views": views})]
                                       if len(cl) > 1 else []))
            return self._to("unsettled", now + self.s.report_every)
        if len(cl) == 1:
            if self.stopped_alarm:
                self.ctx.log("info", "autoheal: the cluster is whole again; breaker reset")
            self.stopped_alarm = None
            self._set_alarms([])
            return self._to("whole")
        winners = pick_winner(cl)
        losers = [n for n in order if n not in winners]
        split_view = {"cliques": cl, "views": views}
        self.heals = [t for t in self.heals if t > now - self.s.window]
        if len(self.heals) >= self.s.max_heals:
            if not self.stopped_alarm:
                self.ctx.log("error", "autoheal stopped: %d heals in %.0fs did not make one cluster; split "
                             "view: %s" % (len(self.heals), self.s.window, cl))
                self.ctx.emit("autoheal_stopped", self.m.me, cliques=cl)
            self.stopped_alarm = {"name": "autoheal_stopped", "message": "%d heals within %.0fs; autoheal "
                                  "paused until the window passes" % (len(self.heals), self.s.window),
                                  "split_view": split_view}
            self._set_alarms(alarms + [self.stopped_alarm, self._partition_alarm(split_view)])
            return self._to("unsettled", now + self.s.report_every)   # watch for the window or a fix
        self.heals.append(now)
        self.hid += 1
        hid = "%s-%d" % (self.split.inc[:6], self.hid)   # unique across leaders and restarts
        c = eligible(winners, self.m.records)[0]    # the oldest winner that is not drained
        self._set_alarms(alarms + [self._partition_alarm(split_view)])
        self.ctx.log("warning", "autoheal: cluster split in %d parts %s; keeping the %d nodes with %s "
                     "(coordinator), rejoining %s" % (len(cl), [len(x) for x in cl], len(winners), c, losers))
        self.ctx.emit("partition_healing", c, heal=hid, winners=winners, losers=losers)
        # Winners that shared data with a loser during the split (a partial partition) hold some of
        # its writes: they send their table around once the heal is done, so all keep them.
        conf = conflicts(views)
        tainted = [w for w in winners if any(self._linked(w, lo, conf) for lo in losers)]
        plan = HealPlan(heal=hid, winners=winners, losers=losers, leader=self.m.me, resync=tainted,
                        counter=1 + max(v["ep"][0] for v in views.values() if v["ep"]))
        self._to("split", now + self.s.round_timeout)
        self.cur_hid = hid
        if c == self.m.me:
            self.coordinator.on_plan(plan, now)
        else:
            self.ctx.send(c, plan)

    def _linked(self, a: str, b: str, conf: dict) -> bool:
        va, vb = self.views[a], self.views[b]
        return b not in conf[a] and b not in va["down"] and a not in vb["down"]

    @staticmethod
    def _partition_alarm(split_view: dict) -> dict:
        return {"name": "partition", "message": "cluster split in %d parts" % len(split_view["cliques"]),
                "split_view": split_view}

    def _set_alarms(self, alarms: list) -> None:
        if alarms == self.alarms:
            return
        self.alarms = alarms
        for p in sorted(self.m.up):
            self.ctx.send(p, HealAlarms(alarms))

    def status(self, st: dict) -> None:
        st["alarms"].extend(self.alarms)
        st.setdefault("autoheal", {}).update({"heal": self.phase.value, "heals_in_window": len(self.heals)})
