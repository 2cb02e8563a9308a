"""One discovery round, step by step: [lock] -> discover -> probe each discovered node ->
decide (cluster_choice.py) -> [join] -> [register] -> [unlock], and whether the round left
this node where it should be (satisfied) or must retry with backoff.

The strategy's I/O is done by runtime/discovery_extra.py: each step is a DiscOp action and
comes back as a DiscResult event. A mixin of AutoCluster (autocluster.py), which holds the
state; phase is idle | locking | discovering | probing | deciding | joining | registering |
unlocking.
"""
from __future__ import annotations

from .cluster_choice import choose_cluster_to_join
from .context import InternalRequest
from .events import DiscOp, DiscResult
from .messages import DiscoveryProbe


class DiscoveryRound:
    def on_event(self, e: DiscResult, now: float) -> None:
        if e.round != self.round and e.op not in ("unregister", "register"):
            return  # a late answer from an earlier round
        if e.op == "lock":
            self.on_locked(e, now)
        elif e.op == "discover":
            self.on_discovered(e, now)
        elif e.op == "register":
            if e.ok:
                if not self.registered:
                    self.ctx.log("info", "autocluster: registered this node with %s" % self.strategy)
                self.registered = True
            else:
                self.fail(now, "register failed: %s" % e.error)
            if self.phase == "registering":
                self.finish(now)
        elif e.op == "unregister":
            if e.ok:
                self.ctx.log("info", "autocluster: unregistered this node from %s" % self.strategy)
            else:
                self.ctx.log("warning", "autocluster: unregister failed: %s" % e.error)
        elif e.op == "unlock":
            if not e.ok:
                self.ctx.log("warning", "autocluster: unlock failed (the lock expires by itself): %s" % e.error)
            self.locked = False
            if self.phase == "unlocking":
                self.end_round(now)

    def begin(self, now: float, dry: bool = False) -> None:
        self.round += 1
        self.dry = dry
        self.answers, self.unreachable = {}, {}
        self.round_error = ""
        if self.strategy == "manual":
            self.discovered = []
            return self.end_round(now)
        # With a lock (etcd) a lone node first looks without it: if a cluster already runs it
        # joins that; the lock is taken only to form the first one (see after_probe).
        self.phase = "discovering"
        self.ctx.act(DiscOp("discover", self.round))

    def on_locked(self, e: DiscResult, now: float) -> None:
        if self.phase != "locking":
            return
        if not e.ok and "is held by" in e.error:
            # Another node is forming right now: look again soon, likely to join what it formed.
            self.round_error, self.last_decision = "lock busy", e.error
            self.backoff = self.retry_min
            return self.finish(now)
        if not e.ok:
            return self.fail(now, "lock failed: %s" % e.error, end=True)
        self.locked = True
        self.phase = "discovering"
        self.ctx.act(DiscOp("discover", self.round))

    def on_discovered(self, e: DiscResult, now: float) -> None:
        if self.phase != "discovering":
            return
        if not e.ok:
            return self.fail(now, "discovery failed: %s" % e.error, end=True)
        self.prev_discovered, self.discovered = self.discovered, sorted(set(e.nodes))
        self.strategy_info = dict(e.info or {})
        self.phase = "probing"
        for n in self.pending_probes():
            self.ctx.send(n, DiscoveryProbe(self.round))
        if self.pending_probes():
            self.deadline = now + self.probe_timeout
        else:
            self.after_probe(now)

    def pending_probes(self) -> list:
        # A running member of our own cluster would only tell us what membership already knows:
        # probing every discovered node each round would cost an idle cluster O(N^2) calls.
        up = self.ctx.members.up
        return [n for n in self.discovered if n != self.ctx.name and n not in self.answers
                and n not in self.unreachable and n not in up]

    def after_probe(self, now: float) -> None:
        self.phase = "deciding"
        if self.dry or not self.enabled:
            return self.finish(now)
        me = dict(self.info(), name=self.ctx.name)
        if (self.has_lock and me["size"] <= 1 and not self.locked
                and not any(i.get("enabled") and i["size"] > 1 and i["cid"] != me["cid"] for i in self.answers.values())):
            # No cluster runs yet: form under the strategy's lock, looking again once we hold it.
            self.phase = "locking"
            self.answers, self.unreachable = {}, {}
            self.ctx.act(DiscOp("lock", self.round))
            return
        what, target, why = choose_cluster_to_join(me, self.answers, locked=self.locked, expect=self.expect)
        if (what == "join" and me["size"] <= 1 and self.answers[target]["size"] <= 1 and not self.locked
                and now - self.started_at < self.formation_wait):
            # Lone nodes join each other only with a settled view: everyone discovered answered,
            # and (but for static seeds) discovery returned the same nodes twice running.
            if self.unreachable:
                what, why = "retry", "forming only once %s answer(s)" % ", ".join(sorted(self.unreachable))
            elif self.strategy != "static" and self.discovered != self.prev_discovered:
                what, why = "retry", "forming only once discovery returns the same nodes twice"
        self.last_decision = why
        if what == "join":
            self.phase = "joining"
            merge = me["size"] > 1
            req = InternalRequest(self.name, "join", data={"target": target, "merge": merge, "why": why,
                                                            "old": self.ctx.members.cluster_id})
            self.ctx.log("info" if not merge else "warning", "autocluster: %s" % why)
            self.ctx.request_join(req, target, now)
        elif what in ("wait", "retry"):
            self.ctx.log("info" if what == "wait" else "debug", "autocluster: %s" % why)
            if what == "retry":
                self.backoff = self.retry_min
            self.after_join(now)
        else:
            self.after_join(now)

    def after_join(self, now: float) -> None:
        if self.phase not in ("joining", "deciding"):
            return
        if self.has_registry and not self.registered and self.enabled and not self.dry:
            self.phase = "registering"
            self.ctx.act(DiscOp("register", self.round))
        else:
            self.finish(now)

    def finish(self, now: float) -> None:
        if self.locked:
            self.phase = "unlocking"
            self.ctx.act(DiscOp("unlock", self.round))
            return
        self.end_round(now)

    def fail(self, now: float, why: str, end: bool = False) -> None:
        if why != self.last_error:
            self.ctx.log("warning", "autocluster: %s; retrying with backoff" % why)
        self.last_error = self.round_error = why
        self.errors += 1
        if end:
            self.finish(now)

    def end_round(self, now: float) -> None:
        self.phase = "idle"
        self.deadline = None
        ok = self.satisfied()
        if ok:
            if self.last_error:
                self.ctx.log("info", "autocluster: recovered (%s)" % self.last_error)
            self.last_error = ""
            self.last_done = now
            self.backoff = self.retry_min
            wait = self.interval
        else:
            wait = self.backoff
            self.backoff = min(self.retry_max, self.backoff * 2)
        if self.enabled:
            self.next_run = now + wait * (0.5 + 0.5 * self.ctx.rng.random())
        for rid in self.waiting_status:
            self.ctx.reply(rid, self.describe(now))
        self.waiting_status = []

    def satisfied(self) -> bool:
        """In one cluster with every live discovered node that takes part in discovery."""
        if self.round_error:
            return False
        if self.has_registry and not self.registered:
            return False
        cid = self.ctx.members.cluster_id
        live = [i for i in self.answers.values() if i.get("enabled")]
        if not live:
            return bool(self.ctx.members.others())
        return all(i["cid"] == cid for i in live)
