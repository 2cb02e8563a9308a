"""Who is up, in membership's terms, decided by the SWIM detector (swim.py).

The glue between the detector and the rest of the core: it keeps the detector's member list
equal to membership's, carries its messages (swim.* kinds on the cluster channel), decodes what
arrives, and turns its verdicts into membership's mark_up / mark_down.
"""
from __future__ import annotations

from . import swim_msgs
from .swim import Detector
from .swim_events import (Contact, ConnectionReset, Down, Leave, MemberAdded, MemberRemoved, Paused,
                          Received, SendTo, Suspected, SwimSettings, Timer, Up)


class Liveness:
    def __init__(self, me: str, rng, send, log, on_up, on_down, settings: SwimSettings | None = None):
        self.d = Detector(me, settings or SwimSettings(), rng)
        self.send, self.log, self.on_up, self.on_down = send, log, on_up, on_down
        self.known: frozenset = frozenset()

    def next_deadline(self):
        return self.d.next_deadline()

    def is_up(self, peer: str) -> bool:
        return self.d.is_up(peer)

    # ---------- what the rest of the core tells it ----------
    def members(self, others, now: float, up: bool = False) -> None:
        """Membership's current others. New ones heard of from a running cluster (a join) start
        up; those only remembered (restored from disk) start down until they answer."""
        cur = frozenset(others)
        if cur == self.known:
            return
        gone, new = self.known - cur, cur - self.known
        self.known = cur
        for p in sorted(gone):
            self._run(MemberRemoved(p), now)
        if new:
            self._run(MemberAdded(tuple(sorted(new)), up=up), now)
            if up:
                for p in sorted(new):
                    self.on_up(p, now)

    def add(self, peer: str, now: float, up: bool) -> None:
        """One member more (members() without rebuilding the whole list)."""
        if peer not in self.known:
            self.members(self.known | {peer}, now, up)

    def forget(self, peer: str, now: float) -> None:
        """Membership dropped the peer (removed, or we changed clusters): if it comes back, it
        starts down again and is up once it answers."""
        if peer in self.known:
            self.known = self.known - {peer}
            self._run(MemberRemoved(peer), now)

    def tick(self, now: float) -> None:
        self._run(Timer(), now)

    def contact(self, peer: str, now: float) -> None:
        self._run(Contact(peer), now)

    def reset(self, peer: str, now: float, reason: str) -> None:
        self._run(ConnectionReset(peer, reason), now)

    def leave(self, now: float) -> None:
        self._run(Leave(), now)

    def on_message(self, peer: str, msg: dict, now: float) -> bool:
        if not msg["t"].startswith("swim."):
            return False
        try:
            m = swim_msgs.decode(msg)
        except swim_msgs.SwimDecodeError as e:
            self.log("warning", "dropped a bad failure-detector message from %s: %s" % (peer, e))
            return True
        self._run(Received(peer, m), now)
        return True

    # ---------- what it says back ----------
    def _run(self, event, now: float) -> None:
        for a in self.d.handle(event, now):
            if isinstance(a, SendTo):
                self.send(a.peer, swim_msgs.encode(a.msg))
            elif isinstance(a, Up):
                self.on_up(a.node, now)
            elif isinstance(a, Down):
                self.on_down(a.node, now, a.reason)
            elif isinstance(a, Suspected):
                self.log("info", "member %s is suspected by %s" % (a.node, a.by))
            elif isinstance(a, Paused):
                self.log("warning", "this node was paused for %.1fs; it blames no peer for that" % a.seconds)
