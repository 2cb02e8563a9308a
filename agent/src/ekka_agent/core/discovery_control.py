"""Discovery as the operator sees it: `cluster discovery enable|disable|status`, a manual
leave turning discovery off (as in EMQX 5, with a notice in the reply), and the status a
round reports.

A mixin of AutoCluster (autocluster.py), which holds the state.
"""
from __future__ import annotations

from .context import InternalRequest
from .events import DiscOp


LEAVE_NOTICE = ("Automatic cluster discovery is disabled on this node: %s to avoid re-joining the same "
                "cluster again. To enable it run: 'ekka-ctl cluster discovery enable' or restart the node.")


class DiscoveryControl:
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
