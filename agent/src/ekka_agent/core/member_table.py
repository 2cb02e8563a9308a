"""The members table as this node holds it: its records, the views read on every event
(members, running, leader) and this node's own record.

A mixin of Membership (membership.py), which holds the state; how two copies of the table
converge is table_sync.py, the record rules are records.py.
"""
from __future__ import annotations

import uuid
from bisect import insort

from .drain import eligible
from .records import RANGES, digest, new_record, range_of, record_hash


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
        """Whoever replaces self.records calls this (the caches are read on every event)."""
        self._digest = None
        self._members = None
        self._leader = None
        self._ranges = None

    def put_record(self, r: dict) -> None:
        """Store one record in place of the one it replaces, the caches kept in O(1): a node
        learns every member once, so a table rebuilt per record made forming N nodes O(N^3)."""
        n = r["node"]
        cur = self.records.get(n)
        self.records[n] = r
        if self._digest is not None or self._ranges is not None:
            h = record_hash(r) ^ (record_hash(cur) if cur is not None else 0)
            if self._digest is not None:
                self._digest ^= h
            if self._ranges is not None:
                i = range_of(n)
                self._ranges[0][i] ^= h
                if cur is None:
                    self._ranges[1][i].append(n)
        live, was = not r["removed"], cur is not None and not cur["removed"]
        if live != was and self._members is not None:
            if live:
                insort(self._members, n)
            else:
                self._members.remove(n)
        if n == self.me or n in self.up or live != was:
            self._leader = None     # the running set, a guid or a status may differ

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

    def range_digests(self) -> list:
        return list(self._by_range()[0])

    def records_in(self, ranges) -> list:
        names = self._by_range()[1]
        return [self.records[n] for i in ranges for n in names[i]]

    def _by_range(self) -> tuple:
        """Per range of the table (records.RANGES): the digest of its records and their names."""
        if self._ranges is None:
            dg, names = [0] * RANGES, [[] for _ in range(RANGES)]
            for n, r in self.records.items():
                i = range_of(n)
                dg[i] ^= record_hash(r)
                names[i].append(n)
            self._ranges = (dg, names)
        return self._ranges

    def set_own_status(self, status: str, now: float) -> None:
        """Our record's status (up, draining, drained), told to every member."""
        r = self.records[self.me]
        if r["status"] == status:
            return
        self.put_record(rec := dict(r, status=status, version=r["version"] + 1))
        self.ctx.persist()
        self.broadcast([rec])
