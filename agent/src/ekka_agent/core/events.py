"""What the I/O layer tells the core (events) and what the core asks of it (actions).

Connections here are the cluster-port connections between nodes, already authenticated by
the handshake. The RPC port is invisible to the core: a Send on channel "rpc" is carried
there by the I/O layer, and what arrives on it comes back as Received.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


# ---- events (I/O -> core) ----
@dataclass(frozen=True)
class Start:
    """The node begins (fresh or from its saved state)."""


@dataclass(frozen=True)
class Tick:
    """A deadline the core asked for (next_deadline) has passed."""


# A cluster-port connection is named by `link`, an id its transport gives it (unique among
# that node's connections): when a link is replaced after a heal, both ends close the old one
# while the fresh one comes up, and the transport and the core must agree which one closed.
# Counting links instead drifted when a close was read before the core had counted it.
@dataclass(frozen=True)
class ConnectionUp:
    peer: str
    outbound: bool
    link: int


@dataclass(frozen=True)
class ConnectionDown:
    peer: str
    link: int
    reason: str = "closed"


@dataclass(frozen=True)
class ConnectFailed:
    peer: str
    reason: str


@dataclass(frozen=True)
class Received:
    peer: str
    msg: dict


@dataclass(frozen=True)
class Command:
    """A control-socket request; answered by a Reply with the same req_id."""
    req_id: Any
    cmd: str
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Stop:
    """Clean shutdown (SIGTERM): say goodbye to peers, keep membership."""


# ---- actions (core -> I/O) ----
@dataclass(frozen=True)
class Connect:
    peer: str


@dataclass(frozen=True)
class Disconnect:
    peer: str
    reason: str
    links: tuple = ()   # only these cluster-port links (ConnectionUp.link); () closes every connection
    # Reset rather than close: what the kernel still holds for the peer is dropped, not sent.
    # For a link that was cut: data written then would reach the peer seconds after the heal
    # (TCP's retransmission backoff), news long out of date by then.
    abort: bool = False


@dataclass(frozen=True)
class Send:
    peer: str
    msg: dict
    channel: str = "cluster"   # "cluster" (small, latency-bound) or "rpc" (bulk)


@dataclass(frozen=True)
class Reply:
    req_id: Any
    ok: bool
    result: Any = None
    error: str | None = None
    message: str | None = None
    extra: dict | None = None


@dataclass(frozen=True)
class Log:
    level: str      # debug | info | warning | error
    text: str


@dataclass(frozen=True)
class Emit:
    """A membership or partition event for `ekka-ctl cluster events` and hooks."""
    event: dict


@dataclass(frozen=True)
class SaveConflicts:
    """Append these replaced writes to <data_dir>/conflicts.jsonl (runtime/conflicts.py)."""
    records: tuple


@dataclass(frozen=True)
class DiscOp:
    """Ask the discovery strategy (runtime/discovery_extra.py) to discover, lock, unlock,
    register or unregister; it answers with a DiscResult event."""
    op: str
    round: int = 0


# ---- events of runtime helpers (I/O -> core) ----
@dataclass(frozen=True)
class DiscResult:
    op: str
    round: int
    ok: bool
    nodes: tuple = ()
    error: str = ""
    info: dict = field(default_factory=dict)
