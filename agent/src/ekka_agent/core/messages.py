"""Every message one agent sends another, as a typed record, and the one codec for all of them.

On the wire a message is a JSON object (core/wire.py frames it): "t" names its kind and the
other keys are its fields under short names. Those names are the previous release's, so both
releases read each other; to_wire/from_wire are the only place that knows them. "v" is the
protocol version of the sender (absent from the previous release: version 1).

from_wire rejects an unknown kind or a missing or ill-typed field with MessageError, whose
text says which kind, which field and what was wrong; keys it does not know are ignored, so a
newer peer may add fields. Records (members, kv entries, views) are checked for their shape
here too, so a component never meets a malformed one.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Optional

# The layout of these records on the wire ("v" in each message). Which peers may talk at all is
# the connection's protocol, agreed in the handshake (core/versions.py), a separate number.
MESSAGE_FORMAT = 1
KINDS: dict = {}          # wire kind -> class


class MessageError(ValueError):
    """A frame that is not a message of this protocol; the text says why."""


# ---------- field checkers: value -> None, or raise ValueError(what is wrong) ----------
def _is(types, what: str) -> Callable:
    def check(v):
        if isinstance(v, bool) and bool not in types or not isinstance(v, types):
            raise ValueError("must be %s, not %s" % (what, type(v).__name__))
    return check


_str, _int, _bool = _is((str,), "a string"), _is((int,), "an integer"), _is((bool,), "true or false")
_num, _dict = _is((int, float), "a number"), _is((dict,), "an object")


def _opt(check: Callable) -> Callable:
    def opt(v):
        if v is not None:
            check(v)
    return opt


def _list_of(check: Callable, what: str) -> Callable:
    def lst(v):
        if not isinstance(v, list):
            raise ValueError("must be a list of %s, not %s" % (what, type(v).__name__))
        for i, x in enumerate(v):
            try:
                check(x)
            except ValueError as e:
                raise ValueError("item %d %s" % (i, e)) from None
    return lst


def _pair(v) -> None:
    """An epoch [counter, id] or a member guid [microseconds, name]."""
    if not (isinstance(v, list) and len(v) == 2 and isinstance(v[0], int) and not isinstance(v[0], bool)
            and isinstance(v[1], str)):
        raise ValueError("must be a pair [integer, string], not %r" % (v,))


def _shape(**keys: Callable) -> Callable:
    def check(v):
        if not isinstance(v, dict):
            raise ValueError("must be an object, not %s" % type(v).__name__)
        for k, c in keys.items():
            if k not in v:
                raise ValueError("has no %r" % k)
            try:
                c(v[k])
            except ValueError as e:
                raise ValueError("%r %s" % (k, e)) from None
    return check


def _map_of(check: Callable) -> Callable:
    def m(v):
        _dict(v)
        for k, x in v.items():
            try:
                check(x)
            except ValueError as e:
                raise ValueError("key %r %s" % (k, e)) from None
    return m


_names = _list_of(_str, "node names")
_epoch = _opt(_pair)
_record = _shape(node=_str, guid=_pair, status=_str, version=_int, removed=_bool)
_records = _list_of(_record, "member records")
_version = _list_of(_is((int, str), "an integer or a node name"), "version parts")
_entry = _shape(v=_opt(_str), ver=_version, **{"del": _bool})
_entries = _map_of(_entry)
_view = _shape(ep=_epoch, split=_names, down=_names)


def wire(key: str, check: Callable, default: Any = dataclasses.MISSING, omit: bool = False, kw_only: bool = False):
    """A message field: its key on the wire, its check, and (omit) whether it is left out at its default."""
    return field(default=default, kw_only=kw_only, metadata={"wire": key, "check": check, "omit": omit})


def message(kind: str):
    """Class decorator: a frozen record registered under its wire kind."""
    def register(cls):
        cls = dataclass(frozen=True)(cls)
        cls.KIND = kind
        cls._fields = tuple((f.name, f.metadata["wire"], f.metadata["check"], f.metadata["omit"],
                             f.default is dataclasses.MISSING, f.default) for f in dataclasses.fields(cls))
        if kind in KINDS:
            raise RuntimeError("two messages of kind %r" % kind)
        KINDS[kind] = cls
        return cls
    return register


class Message:
    KIND: ClassVar[str]
    CHANNEL: ClassVar[str] = "cluster"   # "rpc" for bulk and request/answer traffic


# ---------- membership (core/membership.py) ----------
@message("hb")
class Heartbeat(Message):
    cluster_id: str = wire("cid", _str)
    digest: int = wire("dg", _int)
    first: bool = wire("first", _bool, False, omit=True)   # the first one on a new connection
    # The sender's detector is SWIM: it heartbeats only peers whose heartbeats lack this flag
    # (the previous release, or cluster.failure_detector = mesh).
    swim: bool = wire("sw", _bool, False, omit=True)
    # The sender answers a SyncSummary (the previous release does not: it gets whole tables).
    ranges: bool = wire("rg", _bool, False, omit=True)


@message("swim")
class SwimMessage(Message):
    """A failure-detector message (core/swim_msgs.py checks and decodes the body)."""
    body: dict = wire("m", _dict)


@message("sync")
class Sync(Message):
    cluster_id: str = wire("cid", _str)
    records: list = wire("records", _records)
    # Ranges of the table (records.RANGES) whose records the sender asks back: its records of
    # them are these, after a SyncSummary showed those ranges differ.
    want: tuple = wire("want", _list_of(_int, "range numbers"), default=(), omit=True)


@message("sync_sum")
class SyncSummary(Message):
    """The digest of each range of the sender's table (table_sync.py)."""
    cluster_id: str = wire("cid", _str)
    ranges: list = wire("rg", _list_of(_int, "digests"))


@message("join_req")
class JoinRequest(Message):
    CHANNEL = "rpc"
    guid: list = wire("guid", _pair)


@message("join_ok")
class JoinAccepted(Message):
    CHANNEL = "rpc"
    cluster_id: str = wire("cid", _str)
    records: list = wire("records", _records)
    kv: dict = wire("kv", _entries)


@message("not_member")
class NotMember(Message):
    cluster_id: str = wire("cid", _str)
    version: int = wire("version", _int)


# ---------- the kv replica (core/kv.py) ----------
@message("kv")
class KvWrite(Message):
    CHANNEL = "rpc"
    entries: dict = wire("entries", _entries)
    write_id: Optional[int] = wire("wid", _opt(_int), None, omit=True)   # None: a catch-up, no ack
    epoch: Optional[list] = wire("ep", _epoch, None, omit=True)          # with autoheal: the data epoch


@message("kv_ack")
class KvAck(Message):
    CHANNEL = "rpc"
    write_id: int = wire("wid", _int)


# ---------- autoheal (core/autoheal.py) ----------
@message("heal_hi")
class HealHello(Message):
    CHANNEL = "rpc"
    round: int = wire("r", _int)
    reply: bool = wire("reply", _bool)
    incarnation: str = wire("inc", _str)
    seen: Optional[str] = wire("seen", _opt(_str))       # the peer's incarnation when we last decided
    down: bool = wire("down", _bool)                     # we had the peer down since
    epoch: Optional[list] = wire("ep", _epoch)
    last_shared: Optional[list] = wire("lep", _epoch)    # our epoch when we last shared data with it


@message("heal_ep")
class HealEpoch(Message):
    CHANNEL = "rpc"
    epoch: Optional[list] = wire("ep", _epoch)
    ask: bool = wire("ask", _bool, False, omit=True)


@message("heal_report")
class HealReport(Message):
    split: bool = wire("split", _bool)
    down: list = wire("down", _names)


@message("heal_view_req")
class HealViewRequest(Message):
    gather: int = wire("gid", _int)


@message("heal_view")
class HealView(Message):
    gather: int = wire("gid", _int)
    epoch: Optional[list] = wire("ep", _epoch)
    split: list = wire("split", _names)
    down: list = wire("down", _names)
    # Up members whose reconnection hello is not judged yet (absent from the previous release).
    pending: tuple = wire("pending", _names, default=(), omit=True)


@message("heal_plan")
class HealPlan(Message):
    CHANNEL = "rpc"
    heal: str = wire("hid", _str)
    winners: list = wire("winners", _names)
    losers: list = wire("losers", _names)
    leader: str = wire("leader", _str)
    resync: list = wire("resync", _names)
    counter: int = wire("counter", _int)


@message("heal_adopt")
class HealAdopt(Message):
    CHANNEL = "rpc"
    heal: str = wire("hid", _str)
    epoch: list = wire("ep", _pair)
    plan: list = wire("plan", _names)
    losers: list = wire("losers", _names)
    resync: bool = wire("resync", _bool)


@message("heal_rejoin")
class HealRejoin(Message):
    CHANNEL = "rpc"
    heal: str = wire("hid", _str)
    epoch: list = wire("ep", _pair)
    kv: dict = wire("kv", _entries)
    leader: str = wire("leader", _str)
    plan: list = wire("plan", _names)
    losers: list = wire("losers", _names)


@message("heal_ack")
class HealAck(Message):
    CHANNEL = "rpc"
    heal: str = wire("hid", _str)


@message("heal_round")
class HealRound(Message):
    CHANNEL = "rpc"
    heal: str = wire("hid", _str)
    rejoined: list = wire("rejoined", _names)


@message("heal_alarms")
class HealAlarms(Message):
    CHANNEL = "rpc"
    alarms: list = wire("alarms", _list_of(_shape(name=_str, message=_str), "alarms"))


# ---------- autoclean (core/autoclean.py) ----------
@message("clean_q")
class CleanQuery(Message):
    query: int = wire("qid", _int)
    node: str = wire("node", _str)


@message("clean_a")
class CleanAnswer(Message):
    query: int = wire("qid", _int)
    up: bool = wire("up", _bool)


# ---------- locks (core/lock_*.py) ----------
@message("lock_req")
class LockRequest(Message):
    CHANNEL = "rpc"
    op: str = wire("id", _str)
    phase: str = wire("ph", _str)              # "one" (leader: grant at once) | "reserve"
    resource: str = wire("res", _str)
    owner: str = wire("owner", _str)
    strategy: str = wire("strat", _str)
    lease: float = wire("lease", _num)
    members_view: int = wire("mv", _int)       # hash of the member list the coordinator sees
    token: Optional[int] = wire("tok", _opt(_int), None, omit=True)   # proposed token (reserve)


@message("lock_commit")
class LockCommit(Message):
    CHANNEL = "rpc"
    op: str = wire("id", _str)
    resource: str = wire("res", _str)
    owner: str = wire("owner", _str)
    token: int = wire("token", _int)


@message("lock_renew")
class LockRenew(Message):
    CHANNEL = "rpc"
    op: str = wire("id", _str)
    resource: str = wire("res", _str)
    owner: str = wire("owner", _str)
    lease: float = wire("lease", _num)


@message("lock_rel")
class LockRelease(Message):
    CHANNEL = "rpc"
    op: str = wire("id", _str)
    resource: str = wire("res", _str)
    owner: str = wire("owner", _str)
    only_op: Optional[str] = wire("op", _opt(_str), None, omit=True)   # a rollback: only this op's hold


_o = _opt


@message("lock_rep")
class LockReply(Message):
    CHANNEL = "rpc"
    op: str = wire("id", _str)
    ok: bool = wire("ok", _bool)
    phase: Optional[str] = wire("ph", _o(_str), None, omit=True)
    error: Optional[str] = wire("error", _o(_str), None, omit=True)
    message: Optional[str] = wire("message", _o(_str), None, omit=True)
    counter: Optional[int] = wire("counter", _o(_int), None, omit=True)
    token: Optional[int] = wire("token", _o(_int), None, omit=True)
    fast: Optional[int] = wire("fast", _o(_int), None, omit=True)
    holder: Optional[str] = wire("holder", _o(_str), None, omit=True)
    holder_node: Optional[str] = wire("holder_node", _o(_str), None, omit=True)
    released: Optional[bool] = wire("released", _o(_bool), None, omit=True)


# A draining node's lock table, for the members that take over its leader locks and replicas
# (core/drain.py): {resource: {owner, node, strategy, token, lease, left}} and {resource: counter}.
_held = _shape(owner=_str, node=_str, strategy=_str, token=_int, lease=_num, left=_num)


@message("lock_handover")
class LockHandover(Message):
    CHANNEL = "rpc"
    op: str = wire("id", _str)
    entries: dict = wire("entries", _map_of(_held))
    counters: dict = wire("counters", _map_of(_int))


@message("lock_handover_ask")
class LockHandoverAsk(Message):
    """A revived member asks for every table: answered with a LockHandover once the asker's
    record (its new status) is merged, so the answer holds every grant made without it."""
    CHANNEL = "rpc"
    op: str = wire("id", _str)
    record: dict = wire("record", _record)


@message("lock_handover_ack")
class LockHandoverAck(Message):
    CHANNEL = "rpc"
    op: str = wire("id", _str)


# ---------- discovery (core/autocluster.py) ----------
@message("disc_probe")
class DiscoveryProbe(Message):
    CHANNEL = "rpc"
    round: Optional[int] = wire("r", _opt(_int))


@message("disc_info")
class DiscoveryInfo(Message):
    CHANNEL = "rpc"
    round: Optional[int] = wire("r", _opt(_int))
    cluster_id: str = wire("cid", _str)
    size: int = wire("size", _int)
    oldest: list = wire("oldest", _list_of(_is((int, str), "an integer or a name"), "guid parts"))
    enabled: bool = wire("enabled", _bool)
    members: list = wire("members", _names)
    busy: bool = wire("busy", _bool)


# ---------- the connection handshake (core/handshake.py) ----------
# In these "v" is the sender's protocol (core/versions.py), not the record format: 0.1.0 sent it
# in its hello only, so elsewhere an absent "v" means protocol 1. vmin (the oldest protocol the
# sender speaks) and agent (its release) came with protocol 2; absent, versions.py reads them as 0.1.0's.
@dataclass(frozen=True)
class _Announcing(Message):
    """What a handshake message says of its sender's versions (keyword-only, after the fields)."""
    protocol: int = wire("v", _int, 1, kw_only=True)
    protocol_min: Optional[int] = wire("vmin", _opt(_int), None, omit=True, kw_only=True)
    agent: Optional[str] = wire("agent", _opt(_str), None, omit=True, kw_only=True)


@message("hello")
class Hello(_Announcing):
    node: str = wire("node", _str)
    cluster: str = wire("cluster", _str)
    channel: str = wire("chan", _str)
    nonce: str = wire("nonce", _str)


@message("auth")
class Auth(_Announcing):
    node: str = wire("node", _str)
    cluster: str = wire("cluster", _str)
    nonce: str = wire("nonce", _str)
    mac: str = wire("mac", _str)


@message("ok")
class HandshakeOk(Message):
    mac: str = wire("mac", _str)


@message("refuse")
class Refuse(_Announcing):
    reason: str = wire("reason", _str)
    node: Optional[str] = wire("node", _opt(_str), None, omit=True)
    cluster: Optional[str] = wire("cluster", _opt(_str), None, omit=True)


HANDSHAKE = (Hello, Auth, HandshakeOk, Refuse)


# ---------- link level: a Reproof of an open connection (core/handshake.py, runtime/proofs.py) ----------
# Handled by the transport on the connection it arrives on; never routed to a component.
@message("reprove")
class ReproveAsk(Message):
    nonce: str = wire("n", _str)


@message("reprove_b")
class ReproveAnswer(Message):
    asked: str = wire("na", _str)
    nonce: str = wire("n", _str)
    mac: str = wire("mac", _str)


@message("reprove_a")
class ReproveConfirm(Message):
    answered: str = wire("nb", _str)
    mac: str = wire("mac", _str)


REPROOF = (ReproveAsk, ReproveAnswer, ReproveConfirm)


# ---------- the codec ----------
def to_wire(msg: Message) -> dict:
    """The JSON object that carries msg (the previous release's keys, plus "v")."""
    out = {"t": msg.KIND}
    for name, key, _check, omit, _req, default in msg._fields:
        v = getattr(msg, name)
        if not (omit and v == default):
            out[key] = v
    if "v" not in out:
        out["v"] = MESSAGE_FORMAT
    return out


def from_wire(obj) -> Message:
    """The message in a decoded JSON object, or MessageError naming what is wrong."""
    if not isinstance(obj, dict):
        raise MessageError("a message is a JSON object, not %s" % type(obj).__name__)
    kind = obj.get("t")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise MessageError("unknown message kind %r" % (kind,) if isinstance(kind, str)
                           else "message without a kind (\"t\")")
    v = obj.get("v", 1)
    if cls not in HANDSHAKE and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
        raise MessageError("%s: protocol version %r is not a positive integer" % (kind, v))
    args = {}
    for name, key, check, _omit, required, default in cls._fields:
        if key not in obj:
            if required:
                raise MessageError("%s: field %r (%s) is missing" % (kind, key, name))
            continue
        val = obj[key]
        try:
            check(val)
        except ValueError as e:
            raise MessageError("%s: field %r (%s) %s" % (kind, key, name, e)) from None
        args[name] = val
    return cls(**args)


def kinds() -> list:
    return sorted(KINDS)
