"""The members table as this node holds it: its records, the views read on every event
(members, running, leader) and this node's own record.

A mixin of Membership (membership.py), which holds the state; how two copies of the table
converge is table_sync.py, the record rules are records.py.
"""
from __future__ import annotations

import uuid

from .drain import eligible
from .records import digest, new_record


class MemberTable:
    def form_alone(self, now: float) -> None:
        """Become a cluster of one with a fresh identity."""
        self.remember_former()
        self.cluster_id = uuid.UUID(int=self.ctx.rng.getrandbits(128)).hex
        self.records = {self.me: new_record(self.me, self.new_guid(now))}
        self.records_changed()
        self.ctx.persist()

    def remember_former(self) -> None:
        if self.cluster_id and self.cluster_id not in self.former:
            self.former = (self.former + [self.cluster_id])[-16:]

    def new_guid(self, now: float):
        """Orders members by age: the time this node entered its cluster, then its name."""
        return [int(self.ctx.wall_us(now)), self.me]

    def restore(self, state: dict) -> None:
        self.cluster_id = state["cluster_id"]
        self.records = {r["node"]: r for r in state["records"]}
        self.records_changed()
        self.former = state.get("former", [])

    def snapshot(self) -> dict:
        return {"cluster_id": self.cluster_id, "former": self.former,
                "records": sorted(self.records.values(), key=lambda r: r["node"])}

    def records_changed(self) -> None:
        """Whoever writes self.records calls this (the caches are read on every event)."""
        self._digest = None
        self._members = None
        self._leader = None

    def members(self) -> list:
        if self._members is None:
            self._members = sorted(n for n, r in self.records.items() if not r["removed"])
        return list(self._members)

    def others(self) -> list:
        return [n for n in self.members() if n != self.me]

    def is_member(self, n: str) -> bool:
        r = self.records.get(n)
        return r is not None and not r["removed"]

    def running(self) -> list:
        return sorted([self.me] + [n for n in self.others() if n in self.up])

    def stopped(self) -> list:
        return sorted(n for n in self.others() if n not in self.up)

    def status_of(self, n: str) -> str:
        if n != self.me and n not in self.up:
            return "down"
        return self.records[n]["status"]

    def leader(self) -> str:
        """The oldest running member (smallest guid) that is not drained (core/drain.py). Cached:
        read on most events, it changes only with the records or the up set (records_changed,
        up_changed)."""
        if self._leader is None:
            self._leader = min(eligible(self.running(), self.records),
                               key=lambda n: tuple(self.records[n]["guid"]))
        return self._leader

    def up_changed(self) -> None:
        self._leader = None

    def digest(self) -> int:
        if self._digest is None:
            self._digest = digest(self.records)
        return self._digest

    def set_own_status(self, status: str, now: float) -> None:
        """Our record's status (up, draining, drained), told to every member."""
        r = self.records[self.me]
        if r["status"] == status:
            return
        self.records[self.me] = rec = dict(r, status=status, version=r["version"] + 1)
        self.records_changed()
        self.ctx.persist()
        self.broadcast([rec])
