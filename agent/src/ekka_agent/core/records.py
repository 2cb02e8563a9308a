"""Member records and how two copies of the members table merge.

Every record carries a version. A node writes its own record; anyone may write a tombstone
(removed=True) for a node it removes (force-leave, autoclean). The higher version wins, and a
tombstone wins a tie, so a removed node cannot come back from a stale copy; it re-enters only
through a join, which writes a live record above the tombstone.
"""
from __future__ import annotations

import hashlib
import zlib


def new_record(node: str, guid, version: int = 1, status: str = "up") -> dict:
    return {"node": node, "guid": list(guid), "status": status, "version": version, "removed": False}


def tombstone(rec: dict, by: str) -> dict:
    return dict(rec, removed=True, status="removed", version=rec["version"] + 1, by=by)


def newer(a: dict, b: dict | None) -> bool:
    """Does record a replace record b?"""
    if b is None:
        return True
    if a["version"] != b["version"]:
        return a["version"] > b["version"]
    return a["removed"] and not b["removed"]


# The table is cut by node name into this many ranges, each with its own digest: two tables that
# differ by a few records then exchange the records of a few ranges, not the whole table.
RANGES = 64


def range_of(node: str) -> int:
    return zlib.crc32(node.encode()) & (RANGES - 1)


def record_hash(r: dict) -> int:
    # Not a CRC: a CRC is linear, so over an XOR the changes of two records by the same pattern
    # (each one version up, say, or each removed and joined again) cancelled out, and a node that
    # missed both had the digest of a node that had both: anti-entropy never repaired it.
    key = ("%s|%d|%d" % (r["node"], r["version"], r["removed"])).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "big")


def digest(records: dict) -> int:
    """A cheap fingerprint of the table, sent with heartbeats to spot a difference. An XOR of
    one hash per record, so replacing a record updates it in O(1) (MemberTable.put_record)."""
    h = 0
    for r in records.values():
        h ^= record_hash(r)
    return h
