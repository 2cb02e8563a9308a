"""What the lock core asks of the etcd helper (runtime/etcd_locks.py) and what comes back.

The core never talks to etcd itself; it emits an EtcdLockCall and later receives the matching
EtcdLockResult through agent.feed().
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EtcdLockCall:
    op: str            # the core's op id, echoed in the result
    kind: str          # acquire | renew | release
    resource: str
    owner: str         # "<node>|<client id>": the value stored under the lock key
    lease: float = 0.0
    lease_id: int | None = None   # renew / release: the etcd lease of the hold meant


@dataclass(frozen=True)
class EtcdLockResult:
    op: str
    ok: bool
    # acquire/renew: token (the key's create revision), lease_id, lease (what the holder may
    # trust, counted from before it asked), joined (acquire: re-entrant)
    result: dict = field(default_factory=dict)
    error: str | None = None                     # locked | lost | etcd_unavailable | etcd_error
    message: str | None = None
