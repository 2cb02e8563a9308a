"""Autoheal: find partitions, and heal them on purpose instead of merging both sides blindly.

Three parts, all in this one state machine (docs/partitions.md explains the why):

1. Detection, on every node. When a member comes back, both ends exchange a hello
   (incarnation, what each saw of the other, data epoch). If neither restarted, one had the
   other down, and both are still in the data epoch they last shared, they were on two sides
   of a partition: they mark each other `split` and share no data. A restarted peer is caught
   up as before (last writer wins). Nodes share data only inside one data epoch.
2. The leader (oldest running member), on a report, waits autoheal_delay, gathers every running
   node's view (retrying whoever has not answered while it stays up), finds the cliques
   (core/cliques.py), keeps the largest (ties: the one holding the oldest member), and hands
   the plan to that clique's oldest member, the coordinator.
3. The coordinator opens a new data epoch: its clique adopts it as is; every node outside it
   saves the writes it would lose (`ekka-ctl cluster conflicts`), replaces its data with the
   coordinator's copy and adopts the epoch. The leader then gathers again until one clique
   remains. A breaker stops after autoheal_max_heals rounds in autoheal_window and raises an alarm.
"""
from __future__ import annotations

from dataclasses import dataclass

from .cliques import conflicts, find_cliques, partial_partitions, pick_winner
from .context import Component
from .messages import (HealAck, HealAdopt, HealAlarms, HealEpoch, HealHello, HealPlan, HealRejoin, HealReport,
                       HealRound, HealView, HealViewRequest)

HELLO_RETRY = 1.0       # resend an unanswered hello (the sim drops messages; TCP may reset)
VIEW_RETRY = 1.0        # resend an unanswered view request, for as long as that node is up
MAX_CONFLICTS_KEPT = 1000
MAX_STASH = 1000        # data messages kept for an epoch we are about to adopt


HEAL_MESSAGES = (HealHello, HealEpoch, HealReport, HealViewRequest, HealView, HealPlan, HealAdopt, HealRejoin,
                 HealAck, HealRound, HealAlarms)


@dataclass(frozen=True)
class SaveConflicts:
    """Action: append these replaced writes to <data_dir>/conflicts.jsonl (runtime/conflicts.py)."""
    records: tuple


def components(ctx, options: dict) -> list:
    return [Autoheal(ctx, options)]


class Autoheal(Component):
    name = "autoheal"
    handles = HEAL_MESSAGES
    commands = ("conflicts",)

    def __init__(self, ctx, o: dict):
        self.ctx = ctx
        self.m = ctx.members
        self.enabled = bool(o.get("cluster.autoheal", True))
        self.delay = o.get("cluster.autoheal_delay", 1000) / 1000
        self.max_heals = o.get("cluster.autoheal_max_heals", 5)
        self.window = o.get("cluster.autoheal_window", 600_000) / 1000
        self.report_every = max(2.0, 2 * self.delay)
        self.round_timeout = max(5.0, 4 * self.delay, ctx.settings.join_timeout)
        self.inc = None
        self.ep = None                  # data epoch [counter, id]; None = adopt from the first peer
        # hello state, per peer
        self.seen: dict = {}            # peer -> its incarnation when we last decided
        self.lep: dict = {}             # peer -> our epoch when we last shared data with it
        self.was_down: set = set()
        self.req: dict = {}             # peer -> {"r", "f"} our outstanding hello
        self.rounds: dict = {}
        self.answered: dict = {}        # peer -> (r, our reply fields) for retried hellos
        self.decided: set = set()
        self.peer_ep: dict = {}
        self.split: set = set()         # peers back from a partition: no data until healed
        self.merged: set = set()        # autoheal off: peers whose return we already reported
        self.synced: set = set()        # peers we share data with now
        self.stash: dict = {}           # epoch -> [(peer, kv message)] sent to us a moment early
        self.unsynced: set = set()      # up, hello done, but not sharing data: a heal is due
        self.hello_at = None
        self.report_at = None
        self.down_report: set = set()
        self.down_report_at = None
        self.episode = False
        # leader
        self.phase = None               # None | "wait" | "gather" | "heal"
        self.phase_at = None
        self.gid = 0
        self.asked: set = set()
        self.views: dict = {}
        self.hid = 0
        self.cur_hid = None
        self.heals: list = []           # times of heal rounds (breaker)
        self.alarms: list = []
        self.stopped_alarm = None
        # coordinator
        self.coord = None
        self.conflicts: list = []       # the latest replaced writes (also on disk via SaveConflicts)
        self.rejoins = 0                # times this node rejoined through a heal (since start)

    # ---------- state ----------
    def snapshot(self) -> dict:
        return {"ep": self.ep}

    def restore(self, st: dict) -> None:
        self.ep = st.get("ep")

    def on_start(self, now: float) -> None:
        self.inc = "%016x" % self.ctx.rng.getrandbits(64)
        if self.ep is None:
            self.ep = self.new_ep(0)
            self.ctx.persist()

    def new_ep(self, counter: int) -> list:
        return [counter, "%012x" % self.ctx.rng.getrandbits(48)]

    def on_joined(self, now: float, heal_by: str | None) -> None:
        if heal_by:
            return       # our own rejoin (below) calls node.on_joined too
        # A fresh join: take the epoch of the cluster we joined from the first hello.
        self.ep = None
        self.split.clear()
        self.synced.clear()
        self.unsynced.clear()
        self.ctx.persist()

    def on_reset(self, now: float) -> None:
        self.ep = self.new_ep(0)
        for s in (self.split, self.synced, self.unsynced, self.decided, self.was_down):
            s.clear()
        self.req.clear()
        self.stash.clear()
        self.episode = False
        self.alarms = []
        self.ctx.persist()

    # ---------- the kv gate ----------
    def data_gate(self):
        return self if self.enabled else None

    def data_peers(self, up: set) -> set:
        return up & self.synced

    def epoch(self):
        return self.ep

    def accept(self, p: str, msg) -> bool:
        ep = msg.epoch
        if p not in self.split and self.ep is not None and ep == self.ep:
            return True
        if ep and self.ep and sum(map(len, self.stash.values())) < MAX_STASH:
            self.stash.setdefault(tuple(ep), []).append((p, msg))   # from a heal we are about to join
        return False

    # ---------- hello ----------
    def _fields(self, p: str) -> dict:
        return {"incarnation": self.inc, "seen": self.seen.get(p), "down": p in self.was_down,
                "epoch": self.ep, "last_shared": self.lep.get(p)}

    def on_peer_up(self, p: str, now: float) -> None:
        self.decided.discard(p)
        self._refresh(p)
        self._hello(p, now)

    def _hello(self, p: str, now: float) -> None:
        r = self.rounds.get(p, 0) + 1
        self.rounds[p] = r
        self.req[p] = {"r": r, "f": self._fields(p)}
        self.ctx.send(p, HealHello(round=r, reply=False, **self.req[p]["f"]))
        if self.hello_at is None:
            self.hello_at = now + HELLO_RETRY

    def on_peer_down(self, p: str, now: float) -> None:
        self.merged.discard(p)
        if p in self.seen:
            self.was_down.add(p)
        self.decided.discard(p)
        self.req.pop(p, None)
        self._refresh(p)
        if self.enabled and self.m.is_member(p):
            self.down_report.add(p)
            if self.down_report_at is None:
                self.down_report_at = now + self.delay

    def _on_hello(self, p: str, msg: HealHello, now: float) -> None:
        theirs = {k: getattr(msg, k) for k in ("incarnation", "seen", "down", "epoch", "last_shared")}
        if msg.reply:
            req = self.req.get(p)
            if req is None or req["r"] != msg.round:
                return   # an answer to an older round
            del self.req[p]
            self._decide(p, req["f"], theirs, now)
            return
        prev = self.answered.get(p)
        if prev and prev[0] == msg.round and prev[2] == msg.incarnation:
            mine = prev[1]   # a retry: answer it exactly as before
        else:
            mine = self._fields(p)
            self.answered[p] = (msg.round, mine, msg.incarnation)
            self._decide(p, mine, theirs, now)
        self.ctx.send(p, HealHello(round=msg.round, reply=True, **mine))

    def _decide(self, p: str, mine: dict, theirs: dict, now: float) -> None:
        """Both ends run this on the same two sets of fields, so they reach the same answer."""
        unchanged = mine["seen"] == theirs["incarnation"] and theirs["seen"] == mine["incarnation"]
        had_down = mine["down"] or theirs["down"]
        lineage = (mine["epoch"] == theirs["epoch"] and mine["last_shared"] == mine["epoch"]
                   and theirs["last_shared"] == theirs["epoch"])
        is_split = unchanged and had_down and lineage and mine["epoch"] is not None
        self.seen[p] = theirs["incarnation"]
        self.was_down.discard(p)
        self.peer_ep[p] = theirs["epoch"]
        self.decided.add(p)
        if is_split:
            if not self.split and not self.episode and p not in self.merged:
                self.episode = True
                self.ctx.emit("partition_occurred", p)
            if self.enabled:
                if p not in self.split:
                    self.split.add(p)
                    self.ctx.log("warning", "partition: %s was on the other side; no data is shared with "
                                  "it until autoheal decides" % p)
            elif p not in self.merged:
                self.merged.add(p)   # both hellos of one reconnection find it: say it once
                self.ctx.log("warning", "partition with %s ended; data merged by last writer wins "
                              "because cluster.autoheal is off" % p)
                self.episode = False
                self.ctx.emit("partition_healed", p)
        elif not unchanged:
            self.split.discard(p)   # a restart ends the split; a second hello without one does not
        if self.ep is None and theirs["epoch"] is not None:
            self.adopt(theirs["epoch"], now, healed=False)
        self._refresh(p)

    def _refresh(self, p: str, catch_up: bool = True) -> None:
        """Recompute whether we share data with p; catch it up when that starts (unless a heal
        already gave both of us the coordinator's copy)."""
        up = p in self.m.up and p in self.decided
        ok = up and p not in self.split and self.ep is not None and self.peer_ep.get(p) == self.ep
        if ok:
            self.lep[p] = self.ep
            self.unsynced.discard(p)
            if p not in self.synced:
                self.synced.add(p)
                if self.enabled and catch_up:
                    self.ctx.data.catch_up(p)
        else:
            self.synced.discard(p)
            # A peer with no epoch yet has just joined and takes ours from its first hello.
            if up and self.enabled and self.peer_ep.get(p) is not None and self.ep is not None:
                if not self.unsynced:
                    self.report_at = min(self.report_at or self.ctx.now, self.ctx.now)
                self.unsynced.add(p)
            else:
                self.unsynced.discard(p)

    def adopt(self, ep, now: float, healed: bool = True, plan=(), losers=(), coordinator=None,
              resync: bool = False) -> None:
        """Take data epoch ep. In a heal, `plan` lists every node the coordinator moves to ep: we
        count them in it at once (so a heal costs O(n) messages, not O(n^2)); what they send us
        before they get there is stashed, and a node the plan missed shows up in the next views.
        Tables are sent only where a copy may be missing: to a winner we did not share data with
        just before, and to the losers when we did not share data with the coordinator."""
        old_synced = set(self.synced)
        self.ep = ep
        self.ctx.persist()
        had = self.episode or bool(self.split)
        self.split.clear()
        plan = set(plan) - {self.m.me}
        losers = set(losers)
        i_lose = self.m.me in losers
        feed_losers = coordinator != self.m.me and coordinator not in old_synced
        for q in plan:
            self.peer_ep[q] = ep
        for p in sorted(self.m.up - plan):
            self.ctx.send(p, HealEpoch(ep))
        for p in list(self.req):          # hellos in flight carry the old epoch: start over
            self._hello(p, now)
        for p in sorted(self.m.up | self.synced | self.unsynced):
            if p not in plan or resync:
                cu = True
            elif i_lose:
                cu = False
            elif p in losers:
                cu = feed_losers
            else:
                cu = p not in old_synced
            self._refresh(p, catch_up=cu)
        if resync and self.enabled:     # we hold writes of a loser that the coordinator may lack
            for p in sorted(self.synced & old_synced):
                self.ctx.data.catch_up(p)
        for q, msg in self.stash.pop(tuple(ep), []):
            if self.accept(q, msg):
                self.ctx.data.on_message(q, msg, now)
        self.stash.clear()
        if had and healed:
            self.episode = False
            self.ctx.emit("partition_healed", self.m.me, epoch=ep)
            self.ctx.log("info", "partition healed: this node now shares data epoch %s" % ep[1])

    # ---------- time ----------
    def next_deadline(self):
        ds = [self.hello_at, self.down_report_at, self.phase_at]
        if self.unsynced and self.report_at is not None:
            ds.append(self.report_at)
        if self.coord:
            ds.append(self.coord["deadline"])
        ds = [d for d in ds if d is not None]
        return min(ds) if ds else None

    def on_tick(self, now: float) -> None:
        if self.hello_at is not None and now >= self.hello_at:
            self.hello_at = None
            for p in sorted(self.req):
                if p in self.m.up:
                    self.ctx.send(p, HealHello(round=self.req[p]["r"], reply=False, **self.req[p]["f"]))
                else:
                    del self.req[p]
            if self.req:
                self.hello_at = now + HELLO_RETRY
        if self.unsynced and self.report_at is not None and now >= self.report_at:
            self.report_at = now + self.report_every
            self._report(now, split=True)
            for p in sorted(self.unsynced - self.split):   # a lost heal_ep leaves a stale epoch here
                self.ctx.send(p, HealEpoch(self.ep, ask=True))
        if self.down_report_at is not None and now >= self.down_report_at:
            self.down_report_at = None
            down, self.down_report = self.down_report, set()
            if any(p not in self.m.up for p in down):
                self._report(now, down=sorted(p for p in down if p not in self.m.up))
        if self.coord and now >= self.coord["deadline"]:
            self._coord_finish()
        if self.phase_at is not None and now >= self.phase_at:
            self.phase_at = None
            if self.phase == "wait" or self.phase == "heal":
                self._gather(now)
            elif self.phase == "gather":
                self._gather_retry(now)

    # ---------- reports to the leader ----------
    def _report(self, now: float, split: bool = False, down=()) -> None:
        leader = self.m.leader()
        if leader == self.m.me:
            self._triggered(now)
        else:
            self.ctx.send(leader, HealReport(split, list(down)))

    def _triggered(self, now: float) -> None:
        if not self.enabled:
            return
        if self.phase == "wait":       # also cuts short a slow re-check of a partial partition
            self.phase_at = min(self.phase_at, now + self.delay)
        elif self.phase is None:
            self.phase, self.phase_at = "wait", now + self.delay
        # else a gathering or a heal is under way: it sees this node's state too

    # ---------- leader: gather views, decide ----------
    def my_view(self) -> dict:
        return {"ep": self.ep, "split": sorted(p for p in self.split if p in self.m.up),
                "down": self.m.stopped()}

    def _gather(self, now: float) -> None:
        if self.m.leader() != self.m.me:
            self.phase = self.phase_at = None
            return   # someone older is back: reporters will turn to it
        self.gid += 1
        self.phase = "gather"
        self.views = {self.m.me: self.my_view()}
        self.asked = set(self.m.running()) - {self.m.me}
        for p in sorted(self.asked):
            self.ctx.send(p, HealViewRequest(self.gid))
        self.phase_at = now + VIEW_RETRY
        if not self.asked:
            self._decide_heal(now)

    def _gather_retry(self, now: float) -> None:
        self.asked &= self.m.up          # a node that went down is out of this heal
        for p in sorted(self.asked):
            self.ctx.send(p, HealViewRequest(self.gid))
        self.phase_at = now + VIEW_RETRY
        if not self.asked:
            self._decide_heal(now)

    def _on_view(self, p: str, msg: HealView, now: float) -> None:
        if self.phase != "gather" or msg.gather != self.gid or p not in self.asked:
            return
        self.asked.discard(p)
        self.views[p] = {"ep": msg.epoch, "split": list(msg.split), "down": list(msg.down)}
        if not self.asked:
            self._decide_heal(now)

    def _age(self, n: str):
        r = self.m.records.get(n)
        return (tuple(r["guid"]) if r else (float("inf"), n))

    def _decide_heal(self, now: float) -> None:
        views = self.views
        order = sorted(views, key=self._age)
        cl = find_cliques(order, conflicts(views))
        partial = partial_partitions(views)
        alarms = []
        if partial:
            alarms.append({"name": "partial_partition", "message": "some running nodes cannot reach each other",
                           "unreachable": partial})
        self.phase = self.phase_at = None
        if partial:
            # Some running nodes cannot reach each other (a cut link, or links still coming
            # back): a clique chosen now could be wrong and its losers unreachable. Wait for the
            # network; reports cut the wait short.
            self._set_alarms(alarms + ([self._partition_alarm({"cliques": cl, "views": views})]
                                       if len(cl) > 1 else []))
            self.phase, self.phase_at = "wait", now + self.report_every
            return
        if len(cl) == 1:
            if self.stopped_alarm:
                self.ctx.log("info", "autoheal: the cluster is whole again; breaker reset")
            self.stopped_alarm = None
            self._set_alarms([])
            return
        winners = pick_winner(cl)
        losers = [n for n in order if n not in winners]
        split_view = {"cliques": cl, "views": views}
        self.heals = [t for t in self.heals if t > now - self.window]
        if len(self.heals) >= self.max_heals:
            if not self.stopped_alarm:
                self.ctx.log("error", "autoheal stopped: %d heals in %.0fs did not make one cluster; split "
                              "view: %s" % (len(self.heals), self.window, cl))
                self.ctx.emit("autoheal_stopped", self.m.me, cliques=cl)
            self.stopped_alarm = {"name": "autoheal_stopped", "message": "%d heals within %.0fs; autoheal "
                                  "paused until the window passes" % (len(self.heals), self.window),
                                  "split_view": split_view}
            self._set_alarms(alarms + [self.stopped_alarm, self._partition_alarm(split_view)])
            self.phase, self.phase_at = "wait", now + self.report_every   # watch for the window or a fix
            return
        self.heals.append(now)
        self.hid += 1
        hid = "%s-%d" % (self.inc[:6], self.hid)   # unique across leaders and restarts
        c = winners[0]
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
        self.phase, self.phase_at, self.cur_hid = "heal", now + self.round_timeout, hid
        if c == self.m.me:
            self._on_plan(plan, now)
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

    # ---------- coordinator ----------
    def _on_plan(self, msg: HealPlan, now: float) -> None:
        if self.coord:
            self._coord_finish()
        me = self.m.me
        ep = self.new_ep(max(msg.counter, (self.ep[0] if self.ep else 0) + 1))
        everyone = msg.winners + msg.losers
        resync = set(msg.resync)
        self.adopt(ep, now, plan=everyone, losers=msg.losers, coordinator=me, resync=me in resync)
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
                      "losers": set(msg.losers), "deadline": now + self.round_timeout / 2}
        if not waiting:
            self._coord_finish()

    def _on_ack(self, p: str, msg: HealAck) -> None:
        c = self.coord
        if not c or c["hid"] != msg.heal or p not in c["waiting"]:
            return
        c["waiting"].discard(p)
        if p in c["losers"]:
            c["rejoined"].append(p)
        if not c["waiting"]:
            self._coord_finish()

    def _coord_finish(self) -> None:
        c, self.coord = self.coord, None
        msg = HealRound(c["hid"], sorted(c["rejoined"]))
        if c["leader"] == self.m.me:
            self._on_round(msg, self.ctx.now)
        else:
            self.ctx.send(c["leader"], msg)

    def _on_round(self, msg: HealRound, now: float) -> None:
        if self.phase == "heal" and msg.heal == self.cur_hid:
            self._gather(now)

    # ---------- the nodes outside the winning clique ----------
    def _on_rejoin(self, p: str, msg: HealRejoin, now: float) -> None:
        if msg.epoch != self.ep:
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
            self.episode = True
            self.rejoins += 1
            self.ctx.emit("node_healing", self.m.me, coordinator=p, leader=msg.leader, heal=msg.heal,
                           conflicts=len(lost))
            self.ctx.adopt_data(snap, now, heal_by=p)
            self.adopt(msg.epoch, now, plan=msg.plan, losers=msg.losers, coordinator=p)
        self.ctx.send(p, HealAck(msg.heal))

    # ---------- messages ----------
    def on_message(self, p: str, msg, now: float) -> None:
        if not self.m.is_member(p):
            return
        if isinstance(msg, HealHello):
            self._on_hello(p, msg, now)
        elif isinstance(msg, HealEpoch):
            self.peer_ep[p] = msg.epoch
            self._refresh(p)
            if msg.ask:
                self.ctx.send(p, HealEpoch(self.ep))
        elif isinstance(msg, HealReport):
            if self.m.leader() == self.m.me:
                self._triggered(now)
            elif self.m.leader() != p:
                self.ctx.send(self.m.leader(), msg)   # always towards an older node: no loops
        elif isinstance(msg, HealViewRequest):
            v = self.my_view()
            self.ctx.send(p, HealView(gather=msg.gather, epoch=v["ep"], split=v["split"], down=v["down"]))
        elif isinstance(msg, HealView):
            self._on_view(p, msg, now)
        elif isinstance(msg, HealPlan):
            self._on_plan(msg, now)
        elif isinstance(msg, HealAdopt):
            if msg.epoch != self.ep:
                self.adopt(msg.epoch, now, plan=msg.plan, losers=msg.losers, coordinator=p, resync=msg.resync)
            self.ctx.send(p, HealAck(msg.heal))
        elif isinstance(msg, HealRejoin):
            self._on_rejoin(p, msg, now)
        elif isinstance(msg, HealAck):
            self._on_ack(p, msg)
        elif isinstance(msg, HealRound):
            self._on_round(msg, now)
        elif isinstance(msg, HealAlarms):
            if p == self.m.leader():
                self.alarms = msg.alarms

    # ---------- commands and status ----------
    def on_command(self, req_id, cmd: str, args: dict, now: float) -> None:
        self.ctx.reply(req_id, self.conflicts)

    def status(self, st: dict) -> None:
        st["alarms"].extend(self.alarms)
        st["autoheal"] = {
            "enabled": self.enabled, "epoch": self.ep[1] if self.ep else None,
            "split_from": sorted(p for p in self.split if p in self.m.up),
            "not_sharing_data_with": sorted(self.m.up - self.synced),
            "heal": self.phase, "heals_in_window": len(self.heals), "rejoins": self.rejoins,
        }
