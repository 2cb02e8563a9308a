"""Prometheus metrics through the official prometheus_client, in a registry of this agent's own.

Fed without touching the core: gauges are read from status at each scrape, counters from the
event stream (on_emit), command latencies by timing agent.command, and heartbeat round trips by
link-level pings on the open cluster connections (runtime/proofs.py). Names follow Prometheus
conventions: ekka_ prefix, seconds, _total counters.
"""
from __future__ import annotations

import asyncio
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ..core import versions
from .extras import Extra

PING_EVERY = 2.0     # seconds between round-trip probes of each peer
LATENCY_BUCKETS = (.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10)


class Metrics(Extra):
    def __init__(self, agent):
        self.agent = agent
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.last_status: dict = {}   # the status of the scrape under way
        self.rtt = Histogram("ekka_heartbeat_rtt_seconds", "Round trip of a ping on the cluster connection to a peer",
                             ["peer"], buckets=LATENCY_BUCKETS, registry=r)
        # Fed by node_suspected events: only a detector with a suspicion stage (SWIM) raises them.
        self.suspicions = Counter("ekka_failure_detector_suspicions_total", "Peers suspected, before a down or a "
                                  "refutation", ["peer"], registry=r)
        self.downs = Counter("ekka_failure_detector_downs_total", "Peers marked down, by cause", ["peer", "cause"],
                             registry=r)
        self.partitions = Counter("ekka_partitions_total", "Partitions this node found", registry=r)
        self.heals = Counter("ekka_partition_heals_total", "Partitions healed on this node", registry=r)
        self.heal_time = Histogram("ekka_partition_duration_seconds", "From a partition found to healed",
                                   buckets=(1, 2, 5, 10, 30, 60, 120, 300, 600, 1800), registry=r)
        self.kv_write = Histogram("ekka_kv_write_duration_seconds", "kv put/del until acknowledged",
                                  buckets=LATENCY_BUCKETS, registry=r)
        self.locks = Counter("ekka_lock_requests_total", "Lock acquisitions by strategy and result",
                             ["strategy", "result"], registry=r)
        self.lock_time = Histogram("ekka_lock_acquire_duration_seconds", "Lock acquisition latency", ["strategy"],
                                   buckets=LATENCY_BUCKETS, registry=r)
        r.register(_FromStatus(self))
        # process_open_fds / process_max_fds beside CPU and memory: open files run out with members.
        ProcessCollector(registry=r)
        self.split_at = None
        self.task = None

    # ---------- lifecycle (an extra) ----------
    async def start(self) -> None:
        command = self.agent.command

        async def timed(cmd, args, timeout=60.0):
            t0 = time.perf_counter()
            reply = await command(cmd, args, timeout)
            self.on_command(cmd, args, reply, time.perf_counter() - t0)
            return reply
        self.agent.command = timed
        self.agent.transport.proofs.on_rtt = lambda peer, s: self.rtt.labels(peer).observe(s)
        self.task = asyncio.get_running_loop().create_task(self._pinger())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()

    async def _pinger(self) -> None:
        while True:
            await asyncio.sleep(PING_EVERY)
            self.agent.transport.proofs.ping_all()

    # ---------- feeds ----------
    def on_command(self, cmd: str, args: dict, reply: dict, seconds: float) -> None:
        if cmd in ("kv_put", "kv_del") and reply.get("ok"):
            self.kv_write.observe(seconds)
        elif cmd == "lock_acquire":
            strategy = args.get("strategy") or self.agent.cfg["cluster.locks.default_strategy"]
            self.locks.labels(strategy, "granted" if reply.get("ok") else "denied").inc()
            self.lock_time.labels(strategy).observe(seconds)

    def on_emit(self, e: dict) -> None:
        kind = e.get("event")
        if kind == "node_suspected":
            self.suspicions.labels(e.get("node", "")).inc()
        elif kind == "node_down":
            cause = "timeout" if str(e.get("reason", "")).startswith("no heartbeat") else "connection"
            self.downs.labels(e.get("node", ""), cause).inc()
        elif kind == "partition_occurred":
            self.partitions.inc()
            self.split_at = self.split_at or time.monotonic()
        elif kind == "partition_healed":
            self.heals.inc()
            if self.split_at is not None:
                self.heal_time.observe(time.monotonic() - self.split_at)
                self.split_at = None

    async def scrape(self) -> bytes:
        reply = await self.agent.command("status", {})
        self.last_status = reply.get("result") or {}
        return generate_latest(self.registry)


class _FromStatus:
    """Gauges read from the status of the moment."""

    def __init__(self, m: Metrics):
        self.m = m

    def describe(self):
        return []

    def collect(self):
        st, a = self.m.last_status, self.m.agent
        if not st:
            return
        info = GaugeMetricFamily("ekka_agent_info", "This agent", labels=["node", "version", "protocol"])
        info.add_metric([st["node"], versions.agent_version(), str(versions.PROTOCOL)], 1)
        yield info
        yield GaugeMetricFamily("ekka_cluster_nodes_running", "Members running", value=len(st["running_nodes"]))
        yield GaugeMetricFamily("ekka_cluster_nodes_stopped", "Members stopped", value=len(st["stopped_nodes"]))
        ms = GaugeMetricFamily("ekka_cluster_member_status", "1 for each member's status", labels=["node", "status"])
        for m in st["members"]:
            ms.add_metric([m["node"], m["status"]], 1)
        yield ms
        yield GaugeMetricFamily("ekka_cluster_alarms", "Alarms raised on this node", value=len(st.get("alarms", [])))
        kv = getattr(getattr(a.core, "kv", None), "entries", None)
        if kv is not None:
            yield GaugeMetricFamily("ekka_kv_entries", "Entries in the replicated table (tombstones included)",
                                    value=len(kv))
        d = st.get("discovery") or {}
        if "rounds" in d:
            yield CounterMetricFamily("ekka_discovery_rounds", "Discovery rounds", value=d["rounds"])
            yield CounterMetricFamily("ekka_discovery_errors", "Discovery steps that failed", value=d["errors"])
        if st.get("certificates"):
            ce = GaugeMetricFamily("ekka_certificate_expiry_timestamp_seconds", "End of validity (Unix time)",
                                   labels=["file", "role", "subject"])
            for c in st["certificates"]:
                ce.add_metric([c["file"], c["role"], c["subject"]], c["not_after"])
            yield ce
