"""Membership as the failure detector's DetectorHost (failure_detector.py): what a detector
may read and send, and how its verdicts become membership's up and down marks.

A mixin of Membership (membership.py), which holds the state.
"""
from __future__ import annotations

from .events import Disconnect
from .messages import Heartbeat


class DetectorHostGlue:
    def connected(self) -> list:
        return sorted(self.conns)

    def heartbeat(self, first: bool = False) -> Heartbeat:
        return Heartbeat(self.cluster_id, self.digest(), first=first, swim=self.swim, ranges=True)

    def send(self, peer: str, msg) -> None:
        self.ctx.send(peer, msg)

    def log(self, level: str, text: str) -> None:
        self.ctx.log(level, text)

    def heard_from(self, p: str, now: float) -> None:
        """Any message from p shows it is alive."""
        self.detector.heard_from(p, now)

    def peer_silent(self, p: str, now: float, reason: str) -> None:
        self.refreshing.pop(p, None)
        if self.conns.pop(p, None):
            self.ctx.act(Disconnect(p, reason, abort=True))
        if p in self.up:
            self.mark_down(p, now, reason)
        else:
            self.schedule_redial(p, now)

    def peer_down(self, p: str, now: float, reason: str) -> None:
        """The detector holds p down; its connection stays open (the detector closes it later)."""
        if p in self.up:
            self.mark_down(p, now, reason)

    def peer_suspected(self, p: str, by: str, now: float) -> None:
        """SWIM suspects a member (not yet down): an event for hooks and the suspicions metric."""
        if p != self.me and self.is_member(p):
            self.ctx.emit("node_suspected", p, by=by)

    def peer_alive(self, p: str, now: float) -> None:
        """The detector finds p alive again (it refuted, or answered after a restart)."""
        if not self.is_member(p) or p in self.up:
            return
        if self.conns.get(p):
            self.mark_up(p, now)
        else:
            self.dial_member(p, now)
