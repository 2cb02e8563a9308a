"""The failure detector: which connected members are alive. Swap it here (make_detector).

This one is the full mesh's: every node heartbeats every connected peer each
probe_interval, and a peer not heard from (any message counts) for failure_timeout is
down. A reset connection is seen at once by membership itself, without the detector.
Detection takes failure_timeout plus at most one heartbeat interval: silence is checked on
each heartbeat tick, which keeps it O(1) per event with a thousand peers.

A detector drives its DetectorHost (membership) and nothing else; its own messages go out
through host.send.
"""
from __future__ import annotations

from typing import AbstractSet, Protocol

from .messages import Message


class DetectorHost(Protocol):
    up: AbstractSet[str]

    def connected(self) -> list: ...
    def heartbeat(self) -> Message: ...
    def send(self, peer: str, msg: Message) -> None: ...
    def peer_silent(self, peer: str, now: float, reason: str) -> None: ...
    def log(self, level: str, text: str) -> None: ...


class HeartbeatDetector:
    def __init__(self, host: DetectorHost, settings):
        self.host = host
        self.interval = settings.probe_interval
        self.timeout = settings.failure_timeout
        self.heard: dict[str, float] = {}
        self.next_hb = 0.0
        self.last_tick = None

    def on_start(self, now: float) -> None:
        self.next_hb = now

    def next_deadline(self) -> float:
        return self.next_hb

    def heard_from(self, peer: str, now: float) -> None:
        self.heard[peer] = now

    def on_connection_up(self, peer: str, now: float) -> None:
        self.heard[peer] = now

    def on_tick(self, now: float) -> None:
        h = self.host
        if self.last_tick is not None and now - self.last_tick > self.timeout:
            # We were paused (SIGSTOP, a stalled VM): our silence is not the peers' fault.
            for p in h.up:
                self.heard[p] = now
            h.log("warning", "this node was paused for %.1fs; giving peers a grace period" % (now - self.last_tick))
        self.last_tick = now
        for p in sorted(h.up):
            if now >= self.heard.get(p, now) + self.timeout:
                h.peer_silent(p, now, "no heartbeat for %.1fs" % (now - self.heard[p]))
        if now >= self.next_hb:
            self.next_hb = now + self.interval
            hb = h.heartbeat()
            for p in h.connected():
                h.send(p, hb)


def make_detector(host: DetectorHost, settings) -> HeartbeatDetector:
    return HeartbeatDetector(host, settings)
