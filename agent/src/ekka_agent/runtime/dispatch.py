"""The one action dispatcher: how each action the core returns is carried out.

The runtime Agent (runtime/agent.py) and the simulator (sim/cluster.py) both drive the core
through step() (the agent through step_many(), a burst of events at a time): it hands the events
to the core, saves the state first when the core asked for it (persist), then carries out every
action in order. An action no one carries out is a bug
and raises, in the simulation as in the agent.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

from ..core import events as ev


class Carrier(Protocol):
    """Where actions go: the real sockets and files, or the simulated ones."""
    def send(self, peer: str, msg: Any, channel: str) -> None: ...
    def connect(self, peer: str) -> None: ...
    def disconnect(self, peer: str, reason: str, links: tuple = (), abort: bool = False) -> None: ...
    def reply(self, r: ev.Reply) -> None: ...
    def log(self, level: str, text: str) -> None: ...
    def emit(self, event: dict) -> None: ...
    def persist(self, snapshot: Callable[[], dict]) -> None:
        """Save snapshot() (the simulator, which keeps the state at a crash, need not call it)."""
    def helper(self, action: Any) -> bool:
        """A runtime helper's action (SaveConflicts, DiscOp, EtcdLockCall): True when carried out."""


def dispatch(c: Carrier, a) -> None:
    t = type(a)
    if t is ev.Send:
        c.send(a.peer, a.msg, a.channel)
    elif t is ev.Connect:
        c.connect(a.peer)
    elif t is ev.Disconnect:
        c.disconnect(a.peer, a.reason, a.links, a.abort)
    elif t is ev.Reply:
        c.reply(a)
    elif t is ev.Log:
        c.log(a.level, a.text)
    elif t is ev.Emit:
        c.emit(a.event)
    elif not c.helper(a):
        raise TypeError("no one carries out the action %r" % (a,))


def step(core, event, now: float, c: Carrier) -> None:
    """One event through the core, then its actions: the state is saved before any is carried out."""
    step_many(core, (event,), now, c)


def step_many(core, events, now: float, c: Carrier) -> None:
    """Several events through the core, then all their actions in order, the state saved once
    before the first. Nothing the core does waits on an action, so acting after the last event
    is as if they had come a moment apart; one save (two fsyncs) then covers a burst that would
    otherwise cost one each.

    A timer that fell due in the same turn of the loop goes after what arrived: woken late
    (starved of CPU, a long save), the node reads the acks and refutations already waiting
    before it judges the probes and suspicions they answer."""
    acts: list = []
    ticks = [e for e in events if type(e) is ev.Tick]
    if ticks and len(ticks) < len(events):
        events = [e for e in events if type(e) is not ev.Tick] + ticks[:1]
    for e in events:
        acts.extend(core.handle(e, now))
    if core.dirty:
        core.dirty = False
        c.persist(core.snapshot)
    for a in acts:
        dispatch(c, a)
