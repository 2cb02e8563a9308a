"""The failure detector: which connected members are alive. Swap it here (make_detector).

`cluster.failure_detector` chooses:
- swim (the default, core/liveness.py): each node probes one member per probe_interval and news
  spreads by gossip, so what a node sends does not grow with the cluster;
- mesh (this file's HeartbeatDetector): every node heartbeats every connected peer each
  probe_interval, and a peer not heard from (any message counts) for failure_timeout is down.
  Detection takes failure_timeout plus at most one heartbeat interval: silence is checked on each
  heartbeat tick, which keeps it O(1) per event with a thousand peers.
A reset connection is seen at once by membership itself, without the detector.

A detector drives its DetectorHost (membership) and nothing else; its own messages go out
through host.send.
"""
from __future__ import annotations

from typing import AbstractSet, Optional, Protocol

from .messages import Heartbeat, Message


class DetectorHost(Protocol):
    me: str
    up: AbstractSet[str]

    def connected(self) -> list: ...
    def is_member(self, n: str) -> bool: ...
    def heartbeat(self) -> Message: ...
    def send(self, peer: str, msg: Message) -> None: ...
    def peer_silent(self, peer: str, now: float, reason: str) -> None: ...
    def peer_alive(self, peer: str, now: float) -> None: ...
    def refresh_link(self, peer: str, now: float, at_once: bool = True, since: float | None = None) -> None: ...
    def peer_suspected(self, peer: str, by: str, now: float) -> None: ...
    def log(self, level: str, text: str) -> None: ...


class HeartbeatDetector:
    """The full mesh. With `only`, it watches just those peers: the SWIM detector keeps one for
    peers that speak only heartbeats (a rolling upgrade from the previous release)."""

    def __init__(self, host: DetectorHost, settings, only: Optional[set] = None):
        self.host = host
        self.interval = settings.probe_interval
        self.timeout = settings.failure_timeout
        self.only = only
        self.heard: dict[str, float] = {}
        self.next_hb = 0.0
        self.last_tick = None

    def on_start(self, now: float) -> None:
        self.next_hb = now

    def next_deadline(self) -> float:
        return self.next_hb

    def alive(self, peer: str) -> bool:
        return True         # while its connection is open and it is not silent

    def heard_from(self, peer: str, now: float) -> None:
        self.heard[peer] = now

    def on_connection_up(self, peer: str, now: float) -> None:
        self.heard[peer] = now

    def on_heartbeat(self, peer: str, msg: Heartbeat, now: float) -> None:
        pass

    def on_message(self, peer: str, msg, now: float) -> None:
        pass                # a SWIM peer's probe: its heartbeats toward us keep it alive here

    def members_changed(self, others, now: float, up: bool) -> None:
        pass

    def members_delta(self, joined, gone, now: float) -> None:
        pass

    def on_tick(self, now: float) -> None:
        h = self.host
        watched = h.up if self.only is None else h.up & self.only
        if self.last_tick is not None and now - self.last_tick > self.timeout:
            # We were paused (SIGSTOP, a stalled VM): our silence is not the peers' fault.
            for p in watched:
                self.heard[p] = now
            h.log("warning", "this node was paused for %.1fs; giving peers a grace period" % (now - self.last_tick))
        self.last_tick = now
        for p in sorted(watched):
            if now >= self.heard.get(p, now) + self.timeout:
                h.peer_silent(p, now, "no heartbeat for %.1fs" % (now - self.heard[p]))
        if now >= self.next_hb:
            self.next_hb = now + self.interval
            peers = h.connected() if self.only is None else [p for p in h.connected() if p in self.only]
            if peers:
                hb = h.heartbeat()
                for p in peers:
                    h.send(p, hb)


def make_detector(host: DetectorHost, settings, rng):
    if settings.failure_detector == "mesh":
        return HeartbeatDetector(host, settings)
    from .liveness import SwimDetector     # imported only when chosen
    return SwimDetector(host, settings, rng)
