"""Membership: who is in the cluster, who is up, and manual join / leave / force-leave.

A peer is up while a cluster-port connection to it is open and the failure detector
(core/failure_detector.py) finds it alive; a reset connection marks it down at once. Down
members are redialled with capped backoff for as long as they stay members, so a node that
comes back after any absence is found again. Heartbeats carry a digest of the members table
(under SWIM, one to a random peer now and then): a difference sends the records of the ranges
of the table that differ (anti-entropy).

This file holds the state and routes events; each decision is its own file, mixed in here:
- member_table.py: the records, the views (members, running, leader), our own record;
- table_sync.py: digests, Sync and the merge of a received table;
- member_links.py: dialling, redials, connection events and the up/down marks;
- detector_host.py: what the failure detector may use and how its verdicts land;
- join_protocol.py: join (request, accept, copy), leave, force-leave, our own removal.
"""
from __future__ import annotations

from .context import Component, earliest
from .detector_host import DetectorHostGlue
from .failure_detector import make_detector
from .join_protocol import JoinProtocol
from .member_links import MemberLinks
from .member_table import MemberTable
from .messages import Heartbeat, JoinAccepted, JoinRequest, NotMember, SwimMessage, Sync, SyncSummary
from .table_sync import TableSync


class Membership(MemberTable, TableSync, MemberLinks, DetectorHostGlue, JoinProtocol, Component):
    name = "membership"
    handles = (Heartbeat, Sync, SyncSummary, JoinRequest, JoinAccepted, NotMember, SwimMessage)
    commands = ("join", "leave", "force_leave")

    def __init__(self, ctx):
        self.ctx = ctx                    # the NodeCore: a Context (core/context.py) that also hears
        self.me = ctx.name                # peer_up / peer_down / on_reset from here
        self.cluster_id = ""
        self.records: dict[str, dict] = {}
        self.conns: dict[str, list] = {}  # peer -> its open cluster-port links, oldest first
        self.up: set[str] = set()
        self.down_since: dict[str, float] = {}
        self.dialing: dict[str, int] = {}     # peer -> our dials to it under way (member_links.py)
        self.refreshing: dict[str, tuple] = {}  # peer -> its links a fresh dial replaces
        self.linked_at: dict[str, float] = {}  # peer -> when its newest connection came up
        self.replacing: dict[str, str] = {}   # peer whose replaced link closed first -> why (member_links.py)
        self.redial_at: dict[str, float] = {}
        self.backoff: dict[str, float] = {}
        self.swim = ctx.settings.failure_detector == "swim"
        self.detector = make_detector(self, ctx.settings, ctx.rng)
        self.last_sync: dict[str, float] = {}
        self.mismatch: dict[str, int] = {}
        self._digest = None               # caches of digest(records) and members(): records_changed()
        self._members = None
        self._leader = None
        self._ranges = None               # per range of the table: digests and names (member_table.py)
        self.pending_join = None          # {"target", "req_id", "deadline", "sent"}: join_protocol.py
        self.former: list[str] = []       # clusters this node has left, newest last

    def on_start(self, now: float) -> None:
        if not self.cluster_id:           # nothing restored
            self.form_alone(now)
        # Members restored from disk start down: up once they answer.
        self.detector.members_changed(self.others(), now, up=False)
        self.detector.on_start(now)
        # At once, both ways: a member that removed us while we were away will not dial us,
        # and only its answer tells us so.
        for p in self.others():
            self.dial(p)

    def next_deadline(self):
        return earliest(self.detector.next_deadline(), min(self.redial_at.values()) if self.redial_at else None,
                        self.pending_join["deadline"] if self.pending_join else None)

    def on_tick(self, now: float) -> None:
        self.detector.on_tick(now)
        self.redial_due(now)
        self.join_expired(now)

    def on_message(self, p: str, msg, now: float) -> None:
        if isinstance(msg, SwimMessage):
            self.detector.on_message(p, msg, now)
        elif isinstance(msg, Heartbeat):
            self.detector.on_heartbeat(p, msg, now)
            self.on_heartbeat(p, msg, now)
        elif isinstance(msg, Sync):
            self.on_sync(p, msg, now)
        elif isinstance(msg, SyncSummary):
            self.on_summary(p, msg, now)
        elif isinstance(msg, JoinRequest):
            self.on_join_req(p, msg, now)
        elif isinstance(msg, JoinAccepted):
            self.on_join_ok(p, msg, now)
        elif isinstance(msg, NotMember):
            self.on_not_member(p, msg, now)
