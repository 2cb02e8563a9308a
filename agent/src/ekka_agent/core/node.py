"""NodeCore: one node's whole decision state. Feed it events with the time; it returns actions.

It owns Membership and KV and hands every event to the other components (autocluster,
autoheal, autoclean, locks: see components.py), each a small state machine of the same shape.
"""
from __future__ import annotations

import random

from . import events as ev
from .components import build_components
from .kv import KV
from .membership import Membership
from .messages import Message
from .settings import Settings

STATE_VERSION = 1


class NodeCore:
    def __init__(self, name: str, settings: Settings | None = None, rng: random.Random | None = None,
                 wall_offset: float = 0.0, options: dict | None = None, state: dict | None = None):
        self.name = name
        self.settings = settings or Settings()
        self.rng = rng or random.Random()
        self.wall_offset = wall_offset
        self.options = options or {}
        self.out: list = []
        self.dirty = False
        self.now = 0.0
        self.membership = Membership(self)
        self.kv = KV(self)
        self.components = build_components(self)
        self._state = state

    # ---------- driving ----------
    def handle(self, event, now: float) -> list:
        """Process one event at time `now` (monotonic seconds) and return the actions it causes."""
        self.now = now
        m = self.membership
        if isinstance(event, ev.Start):
            self._start(now)
        elif isinstance(event, ev.Tick):
            self._tick(now)
        elif isinstance(event, ev.ConnectionUp):
            m.on_connection_up(event.peer, now)
        elif isinstance(event, ev.ConnectionDown):
            m.on_connection_down(event.peer, now, event.reason)
        elif isinstance(event, ev.ConnectFailed):
            m.on_connect_failed(event.peer, now, event.reason)
            self._each("on_connect_failed", event.peer, now)
        elif isinstance(event, ev.Received):
            self._received(event.peer, event.msg, now)
        elif isinstance(event, ev.Command):
            self._command(event, now)
        elif isinstance(event, ev.Stop):
            self._each("on_stop", now)
        else:
            # Events of a component's own runtime helper (discovery results, ...).
            for c in self.components:
                if hasattr(c, "on_event") and c.on_event(event, now):
                    break
        out, self.out = self.out, []
        return out

    def next_deadline(self) -> float | None:
        ds = [self.membership.next_deadline(), self.kv.next_deadline()]
        ds += [c.next_deadline() for c in self.components if hasattr(c, "next_deadline")]
        ds = [d for d in ds if d is not None]
        return min(ds) if ds else None

    def _start(self, now: float) -> None:
        st = self._state
        if st and st.get("node") == self.name:
            self.membership.restore(st["membership"])
            self.kv.restore(st.get("kv", {}))
            for c in self.components:
                if hasattr(c, "restore"):
                    c.restore(st.get(c.name, {}))
            self.log("info", "restored: cluster %s, members %s" % (self.membership.cluster_id[:8],
                                                                    ", ".join(self.membership.members())))
        else:
            self.membership.form_alone(now)
        self.membership.next_hb = now
        for p in self.membership.others():
            self.membership.dial(p)
        self._each("on_start", now)

    def _tick(self, now: float) -> None:
        self.membership.on_tick(now)
        self.kv.on_tick(now)
        self._each("on_tick", now)

    def _received(self, p: str, msg: Message, now: float) -> None:
        if not isinstance(msg, Message):
            return self.log("warning", "dropped a malformed message from %s" % p)
        try:
            if self.membership.on_message(p, msg, now) or self.kv.on_message(p, msg, now):
                return
            for c in self.components:
                if hasattr(c, "on_message") and c.on_message(p, msg, now):
                    return
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            # A peer with a bug or another version must not take this node down.
            return self.log("warning", "dropped a bad %r message from %s: %s: %s" % (msg.KIND, p, type(e).__name__, e))
        self.log("debug", "ignored message %r from %s" % (msg.KIND, p))

    def _each(self, method: str, *args) -> None:
        for c in self.components:
            f = getattr(c, method, None)
            if f:
                f(*args)

    # ---------- commands ----------
    def _command(self, c: ev.Command, now: float) -> None:
        a, m, rid = c.args or {}, self.membership, c.req_id
        for comp in self.components:
            # A component may wrap the reply of a built-in command (autocluster: leave).
            if hasattr(comp, "before_command"):
                rid = comp.before_command(rid, c.cmd, a, now)
        try:
            if c.cmd == "status":
                return self.reply(rid, self.status())
            if c.cmd == "join":
                return m.cmd_join(rid, self._node_arg(a), now)
            if c.cmd == "leave":
                return m.cmd_leave(rid, now)
            if c.cmd == "force_leave":
                return m.cmd_force_leave(rid, self._node_arg(a), now)
            if c.cmd == "kv_put":
                return self.kv.cmd_put(rid, a.get("key"), a.get("value"), now)
            if c.cmd == "kv_del":
                return self.kv.cmd_put(rid, a.get("key"), None, now, delete=True)
            if c.cmd == "kv_get":
                return self.kv.cmd_get(rid, a.get("key"))
            if c.cmd == "kv_list":
                return self.reply(rid, self.kv.live())
            for comp in self.components:
                if hasattr(comp, "on_command") and comp.on_command(rid, c.cmd, a, now):
                    return
        except BadArgument as e:
            return self.reply_error(rid, "bad_argument", message=str(e))
        self.reply_error(rid, "unknown_command", message="unknown command %r" % c.cmd)

    @staticmethod
    def _node_arg(a: dict) -> str:
        from ..naming import NodeNameError, parse_node
        try:
            return str(parse_node(a.get("node")))
        except NodeNameError as e:
            raise BadArgument(str(e)) from None

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
            if hasattr(c, "status"):
                c.status(st)
        return st

    # ---------- helpers for components ----------
    def wall_us(self, now: float) -> float:
        return (now + self.wall_offset) * 1e6

    def send(self, peer: str, msg: Message) -> None:
        self.out.append(ev.Send(peer, msg, msg.CHANNEL))

    def reply(self, req_id, result) -> None:
        self._answer(req_id, ev.Reply(req_id, True, result))

    def reply_error(self, req_id, error: str, node: str | None = None, message: str | None = None) -> None:
        self._answer(req_id, ev.Reply(req_id, False, None, error, message, {"node": node} if node else None))

    def _answer(self, req_id, r: ev.Reply) -> None:
        # A component that starts a command itself (autocluster's join) passes a callable as req_id.
        if callable(req_id):
            req_id(r)
        else:
            self.out.append(r)

    def log(self, level: str, text: str) -> None:
        self.out.append(ev.Log(level, text))

    def emit(self, kind: str, node: str, **extra) -> None:
        e = {"event": kind, "node": node, "cluster": self.settings.cluster_name, "by": self.name}
        e.update(extra)
        self.out.append(ev.Emit(e))

    def hook(self, what: str, peer: str, now: float) -> None:
        """Membership tells the data layers about a member going up or down."""
        if what == "peer_up":
            self.kv.on_peer_up(peer)
            self._each("on_peer_up", peer, now)
        else:
            self.kv.on_peer_down(peer)
            self._each("on_peer_down", peer, now)

    def join_snapshot(self) -> dict:
        """What a joining node copies from us: the data, replacing its own."""
        return {"kv": self.kv.entries}

    def on_joined(self, kv: dict, now: float, heal_by: str | None = None) -> None:
        """We took a cluster's data: by a join, or (heal_by, the coordinator) by a heal's rejoin."""
        self.kv.entries = {}
        for k, e in kv.items():
            self.kv.apply(k, e)
        self._each("on_joined", now, heal_by)

    def on_reset(self, now: float) -> None:
        """Left, or was removed: a standalone node starts with empty data, as in EMQX."""
        self.kv.clear()
        self._each("on_reset", now)

    def snapshot(self) -> dict:
        st = {"version": STATE_VERSION, "node": self.name, "membership": self.membership.snapshot(),
              "kv": self.kv.snapshot()}
        for c in self.components:
            if hasattr(c, "snapshot"):
                st[c.name] = c.snapshot()
        self.dirty = False
        return st


class BadArgument(Exception):
    pass
