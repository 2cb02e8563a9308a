"""Autoheal, part 1, on every node: was a returning member on the other side of a partition?

When a member comes back, both ends exchange a hello (incarnation, what each saw of the other,
data epoch). If neither restarted, one had the other down, and both are still in the data
epoch they last shared, they were on two sides of a partition: they mark each other `split`
and share no data (this is the kv replica's DataGate). A restarted peer is caught up as before
(last writer wins). Nodes share data only inside one data epoch. Unshared peers and members
gone down are reported to the heal leader (core/heal_leader.py), which decides the heal.
docs/partitions.md explains the why.
"""
from __future__ import annotations

from typing import NamedTuple

from .context import Component, earliest
from .settings import HealSettings
from .messages import HealEpoch, HealHello, HealReport, HealView, HealViewRequest, KvWrite

HELLO_RETRY = 1.0       # resend an unanswered hello (the sim drops messages; TCP may reset)
MAX_STASH = 1000        # data messages kept for an epoch we are about to adopt


class LeftEpoch(NamedTuple):
    """The data epoch a heal just moved this node (a winner) out of."""
    epoch: list
    sharers: set        # who shared it with us and moves to the new one
    plan: set           # every node the heal moves to the new one


class SplitDetector(Component):
    # Named "autoheal": its epoch is saved under that name in the state file.
    name = "autoheal"
    handles = (HealHello, HealEpoch, HealViewRequest)

    def __init__(self, ctx, settings: HealSettings):
        self.ctx = ctx
        self.m = ctx.members
        self.enabled = settings.enabled
        self.delay = settings.delay
        self.report_every = settings.report_every
        self.leader = None              # the HealLeader this node reports to (autoheal.py wires it)
        self.inc = None
        self.ep = None                  # data epoch [counter, id]; None = adopt from the first peer
        # hello state, per peer
        self.seen: dict = {}            # peer -> its incarnation when we last judged
        self.lep: dict = {}             # peer -> our epoch when we last shared data with it
        self.was_down: set = set()
        self.req: dict = {}             # peer -> {"r", "f"} our outstanding hello
        self.rounds: dict = {}
        self.answered: dict = {}        # peer -> (r, our reply fields) for retried hellos
        self.decided: set = set()
        self.knows_me: dict = {}        # peer -> its incarnation when it answered our hello (_on_hello)
        self.peer_ep: dict = {}
        self.split: set = set()         # peers back from a partition: no data until healed
        self.merged: set = set()        # autoheal off: peers whose return we already reported
        self.synced: set = set()        # peers we share data with now
        self.stash: dict = {}           # epoch -> [(peer, kv message)] sent to us a moment early
        self.left = None                # LeftEpoch, once a heal moved us on as a winner
        self.unsynced: set = set()      # up, hello done, but not sharing data: a heal is due
        self.hello_at = None
        self.ask_at = None              # when to ask up peers whose epoch we never heard (see _refresh)
        self.report_at = None
        self.down_report: set = set()
        self.down_report_at = None
        self.episode = False

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
            return       # a heal's rejoin adopts the coordinator's epoch itself
        # A fresh join: take the epoch of the cluster we joined from the first hello.
        self.ep = None
        self.left = None
        self.split.clear()
        self.synced.clear()
        self.unsynced.clear()
        self.ctx.persist()

    def on_reset(self, now: float) -> None:
        self.ep = self.new_ep(0)
        self.left = None
        for s in (self.split, self.synced, self.unsynced, self.decided, self.was_down):
            s.clear()
        self.req.clear()
        self.stash.clear()
        self.episode = False
        self.ctx.persist()

    def begin_rejoin(self) -> None:
        """This node lost a heal and takes the coordinator's data: the episode ends when it adopts."""
        self.episode = True

    # ---------- the kv gate ----------
    def data_gate(self):
        return self if self.enabled else None

    def data_peers(self, up: set) -> set:
        return up & self.synced

    def epoch(self):
        return self.ep

    def accept(self, p: str, msg) -> bool:
        """Whether kv message msg from p is applied here. One of our own side's tagged with the
        epoch a heal just moved us out of is, and is also passed on in the new epoch."""
        ep = msg.epoch
        if p not in self.split and self.ep is not None and ep == self.ep:
            return True
        if self.left and ep == self.left.epoch and p in self.left.sharers:
            # Written a moment before the heal's plan reached its writer, by a member that shared
            # that epoch with us and moves to the new one: a write of our own side, which nobody
            # would send again. The losers took a copy made without it, and other members may
            # have moved on before it came: it is passed on in the new epoch (those not there
            # yet keep it until they are, see stash).
            for q in sorted((self.m.up & self.left.plan) - {p}):
                self.ctx.send(q, KvWrite(msg.entries, None, self.ep))
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
        else:
            v = self.my_view()
            self.ctx.send(p, HealView(gather=msg.gather, epoch=v["ep"], split=v["split"], down=v["down"],
                                      pending=tuple(v["pending"])))

    def _on_hello(self, p: str, msg: HealHello, now: float) -> None:
        theirs = {k: getattr(msg, k) for k in ("incarnation", "seen", "down", "epoch", "last_shared")}
        if msg.reply:
            req = self.req.get(p)
            if req is None or req["r"] != msg.round:
                return   # an answer to an older round
            del self.req[p]
            self.knows_me[p] = msg.incarnation     # it judged our fields: it has seen our incarnation
            self._judge_reconnection(p, req["f"], theirs, now)
            return
        if self.knows_me.get(p) == msg.incarnation and msg.seen != self.inc:
            # Written before p judged us (a retry held on an RPC connection the network cut, and
            # delivered after the heal): judged now, its old fields would say "restarted, not a
            # split" while p finds the split, and our data would reach p before autoheal decided.
            # p has not restarted, so a hello it writes now carries what it has seen of us.
            return
        prev = self.answered.get(p)
        if prev and prev[0] == msg.round and prev[2] == msg.incarnation:
            mine = prev[1]   # a retry: answer it exactly as before
        else:
            mine = self._fields(p)
            self.answered[p] = (msg.round, mine, msg.incarnation)
            self._judge_reconnection(p, mine, theirs, now)
            if p in self.req and self.req[p]["f"]["seen"] != msg.incarnation:
                # Our own hello to p predates what we now know of it: once p has our answer, it
                # drops that hello as old (above), and asked again every second it would be
                # dropped for as long as both stay up. Judged just now on fresher fields.
                del self.req[p]
        self.ctx.send(p, HealHello(round=msg.round, reply=True, **mine))

    def _judge_reconnection(self, p: str, mine: dict, theirs: dict, now: float) -> None:
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
                if up and self.ep is not None and self.peer_ep.get(p) is None and self.ask_at is None:
                    # It had no epoch when it said hello (it had just joined); the heal_ep that
                    # tells us the one it took can be lost, and nothing else would say it again.
                    self.ask_at = self.ctx.now + HELLO_RETRY

    def _epochless(self) -> list:
        """Up peers, hello done, whose data epoch we have not heard while we have ours."""
        if self.ep is None:
            return []
        return sorted(p for p in self.m.up & self.decided if self.peer_ep.get(p) is None)

    def adopt(self, ep, now: float, healed: bool = True, plan=(), losers=(), coordinator=None,
              resync: bool = False) -> None:
        """Take data epoch ep. In a heal, `plan` lists every node the coordinator moves to ep: we
        count them in it at once (so a heal costs O(n) messages, not O(n^2)); what they send us
        before they get there is stashed, and a node the plan missed shows up in the next views.
        Tables are sent only where a copy may be missing: to a winner we did not share data with
        just before, and to the losers when we did not share data with the coordinator."""
        old_synced = set(self.synced)
        plan = set(plan) - {self.m.me}
        losers = set(losers)
        i_lose = self.m.me in losers
        self.left = None if i_lose or self.ep is None else LeftEpoch(self.ep, (old_synced & plan) - losers, plan)
        self.ep = ep
        self.ctx.persist()
        had = self.episode or bool(self.split)
        self.split.clear()
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
        return earliest(self.hello_at, self.ask_at, self.down_report_at,
                        self.report_at if self.unsynced else None)

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
        if self.ask_at is not None and now >= self.ask_at:
            waiting = self._epochless()
            for p in waiting:
                self.ctx.send(p, HealEpoch(self.ep, ask=True))
            self.ask_at = now + HELLO_RETRY if waiting else None
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

    # ---------- reports to the leader ----------
    def _report(self, now: float, split: bool = False, down=()) -> None:
        leader = self.m.leader()
        if leader == self.m.me:
            self.leader.triggered(now)
        else:
            self.ctx.send(leader, HealReport(split, list(down)))

    def my_view(self) -> dict:
        # `pending`: up, but whether it was across a partition is not judged yet; until it is,
        # this node's view would count it as one it shares data with.
        return {"ep": self.ep, "split": sorted(p for p in self.split if p in self.m.up),
                "down": self.m.stopped(), "pending": sorted(self.m.up - self.decided)}

    def status(self, st: dict) -> None:
        st.setdefault("autoheal", {}).update({
            "enabled": self.enabled, "epoch": self.ep[1] if self.ep else None,
            "split_from": sorted(p for p in self.split if p in self.m.up),
            "not_sharing_data_with": sorted(self.m.up - self.synced)})
