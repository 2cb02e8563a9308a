"""The failure detector's wire messages (SWIM with Lifeguard), typed, with their codec.

Each message is a frozen record; `encode` turns it into a plain dict for the framing layer and
`decode` turns a dict back, rejecting anything malformed with a SwimDecodeError that names the
field and what it should be. Membership updates ride on every message (piggybacking), so each
message kind carries `updates`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

ALIVE, SUSPECT, DEAD = "alive", "suspect", "dead"
STATUSES = (ALIVE, SUSPECT, DEAD)
VERSION = 1


class SwimDecodeError(ValueError):
    pass


class Update(NamedTuple):
    """What one node says about a member: its status at an incarnation. For suspect and dead,
    `by` is the node that accused it (a second accuser is a Lifeguard confirmation).
    A tuple, not a dataclass: several ride on every message, and a tuple is the cheapest to
    build from the wire and to write back to it."""
    status: str
    node: str
    incarnation: int
    by: str = ""


@dataclass(frozen=True, slots=True)
class Ping:
    seq: int
    target: str                    # whom the sender meant, so a misdirected ping is not acked
    updates: tuple = ()


@dataclass(frozen=True, slots=True)
class Ack:
    seq: int
    updates: tuple = ()


@dataclass(frozen=True, slots=True)
class PingReq:
    """Ask the receiver to ping `target` for us (the indirect probe)."""
    seq: int
    target: str
    updates: tuple = ()


@dataclass(frozen=True, slots=True)
class Nack:
    """The receiver of a PingReq got no answer from the target: the path to it works, so the
    requester's own health is not to blame (Lifeguard)."""
    seq: int
    updates: tuple = ()


@dataclass(frozen=True, slots=True)
class Gossip:
    updates: tuple = ()


@dataclass(frozen=True, slots=True)
class Sync:
    """Push-pull: the sender's whole table; the receiver answers with its own (reply=True)."""
    table: tuple
    reply: bool = False
    updates: tuple = ()


_new_update = tuple.__new__

MESSAGES = {"swim.ping": Ping, "swim.ack": Ack, "swim.ping_req": PingReq, "swim.nack": Nack,
            "swim.gossip": Gossip, "swim.sync": Sync}
_KIND = {cls: kind for kind, cls in MESSAGES.items()}


def encode(msg) -> dict:
    d = {"t": _KIND[type(msg)], "v": VERSION}
    for f in msg.__slots__:
        v = getattr(msg, f)
        d[f] = list(map(list, v)) if f in ("updates", "table") else v
    return d


def decode(d: dict):
    if not isinstance(d, dict):
        raise SwimDecodeError("a swim message must be an object, got %s" % type(d).__name__)
    t = d.get("t")
    cls = MESSAGES.get(t) if isinstance(t, str) else None
    if cls is None:
        raise SwimDecodeError("unknown message type %r (allowed: %s)" % (d.get("t"), ", ".join(MESSAGES)))
    if d.get("v") != VERSION:
        raise SwimDecodeError("%s: version %r, this node speaks %d" % (d["t"], d.get("v"), VERSION))
    args = {}
    for f in cls.__slots__:
        v = d.get(f)
        if f in ("updates", "table"):
            args[f] = _updates(d["t"], f, [] if v is None and f == "updates" else v)
        elif f in ("seq",):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise SwimDecodeError("%s: seq must be a non-negative integer, got %r" % (d["t"], v))
            args[f] = v
        elif f == "target":
            if not isinstance(v, str) or not v:
                raise SwimDecodeError("%s: target must be a node name, got %r" % (d["t"], v))
            args[f] = v
        elif f == "reply":
            if not isinstance(v, bool):
                raise SwimDecodeError("%s: reply must be true or false, got %r" % (d["t"], v))
            args[f] = v
    return cls(**args)


def _updates(kind: str, field: str, v) -> tuple:
    if not isinstance(v, list):
        raise SwimDecodeError("%s: %s must be a list, got %r" % (kind, field, v))
    # `type(x) is` on purpose: exact types are what the decoder produces, and a bool is not an
    # incarnation. Several updates ride on every message, so this check is on the hot path.
    for u in v:
        if (type(u) is not list or len(u) != 4 or u[0] not in STATUSES
                or type(u[1]) is not str or not u[1]
                or type(u[2]) is not int or u[2] < 0
                or type(u[3]) is not str):
            raise SwimDecodeError("%s: each of %s must be [status (%s), node, incarnation >= 0, by], "
                                  "got %r" % (kind, field, "/".join(STATUSES), u))
    return tuple([_new_update(Update, u) for u in v])     # the length is checked above
