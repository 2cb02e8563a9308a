"""What a component is, and the narrow part of its node it may use.

A component (autocluster, autoheal, autoclean, locks, ...) is a state machine that gets a
Context: send / act / reply / log / emit / now / rng / persist and a read-only MembershipView.
It never holds the NodeCore, never reaches into another component, and says what it takes:
  handles   the message classes (core/messages.py) the node routes to its on_message
  commands  the control commands routed to its on_command
  events    the runtime event classes (a helper's results) routed to its on_event
Every hook has a no-op default here, so the node calls each one without asking whether it is
there. A component that wants to see the reply to another's command (autocluster: `leave`)
returns an InternalRequest from wrap_request; replies to an InternalRequest come back through
on_reply, never through a callable.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import AbstractSet, Any, ClassVar, Optional, Protocol

from .messages import Message
from .settings import Settings


def earliest(*deadlines) -> Optional[float]:
    """The earliest of some deadlines (None: none). Asked after every event of every node, so a
    plain loop: no list, no generator."""
    d = None
    for t in deadlines:
        if t is not None and (d is None or t < d):
            d = t
    return d


class BadArgument(Exception):
    """A command's argument is wrong: the node answers bad_argument with this text."""


@dataclass(frozen=True)
class InternalRequest:
    """A request a component made (or took over): its reply goes to the component `owner`."""
    owner: str
    cmd: str
    client: Any = None           # the control request it wraps, if any
    data: dict = field(default_factory=dict, compare=False)


class MembershipView(Protocol):
    """Who is in the cluster and who is up, as this node sees it (read only)."""
    me: str
    cluster_id: str
    up: AbstractSet[str]
    down_since: dict
    records: dict
    pending_join: Any

    def members(self) -> list: ...
    def others(self) -> list: ...
    def is_member(self, n: str) -> bool: ...
    def running(self) -> list: ...
    def stopped(self) -> list: ...
    def leader(self) -> str: ...


class DataReplica(Protocol):
    """The replicated kv table, as autoheal needs it (core/kv.py)."""
    entries: dict

    def catch_up(self, peer: str) -> None: ...
    def on_message(self, peer: str, msg: Message, now: float) -> bool: ...


class DataGate(Protocol):
    """Decides with whom the kv replica shares data (autoheal's split detector provides it)."""
    def data_peers(self, up: set) -> set: ...
    def epoch(self) -> Optional[list]: ...
    def accept(self, peer: str, msg: Message) -> bool: ...


class Context(Protocol):
    name: str
    settings: Settings
    rng: random.Random
    wall_offset: float
    members: MembershipView
    data: DataReplica

    @property
    def now(self) -> float: ...
    def wall_us(self, now: float) -> float: ...
    def send(self, peer: str, msg: Message) -> None: ...
    def act(self, action: Any) -> None: ...
    def reply(self, req: Any, result: Any) -> None: ...
    def reply_error(self, req: Any, error: str, node: Optional[str] = None,
                    message: Optional[str] = None) -> None: ...
    def log(self, level: str, text: str) -> None: ...
    def emit(self, kind: str, node: str, **extra: Any) -> None: ...
    def persist(self) -> None: ...
    def persist_soon(self) -> None: ...
    def request_join(self, req: Any, target: str, now: float) -> None: ...
    def remove_member(self, node: str, now: float) -> None: ...
    def adopt_data(self, kv: dict, now: float, heal_by: Optional[str] = None) -> None: ...
    # drain (core/drain.py): this node's record status, telling every part, a part's handover done
    def set_status(self, status: str, now: float) -> None: ...
    def drain_changed(self, drained: bool, now: float) -> list: ...
    def handed_over(self, part: str, now: float) -> None: ...
    def learn_record(self, record: dict, source: str, now: float) -> None: ...


class Component:
    name: ClassVar[str] = ""
    handles: ClassVar[tuple] = ()
    commands: ClassVar[tuple] = ()
    events: ClassVar[tuple] = ()

    # ---- life ----
    def on_start(self, now: float) -> None: ...
    def on_stop(self, now: float) -> None: ...
    def snapshot(self) -> Optional[dict]:
        """What to save with the node's state under `name` (None: nothing)."""
        return None

    def restore(self, state: dict) -> None: ...

    # ---- time ----
    def next_deadline(self) -> Optional[float]:
        return None

    def on_tick(self, now: float) -> None: ...

    # ---- routed input ----
    def on_message(self, peer: str, msg: Message, now: float) -> None: ...
    def on_command(self, req: Any, cmd: str, args: dict, now: float) -> None: ...
    def on_event(self, event: Any, now: float) -> None: ...
    def wrap_request(self, req: Any, cmd: str, args: dict, now: float) -> Any:
        return req

    def on_reply(self, req: InternalRequest, reply: Any, now: float) -> None: ...

    # ---- membership changes ----
    def on_peer_up(self, peer: str, now: float) -> None: ...
    def on_peer_down(self, peer: str, now: float) -> None: ...
    def on_connect_failed(self, peer: str, now: float) -> None: ...
    def on_joined(self, now: float, heal_by: Optional[str]) -> None: ...
    def on_reset(self, now: float) -> None: ...
    def on_drain(self, drained: bool, now: float) -> bool:
        """This node drains (stays a member, hands over what it leads: core/drain.py) or is revived.
        True: it has something to hand over first, and calls ctx.handed_over(name) once done."""
        return False

    # ---- what it offers ----
    def data_gate(self) -> Optional[DataGate]:
        return None

    def status(self, st: dict) -> None: ...
