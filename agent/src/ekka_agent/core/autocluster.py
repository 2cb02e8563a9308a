"""Autocluster: the decisions of node discovery, with no I/O.

One round: [lock] -> discover -> probe each discovered node over RPC -> choose whom to join
(core/cluster_choice.py) -> [join] -> [register] -> [unlock] (discovery_round.py). The
strategy's I/O (static list, multicast, DNS, etcd, Kubernetes) is done by
runtime/discovery_extra.py, which carries out DiscOp actions and feeds DiscResult events back.
Probes ("disc_probe") are answered by every node (discovery_probes.py), so each node learns
which cluster the others are in, how many run there and how old it is. The operator's
commands and the status are discovery_control.py; this file holds the state and the timers.

Never two clusters, the failure users meet most with discovery:
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

from .context import Component, earliest
from ..strategies import DISCOVERY_WITH_LOCK, DISCOVERY_WITH_REGISTRY
from .discovery_control import DiscoveryControl
from .discovery_probes import DiscoveryProbes
from .discovery_round import DiscoveryRound
from .events import DiscResult
from .messages import DiscoveryInfo, DiscoveryProbe


class AutoCluster(DiscoveryRound, DiscoveryProbes, DiscoveryControl, Component):
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
        return earliest(self.next_run, self.deadline)

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

    def on_stop(self, now: float) -> None:
        self.next_run = self.deadline = None

    def status(self, st: dict) -> None:
        st["discovery"] = {"enabled": self.enabled, "strategy": self.strategy, "rounds": self.round,
                           "errors": self.errors, "drained": self.drained}


def components(ctx, settings) -> list:
    # Always present: even a manual node answers probes, so others see it and its cluster.
    return [AutoCluster(ctx, settings.discovery)]
