"""The failure detector's settings, the events it is fed and the actions it returns (swim.py)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SwimSettings:
    probe_interval: float = 0.5      # one probe per period
    probe_timeout: float = 0.2       # direct ack wait before asking others (x awareness)
    indirect_checks: int = 3         # k members asked to ping-req
    suspicion_min_mult: float = 1.0  # shortest suspicion = this * max(1, log10 n) * probe_interval
    suspicion_max_mult: float = 3.0  # longest = this * shortest (no confirmation yet)
    suspicion_floor: float = 0.0     # the shortest suspicion is never below this (seconds)
    suspicion_confirmations: int = 3  # independent accusers that bring it to the shortest
    retransmit_mult: int = 4         # each update sent this * ceil(log10(n+1)) times
    max_piggyback: int = 8           # updates per message
    gossip_interval: float = 0.2     # while there is news
    gossip_fanout: int = 3
    gossip_to_dead: float = 30.0     # the recently dead hear gossip too: a chance to refute
    dead_probe_interval: float = 1.0  # one member held dead is pinged this often
    sync_interval: float = 30.0      # push-pull with one member (scaled up past 32 members)
    max_awareness: int = 8
    pause_grace: float = 1.0         # woken this late: we were paused, blame nobody


# ---- events in ----
@dataclass(frozen=True)
class MemberAdded:
    nodes: tuple
    up: bool = True      # False: known but not heard from yet (restored from disk)


@dataclass(frozen=True)
class MemberRemoved:
    node: str


@dataclass(frozen=True)
class Received:
    peer: str
    msg: object          # a swim_msgs record


@dataclass(frozen=True)
class Contact:
    """A new connection to the peer (liveness.py, on connection up): if we hold it suspect or
    dead, it is told at once, so it refutes and is up again (what we told it before may have had
    no connection to go by)."""
    peer: str


@dataclass(frozen=True)
class ConnectionReset:
    peer: str
    reason: str = "connection reset"


@dataclass(frozen=True)
class Timer:
    """A deadline asked for by next_deadline() has passed."""


@dataclass(frozen=True)
class Leave:
    """Clean stop: tell every member we are going, so nobody has to detect it."""


# ---- actions out ----
@dataclass(frozen=True)
class SendTo:
    peer: str
    msg: object


@dataclass(frozen=True)
class Suspected:
    node: str
    by: str


@dataclass(frozen=True)
class Down:
    node: str
    reason: str


@dataclass(frozen=True)
class Up:
    node: str


@dataclass(frozen=True)
class Indirect:
    """A probe of `node` got its ack only through other members: it is alive, but not to us."""
    node: str


@dataclass(frozen=True)
class Paused:
    seconds: float
