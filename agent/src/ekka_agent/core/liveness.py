"""Who is up, in membership's terms, decided by the SWIM detector (swim.py).

The glue between the detector and the rest of the core: it keeps the detector's member list
equal to membership's, carries its messages (swim.* kinds on the cluster channel), decodes what
arrives, and turns its verdicts into membership's mark_up / mark_down.
"""
from __future__ import annotations

from . import swim_msgs
from .context import earliest
from .messages import Heartbeat, SwimMessage
from .swim import Detector
from .swim_events import (Contact, ConnectionReset, Down, Indirect, Leave, MemberAdded, MemberRemoved, Paused,
                          Received, SendTo, Suspected, SwimSettings, Timer, Up)


INDIRECT = "reachable only through other members"


class Liveness:
    def __init__(self, me: str, rng, send, log, on_up, on_down, settings: SwimSettings | None = None,
                 on_suspect=None):
        self.d = Detector(me, settings or SwimSettings(), rng)
        self.send, self.log, self.on_up, self.on_down = send, log, on_up, on_down
        self.on_suspect = on_suspect or (lambda node, by, now: None)
        self.known: set = set()

    def next_deadline(self):
        return self.d.next_deadline()

    def is_up(self, peer: str) -> bool:
        return self.d.is_up(peer)

    # ---------- what the rest of the core tells it ----------
    def members(self, others, now: float, up: bool = False) -> None:
        """Membership's current others. New ones heard of from a running cluster (a join) start
        up; those only remembered (restored from disk) start down until they answer."""
        cur = set(others)
        self.delta(sorted(cur - self.known), sorted(self.known - cur), now, up)

    def delta(self, new, gone, now: float, up: bool) -> None:
        """Members added and removed (sorted), in time proportional to the change."""
        gone = [p for p in gone if p in self.known]
        new = [p for p in new if p not in self.known]
        self.known.difference_update(gone)
        self.known.update(new)
        for p in gone:
            self._run(MemberRemoved(p), now)
        if new:
            self._run(MemberAdded(tuple(new), up=up), now)
            if up:
                for p in new:
                    self.on_up(p, now)

    def add(self, peer: str, now: float, up: bool) -> None:
        """One member more."""
        self.delta([peer], (), now, up)

    def forget(self, peer: str, now: float) -> None:
        """Membership dropped the peer (removed, or we changed clusters): if it comes back, it
        starts down again and is up once it answers."""
        if peer in self.known:
            self.known.discard(peer)
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
            elif isinstance(a, Indirect):
                self.on_down(a.node, now, INDIRECT)
            elif isinstance(a, Suspected):
                # Logged by the accuser only: every member hears each suspicion, and a log line
                # on each would multiply every incident by the cluster's size. Every node still
                # counts it (node_suspected: hooks, the suspicions metric).
                self.log("info" if a.by == self.d.me else "debug", "member %s is suspected by %s" % (a.node, a.by))
                self.on_suspect(a.node, a.by, now)
            elif isinstance(a, Paused):
                self.log("warning", "this node was paused for %.1fs; it blames no peer for that" % a.seconds)


def swim_settings(s) -> SwimSettings:
    """The detector's timing from the config's two keys. The shortest suspicion is at least 20 %
    of failure_timeout, so the silence a node is allowed keeps its meaning on a loaded host.
    Suspicion at most doubles without confirmations, and Lifeguard stretches the period at most
    4x: in a small cluster cut in two, few members can confirm and the helpers of indirect probes
    are on the other side, so memberlist's 3x and 8x made a side take 5-8 s to see the other
    down (the lock service's availability in the faults simulation fell by a fifth)."""
    t = s.probe_interval
    return SwimSettings(probe_interval=t, probe_timeout=max(0.1, min(0.2, 0.4 * t)),
                        suspicion_floor=0.2 * s.failure_timeout, suspicion_max_mult=2.0, max_awareness=4)


class SwimDetector:
    """make_detector's "swim": the SWIM detector as membership's failure detector.

    Up, in membership's terms, is: a cluster-port connection is open and SWIM holds the member
    alive (or merely suspect). A member SWIM declares dead, or reaches only through others (a
    partial partition: the split detector must see it), is disconnected and marked down like a
    silent one under the mesh; it is redialled, and when it answers it is up again. Nothing here
    goes to every peer periodically: the probes (one member per period), gossip while there is
    news, and the members table's digest to one random peer every few seconds (anti-entropy).
    Peers whose heartbeats carry no SWIM flag speak only heartbeats (the previous release, or a
    node set to mesh): they are heartbeated and watched by a HeartbeatDetector of their own.
    """

    DIGEST_EVERY = 2.0
    # A member SWIM declares dead keeps its connection until it is back (or removed): a paused
    # node that resumes refutes over it and is up again at once. Fresh dials are tried beside
    # it meanwhile, and one is made at once when the member is back, which replaces it: the old
    # one may be stalled behind what was written while the network was cut (refresh_link).
    # Closing it after a while instead (5 s, earlier) closed one end across the cut, unheard:
    # the other end, which had not declared the member dead as early, held the member up on it
    # after the heal, and its first send was reset: a member down again after the heal.

    def __init__(self, host, settings, rng):
        from .failure_detector import HeartbeatDetector
        self.host = host
        self.rng = rng
        self.lv = Liveness(host.me, rng, self._send, host.log, self._alive, self._dead, swim_settings(settings),
                           on_suspect=host.peer_suspected)
        self.legacy = HeartbeatDetector(host, settings, only=set())
        self.next_digest = None
        self.verdicts: dict[str, float] = {}   # member held dead -> when it was declared dead

    # ---------- what membership asks ----------
    def on_start(self, now: float) -> None:
        self.legacy.on_start(now)
        self.next_digest = now + self.DIGEST_EVERY * self.rng.random()
        self.lv.tick(now)

    def next_deadline(self):
        return earliest(self.lv.next_deadline(), self.next_digest,
                        self.legacy.next_deadline() if self.legacy.only else None)

    def alive(self, peer: str) -> bool:
        return peer in self.legacy.only or self.lv.is_up(peer)

    def heard_from(self, peer: str, now: float) -> None:
        if peer in self.legacy.only:
            self.legacy.heard_from(peer, now)

    def on_connection_up(self, peer: str, now: float) -> None:
        self.legacy.on_connection_up(peer, now)
        self.lv.contact(peer, now)      # a member we hold dead hears it at once, and refutes

    def on_heartbeat(self, peer: str, msg: Heartbeat, now: float) -> None:
        if msg.swim:
            self._speaks_swim(peer, now)
        elif peer not in self.legacy.only:
            self.legacy.only.add(peer)
            self.legacy.heard_from(peer, now)
            self.lv.forget(peer, now)
            self.host.log("info", "%s speaks only heartbeats (an older agent, or cluster.failure_detector = mesh): "
                          "this node heartbeats it" % peer)
            if self.host.is_member(peer) and peer not in self.host.up and peer in self.host.connected():
                self.host.peer_alive(peer, now)

    def on_message(self, peer: str, msg, now: float) -> None:
        self._speaks_swim(peer, now)
        self.lv.on_message(peer, msg.body, now)

    def _speaks_swim(self, peer: str, now: float) -> None:
        """A peer we heartbeated was upgraded (or switched to swim): probe it like the rest."""
        if peer in self.legacy.only:
            self.legacy.only.discard(peer)
            if peer != self.host.me and self.host.is_member(peer):
                self.lv.add(peer, now, up=True)

    def members_changed(self, others, now: float, up: bool) -> None:
        """Membership's other members now (up: learnt from a running cluster, not from disk)."""
        others = set(others)
        self.legacy.only &= others
        for p in [p for p in self.verdicts if p not in others]:
            del self.verdicts[p]
        self.lv.members(others - self.legacy.only, now, up)

    def members_delta(self, joined, gone, now: float) -> None:
        """Members that joined a running cluster and members removed, sorted: a merge's change."""
        legacy = self.legacy.only
        legacy.difference_update(gone)
        for p in gone:
            self.verdicts.pop(p, None)
        self.lv.delta([p for p in joined if p not in legacy] if legacy else joined, gone, now, up=True)

    def on_tick(self, now: float) -> None:
        self.lv.tick(now)
        if self.legacy.only:
            self.legacy.on_tick(now)
        if self.next_digest is not None and now >= self.next_digest:
            self.next_digest = now + self.DIGEST_EVERY
            up, legacy = self.host.up, self.legacy.only
            for p in self.lv.d.pick(1, lambda n: n in up and n not in legacy):
                self.host.send(p, self.host.heartbeat())

    # ---------- what the detector says ----------
    def _send(self, peer: str, body: dict) -> None:
        if peer in self.host.conns:
            self.host.send(peer, SwimMessage(body))

    def _alive(self, peer: str, now: float) -> None:
        verdict = self.verdicts.pop(peer, None)
        self.host.peer_alive(peer, now)
        if verdict is not None:
            # Only a connection from before the verdict can hold what the cut stalled: one the
            # redials made since is kept (replacing it too, both ends could reset the new one).
            self.host.refresh_link(peer, now, at_once=True, since=verdict)

    def _dead(self, peer: str, now: float, reason: str) -> None:
        if reason == INDIRECT:
            # Our own link to it is what fails: close it now, the redial finds when it works.
            self.host.peer_silent(peer, now, reason)
        else:
            self.verdicts[peer] = now
            self.host.peer_down(peer, now, reason)
            self.host.refresh_link(peer, now, at_once=False)
