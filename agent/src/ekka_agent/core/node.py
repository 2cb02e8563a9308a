"""NodeCore: one node's whole decision state. Feed it events with the time; it returns actions.

It owns Membership and the kv replica and routes every input to the one component that takes
it: a message by its class, a command by its name, a helper's result by its class (each
component declares them, see core/context.py). It is also the components' Context: what they
may do (send, act, reply, log, emit, persist) goes through it into the list of actions.
"""
from __future__ import annotations

import random

from . import events as ev
from .components import build_components
from .context import BadArgument, Component, InternalRequest, earliest
from .kv import KV
from .membership import Membership
from .messages import Message
from .settings import NodeSettings

STATE_VERSION = 1
# Member records learnt from peers are saved within this many seconds, not before the actions
# of the event that brought them (persist_soon): nothing this node promised hangs on them, and
# what a crash loses of them the peers tell it again. Forming a cluster of N, a node learns
# records in about N/2 bursts, and saved each before acting: two fsyncs per burst.
SAVE_SOON = 1.0


class NodeCore:
    def __init__(self, name: str, settings: NodeSettings, rng: random.Random | None = None,
                 wall_offset: float = 0.0, state: dict | None = None):
        self.name = name
        self.node_settings = settings
        self.settings = settings.membership     # what every component may read (Context.settings)
        self.rng = rng or random.Random()
        self.wall_offset = wall_offset
        self.out: list = []
        self.dirty = False
        self.save_at: float | None = None   # persist_soon's deadline
        self._now = 0.0
        self.membership = Membership(self)
        self.members = self.membership
        self.kv = KV(self)
        self.data = self.kv
        self.components: list[Component] = build_components(self, settings)
        self.parts: list[Component] = [self.membership, self.kv] + self.components
        self._by_name = {c.name: c for c in self.parts}
        self._messages = self._route("handles")
        self._commands = self._route("commands")
        self._events = self._route("events")
        # Asked after every event: only the parts that have deadlines, their methods kept.
        self._deadlines = [c.next_deadline for c in self.parts
                           if type(c).next_deadline is not Component.next_deadline]
        gates = [g for g in (c.data_gate() for c in self.components) if g is not None]
        self.kv.gate = gates[0] if gates else None
        self._state = state

    def _route(self, what: str) -> dict:
        routes: dict = {}
        for c in self.parts:
            for key in getattr(c, what):
                if key in routes:
                    raise RuntimeError("%s and %s both take %r" % (routes[key].name, c.name, key))
                routes[key] = c
        return routes

    @property
    def now(self) -> float:
        return self._now

    # ---------- driving ----------
    def handle(self, event, now: float) -> list:
        """Process one event at time `now` (monotonic seconds) and return the actions it causes."""
        self._now = now
        m = self.membership
        if isinstance(event, ev.Received):
            self._received(event.peer, event.msg, now)
        elif isinstance(event, ev.Tick):
            self._each("on_tick", now)
        elif isinstance(event, ev.ConnectionUp):
            m.on_connection_up(event.peer, now, event.link)
        elif isinstance(event, ev.ConnectionDown):
            m.on_connection_down(event.peer, now, event.reason, event.link)
        elif isinstance(event, ev.ConnectFailed):
            self._each("on_connect_failed", event.peer, now)
        elif isinstance(event, ev.Command):
            self._command(event, now)
        elif isinstance(event, ev.Start):
            self._start(now)
        elif isinstance(event, ev.Stop):
            self._each("on_stop", now)
        else:
            c = self._events.get(type(event))
            if c is None:
                raise TypeError("no component takes the event %r" % (event,))
            c.on_event(event, now)
        if self.save_at is not None and now >= self.save_at:
            self.dirty = True
        out, self.out = self.out, []
        return out

    def next_deadline(self) -> float | None:
        return earliest(self.save_at, *[f() for f in self._deadlines])

    def _start(self, now: float) -> None:
        st = self._state
        if st and st.get("node") == self.name:
            self.membership.restore(st["membership"])
            self.kv.restore(st.get("kv", {}))
            for c in self.components:
                c.restore(st.get(c.name, {}))
            self.log("info", "restored: cluster %s, members %s" % (self.membership.cluster_id[:8],
                                                                    ", ".join(self.membership.members())))
        self._each("on_start", now)

    def _received(self, p: str, msg: Message, now: float) -> None:
        self.membership.heard_from(p, now)
        c = self._messages.get(type(msg))
        if c is None:
            return self.log("debug", "ignored message %r from %s" % (getattr(msg, "KIND", msg), p))
        try:
            c.on_message(p, msg, now)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            # The codec checked the message's shape; a peer with another idea of its meaning
            # (a bug, another version) must still not take this node down.
            self.log("warning", "dropped a bad %r message from %s: %s: %s" % (msg.KIND, p, type(e).__name__, e))

    def _each(self, method: str, *args) -> None:
        for c in self.parts:
            getattr(c, method)(*args)

    # ---------- commands ----------
    def _command(self, c: ev.Command, now: float) -> None:
        a, req = c.args or {}, c.req_id
        for comp in self.components:
            req = comp.wrap_request(req, c.cmd, a, now)
        if c.cmd == "status":
            return self.reply(req, self.status())
        comp = self._commands.get(c.cmd)
        if comp is None:
            return self.reply_error(req, "unknown_command", message="unknown command %r" % c.cmd)
        try:
            comp.on_command(req, c.cmd, a, now)
        except BadArgument as e:
            self.reply_error(req, "bad_argument", message=str(e))

    def status(self) -> dict:
        m = self.membership
        st = {
            "node": self.name,
            "cluster": self.settings.cluster_name,
            "cluster_id": m.cluster_id,
            "leader": m.leader(),
            "running_nodes": m.running(),
            "stopped_nodes": m.stopped(),
            "members": [{"node": n, "status": m.status_of(n), "guid": m.records[n]["guid"]}
                        for n in m.members()],
            "alarms": [],
        }
        for c in self.components:
            c.status(st)
        return st

    # ---------- the Context of every component (core/context.py) ----------
    def wall_us(self, now: float) -> float:
        return (now + self.wall_offset) * 1e6

    def send(self, peer: str, msg: Message) -> None:
        self.out.append(ev.Send(peer, msg, msg.CHANNEL))

    def act(self, action) -> None:
        self.out.append(action)

    def persist(self) -> None:
        """The state changed: the runtime saves it before it carries out this event's actions."""
        self.dirty = True

    def persist_soon(self) -> None:
        """The state changed in a way no action depends on: saved within SAVE_SOON."""
        if self.save_at is None:
            self.save_at = self._now + SAVE_SOON

    def reply(self, req, result) -> None:
        self._answer(req, ev.Reply(req, True, result))

    def reply_error(self, req, error: str, node: str | None = None, message: str | None = None) -> None:
        self._answer(req, ev.Reply(req, False, None, error, message, {"node": node} if node else None))

    def _answer(self, req, r: ev.Reply) -> None:
        if isinstance(req, InternalRequest):
            self._by_name[req.owner].on_reply(req, r, self._now)
        else:
            self.out.append(r)

    def log(self, level: str, text: str) -> None:
        self.out.append(ev.Log(level, text))

    def emit(self, kind: str, node: str, **extra) -> None:
        e = {"event": kind, "node": node, "cluster": self.settings.cluster_name, "by": self.name}
        e.update(extra)
        self.out.append(ev.Emit(e))

    def request_join(self, req, target: str, now: float) -> None:
        self.membership.cmd_join(req, target, now)

    def remove_member(self, node: str, now: float) -> None:
        self.membership.remove_member(node, now, by=self.name)

    def set_status(self, status: str, now: float) -> None:
        self.membership.set_own_status(status, now)

    def drain_changed(self, drained: bool, now: float) -> list:
        """Tell every part this node drains or is revived: the names of those handing over first."""
        return [c.name for c in self.parts if c.on_drain(drained, now)]

    def learn_record(self, record: dict, source: str, now: float) -> None:
        """A member's record carried by another message (core/lock_handover.py: a revive's ask)."""
        self.membership.merge([record], now, source=source)

    def handed_over(self, part: str, now: float) -> None:
        self._by_name["drain"].handed_over(part, now)

    # ---------- what membership tells the rest ----------
    def peer_up(self, peer: str, now: float) -> None:
        for c in self.parts[1:]:
            c.on_peer_up(peer, now)

    def peer_down(self, peer: str, now: float) -> None:
        for c in self.parts[1:]:
            c.on_peer_down(peer, now)

    def join_snapshot(self) -> dict:
        """What a joining node copies from us: the data, replacing its own."""
        return {"kv": self.kv.entries}

    def adopt_data(self, kv: dict, now: float, heal_by: str | None = None) -> None:
        """We took a cluster's data: by a join, or (heal_by, the coordinator) by a heal's rejoin."""
        self.kv.replace(kv)
        for c in self.components:
            c.on_joined(now, heal_by)

    def on_reset(self, now: float) -> None:
        """Left, or was removed: a standalone node starts with empty data, as in EMQX."""
        self.kv.clear()
        for c in self.components:
            c.on_reset(now)

    def snapshot(self) -> dict:
        st = {"version": STATE_VERSION, "node": self.name, "membership": self.membership.snapshot(),
              "kv": self.kv.snapshot()}
        for c in self.components:
            s = c.snapshot()
            if s is not None:
                st[c.name] = s
        self.dirty = False
        self.save_at = None
        return st


__all__ = ["BadArgument", "NodeCore"]
