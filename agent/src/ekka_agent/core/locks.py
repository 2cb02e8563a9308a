"""The distributed lock service: Ekka's ekka_locker strategies with fencing tokens, plus etcd.

Commands (control socket): lock_acquire, lock_renew, lock_release, lock_list.
Strategies (core/lock_config.py STRATEGIES):
  local   this node's table only.
  leader  the oldest running member's table (one RPC).
  quorum  a majority of the resource's replica set on the ring of all members (ring.py).
  all     every member, down ones included: a down member fails the acquire.
  etcd    etcd's own key + lease (runtime/etcd_locks.py); the token is the key's revision.

Two state machines: the coordinator (core/lock_coordinator.py) runs a client's call, the
voter (core/lock_voter.py) answers for this node's table (core/lock_table.py).
"""
from __future__ import annotations

from .lock_coordinator import LockCoordinator
from .lock_voter import LockVoter


def components(ctx, settings) -> list:
    voter = LockVoter(ctx, settings.locks.request_timeout)
    # The voter first: a member gone down frees its leader locks before its calls fail.
    return [voter, LockCoordinator(ctx, settings.locks, voter)]
