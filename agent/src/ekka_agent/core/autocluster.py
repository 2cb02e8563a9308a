"""Autocluster: the decisions of node discovery, with no I/O.

One round: [lock] -> discover -> probe each discovered node over RPC -> choose whom to join
(core/cluster_choice.py) -> [join] -> [register] -> [unlock]. The strategy's I/O (static list, multicast, DNS, etcd, Kubernetes) is
done by runtime/discovery_extra.py, which carries out DiscOp actions and feeds DiscResult
events back. Probes ("disc_probe") are answered by every node, so each node learns which
cluster the others are in, how many run there and how old it is.

Never two clusters (peers.md pain points 1 and 2):
- formation: among nodes that are still alone, all agree on the lowest node name; the others
  join it (optionally only once cluster.bootstrap_expect nodes are seen). With a strategy
  that has a lock (etcd), formation happens under the lock: the holder joins whoever is
  registered, and registers before it unlocks, so rounds are strictly ordered.
- merge: a cluster that sees another cluster of the same name (formed during a partition,
  say) joins it when that one is larger, or equal and older (smaller oldest-member guid).
Rounds repeat after success too (cluster.autocluster.interval), which is what finds a
second cluster after a partition heals. A probe from a stranger starts a round soon.
"""
from __future__ import annotations

from .context import Component, InternalRequest
from ..strategies import DISCOVERY_WITH_LOCK, DISCOVERY_WITH_REGISTRY
from .cluster_choice import choose_cluster_to_join
from .events import DiscOp, DiscResult
from .messages import DiscoveryInfo, DiscoveryProbe


LEAVE_NOTICE = ("Automatic cluster discovery is disabled on this node: %s to avoid re-joining the same "
                "cluster again. To enable it run: 'ekka-ctl cluster discovery enable' or restart the node.")


class AutoCluster(Component):
    name = "autocluster"
    handles = (DiscoveryProbe, DiscoveryInfo)
    commands = ("discovery_status", "discovery_enable", "discovery_disable")
    events = (DiscResult,)

    def __init__(self, ctx, s):
        self.ctx = ctx
        self.strategy = s.strategy
        self.enabled = self.strategy != "manual"
        self.interval = s.interval
        self.retry_min = s.retry_min
        self.retry_max = s.retry_max
        self.probe_timeout = s.probe_timeout
        self.expect = s.bootstrap_expect
        self.has_lock = self.strategy in DISCOVERY_WITH_LOCK
        self.has_registry = self.strategy in DISCOVERY_WITH_REGISTRY
        self.round = 0
        self.phase = "idle"          # idle | locking | discovering | probing | joining | registering | unlocking
        self.next_run = None
        self.deadline = None
        self.backoff = self.retry_min
        self.locked = False
        self.dry = False             # a round only to answer `discovery status` (no join/register)
        self.registered = False
        self.discovered: list = []
        self.prev_discovered: list = []
        self.answers: dict = {}
        self.unreachable: dict = {}
        self.strategy_info: dict = {}
        self.last_error = ""
        self.round_error = ""        # what went wrong in the current round (lock, discover, register)
        self.errors = 0              # failed steps since start (a metric)
        self.last_decision = ""
        self.last_done = None
        self.waiting_status: list = []
        self.merges = 0
        self.joins = 0
        self.started_at = 0.0
        self.drained = False         # a drained node runs no round (core/drain.py)
        # Lone nodes form a cluster only with a complete view (every discovered node answered),
        # or after this long: a seed that is down for good must not block formation forever.
        self.formation_wait = 3 * self.probe_timeout

    # ---------- hooks ----------
    def on_start(self, now: float) -> None:
        self.started_at = now
        if self.enabled:
            self.next_run = now

    def next_deadline(self):
        ds = [d for d in (self.next_run, self.deadline) if d is not None]
        return min(ds) if ds else None

    def on_tick(self, now: float) -> None:
        if self.deadline is not None and now >= self.deadline:
            self.deadline = None
            if self.phase == "probing":
                for n in self.pending_probes():
                    self.unreachable[n] = ("no answer to the discovery probe within %.1fs (not running, other "
                                           "cookie or cluster name, or unreachable)" % self.probe_timeout)
                self.after_probe(now)
        if self.next_run is not None and now >= self.next_run and self.phase == "idle":
            self.next_run = None
            if not self.drained:
                self.begin(now, dry=not self.enabled)

    def on_drain(self, drained: bool, now: float) -> bool:
        self.drained = drained
        if not drained and self.enabled and self.phase == "idle":
            self.next_run = now
        return False

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

    def on_message(self, p: str, msg, now: float) -> None:
        if isinstance(msg, DiscoveryProbe):
            i = self.info()
            self.ctx.send(p, DiscoveryInfo(round=msg.round, cluster_id=i["cid"], size=i["size"], oldest=i["oldest"],
                                            enabled=i["enabled"], members=i["members"], busy=i["busy"]))
            if self.phase == "probing" and p in self.discovered and p not in self.answers:
                # It was not up when we probed it (that probe was dropped): ask again now.
                self.ctx.send(p, DiscoveryProbe(self.round))
            elif (self.enabled and self.phase == "idle" and not self.ctx.members.is_member(p)
                    and p not in self.answers):
                # A node we have not heard from is looking for its cluster: look again soon.
                soon = now + self.retry_min * (0.1 + 0.4 * self.ctx.rng.random())
                if self.next_run is None or self.next_run > soon:
                    self.next_run = soon
                self.backoff = self.retry_min
        elif self.phase == "probing" and msg.round == self.round and p in self.discovered:
            self.answers[p] = {"cid": msg.cluster_id, "size": msg.size, "oldest": msg.oldest,
                               "enabled": msg.enabled, "members": msg.members, "busy": msg.busy}
            self.unreachable.pop(p, None)
            if not self.pending_probes():
                self.deadline = None
                self.after_probe(now)

    def on_command(self, rid, cmd: str, args: dict, now: float) -> None:
        if cmd == "discovery_status":
            self.waiting_status.append(rid)
            if self.phase == "idle":
                self.next_run = None
                self.begin(now, dry=not self.enabled or self.drained)
            return
        if cmd == "discovery_enable":
            if self.strategy == "manual":
                return self.ctx.reply_error(rid, "manual_strategy", message="cluster.discovery_strategy is manual: "
                                            "there is nothing to discover; set a strategy in the config")
            was = self.enabled
            self.enabled = True
            self.backoff = self.retry_min
            if self.phase == "idle":
                self.next_run = now
            if not was:
                self.ctx.log("info", "autocluster: automatic cluster discovery enabled")
            return self.ctx.reply(rid, "ok")
        self.disable(now, "by command")
        self.ctx.reply(rid, "ok")

    def wrap_request(self, req, cmd: str, args: dict, now: float):
        """Leaving by hand turns discovery off, as in EMQX 5, and the reply says so."""
        if cmd != "leave" or not self.enabled:
            return req
        return InternalRequest(self.name, "leave", client=req)

    def on_reply(self, req: InternalRequest, r, now: float) -> None:
        if req.cmd == "leave":
            if r.ok:
                self.disable(now, "after a manual leave")
                self.ctx.reply(req.client, {"result": "ok", "notice": LEAVE_NOTICE % self.ctx.name})
            else:
                self.ctx.reply_error(req.client, r.error, (r.extra or {}).get("node"), r.message)
            return
        # our own join (after_probe)
        d = req.data
        if r.ok and r.result == "ok":
            self.joins += 1
            if d["merge"]:
                self.merges += 1
                self.ctx.emit("cluster_merge", self.ctx.name, into=d["target"], old_cluster=d["old"],
                              cluster_id=self.ctx.members.cluster_id)
            self.ctx.log("info" if not d["merge"] else "warning", "autocluster: %s: done" % d["why"])
        elif not r.ok:
            self.last_error = "join %s failed: %s" % (d["target"], r.error)
            self.ctx.log("warning", "autocluster: %s" % self.last_error)
        self.after_join(now)

    def on_stop(self, now: float) -> None:
        self.next_run = self.deadline = None

    def status(self, st: dict) -> None:
        st["discovery"] = {"enabled": self.enabled, "strategy": self.strategy, "rounds": self.round,
                           "errors": self.errors, "drained": self.drained}

    # ---------- the round ----------
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

    # ---------- views ----------
    def info(self) -> dict:
        m = self.ctx.members
        run = m.running()
        oldest = min((tuple(m.records[n]["guid"]) for n in run if n in m.records), default=())
        return {"cid": m.cluster_id, "size": len(run), "oldest": list(oldest), "enabled": self.enabled,
                "members": m.members(), "busy": m.pending_join is not None}

    def disable(self, now: float, why: str) -> None:
        was = self.enabled
        self.enabled = False
        self.next_run = None
        if was:
            self.ctx.log("info", "autocluster: automatic cluster discovery disabled %s" % why)
        if self.registered:
            self.registered = False
            self.ctx.act(DiscOp("unregister", self.round))

    def describe(self, now: float) -> dict:
        m = self.ctx.members
        members = set(m.members())
        others = {n: {"cluster_id": i["cid"], "running": i["size"], "discovery_enabled": i["enabled"]}
                  for n, i in sorted(self.answers.items()) if n not in members}
        return {
            "enabled": self.enabled, "strategy": self.strategy, "node": self.ctx.name,
            "cluster_id": m.cluster_id, "discovered": self.discovered,
            "members": sorted(n for n in self.discovered if n in members),
            "not_members": sorted(n for n in self.discovered if n not in members),
            "other_clusters": others,
            "unreachable": dict(sorted(self.unreachable.items())),
            "registered": self.registered if self.has_registry else None,
            "bootstrap_expect": self.expect, "error": self.last_error, "last_decision": self.last_decision,
            "joins": self.joins, "merges": self.merges, "strategy_info": self.strategy_info,
        }


def components(ctx, settings) -> list:
    # Always present: even a manual node answers probes, so others see it and its cluster.
    return [AutoCluster(ctx, settings.discovery)]
