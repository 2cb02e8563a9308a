"""The failure detector: SWIM probing with Lifeguard, sans-IO (events and `now` in, actions out).

Each protocol period a node probes ONE member, taken from a shuffled round-robin list: a direct
ping; without an ack within the probe timeout, ping-req through k other members; still nothing
by the end of the period, the member is suspected. A suspect refutes by raising its incarnation;
otherwise it is declared dead when its suspicion times out (lifeguard.py). News of who is alive,
suspect or dead rides on the probes themselves and, while there is news, on a short gossip round
(piggyback.py). So what one node sends per period does not grow with the cluster.

Kept from the full mesh: a reset connection is a crash, declared dead at once; a member that
talks to us while we hold it dead is told so, refutes, and is up again at once; members we hold
dead are pinged now and then, so a healed partition or a restarted node is found again.

A refutation is news for every node, so after a heal or a restart it is asked only of the members
that the cluster holds dead. A node that finds itself declared dead (it was the one cut off or
paused) doubts what it declared dead meanwhile, and a restarted node has declared nothing about
the members it restored: those come up again when they talk to it, or from one member's table,
without refuting (_cut_off, _heard).

The member list itself belongs to membership: this module decides only who is up.
"""
from __future__ import annotations

import math
import random
from typing import NamedTuple

from .lifeguard import Awareness, Suspicion, suspicion_bounds
from .piggyback import Broadcasts
from .swim_events import (ConnectionReset, Contact, Down, Indirect, Leave, MemberAdded, MemberRemoved, Paused,
                          Received, SendTo, Suspected, SwimSettings, Up)
from .swim_msgs import ALIVE, DEAD, SUSPECT, Ack, Gossip, Nack, Ping, PingReq, Sync, Update


class Member(NamedTuple):
    """Immutable, so the common state (alive at incarnation 0) is one object shared by every
    entry of every table: a 10,000-node simulation holds 10^8 of them."""
    status: str
    inc: int
    since: float = 0.0      # when it was declared dead (who still hears gossip)


ALIVE_0 = Member(ALIVE, 0)
# `since` of a member restored from disk and not heard from yet: down for us, but no verdict of
# ours or anyone's, so there is nothing for it to refute (see _heard).
UNHEARD = -1e18
RESTORE_PINGS = 32     # members pinged at once when restored from disk (the rest come by table)
BACK_PINGS = 3         # members held dead pinged at once when one of them comes back (_back)
_SHARED: dict = {}


def member(status: str, inc: int) -> Member:
    """The one Member for an alive or suspect state at an incarnation: after a partition heals
    every node refutes, and every table of every node would otherwise hold its own copy."""
    m = _SHARED.get((status, inc))
    if m is None:
        m = Member(status, inc)
        if len(_SHARED) < 4096:     # incarnations come off the wire: the cache stays bounded
            _SHARED[(status, inc)] = m
    return m


class Probe:
    __slots__ = ("target", "seq", "direct_until", "indirect", "expected_nacks", "nacks", "acked", "direct")

    def __init__(self, target: str, seq: int, direct_until: float):
        self.target, self.seq, self.direct_until = target, seq, direct_until
        self.indirect, self.expected_nacks, self.nacks, self.acked = False, 0, 0, False
        self.direct = False     # the target itself answered (not only a relay)


class Detector:
    # Slots, not a dict per detector: a simulation holds ten thousand of them, and each event
    # reads a dozen of these attributes of a detector no cache holds any more.
    __slots__ = ("me", "s", "rng", "inc", "members", "order", "pos", "seq", "probe", "relays", "suspicions",
                 "sus_min", "bc", "aw", "told", "refuted_to", "next_probe", "next_gossip", "next_dead_probe", "burst_at",
                 "next_sync", "sync_from", "ask_table_at", "asked", "doubt", "dead", "back_at", "indirect_only",
                 "dead_cursor", "deadline", "expected_by", "_stale_for", "leaving", "out")

    def __init__(self, me: str, settings: SwimSettings | None = None, rng: random.Random | None = None):
        self.me = me
        self.s = settings or SwimSettings()
        self.rng = rng or random.Random()
        self.inc = 0
        self.members: dict[str, Member] = {}
        self.order: list[str] = []
        self.pos = 0
        self.seq = 0
        self.probe: Probe | None = None
        self.relays: dict[int, list] = {}     # our seq -> [requester, their seq, nack at, forget at]
        self.suspicions: dict[str, Suspicion] = {}
        self.sus_min = None                   # no suspicion ends before this (_compute_deadline)
        self.bc = Broadcasts(self.s.retransmit_mult)
        self.aw = Awareness(self.s.max_awareness)
        self.told: dict[str, float] = {}      # last time a member we hold dead/suspect was told
        self.refuted_to: dict[str, float] = {}  # last time we refuted straight to a member
        self.next_probe = None
        self.next_gossip = None
        self.next_dead_probe = None
        self.burst_at = None                  # no burst of dead-probes before this (_back)
        self.next_sync = None
        self.sync_from = 0.0                  # when the wait for next_sync began
        self.ask_table_at = 0.0               # when we may ask a member for its table again
        self.asked: dict[str, float] = {}     # members asked for their table, not answered yet
        self.doubt = (-math.inf, -math.inf)   # our verdicts before [0] are doubted until [1]
        self.dead: set[str] = set()           # members held dead (few, usually none)
        self.back_at: dict[str, float] = {}   # member -> when it came back from dead (see _received)
        self.indirect_only: dict[str, int] = {}  # member -> probes in a row it answered only through others
        self.dead_cursor = 0
        self.deadline = None                  # cached next_deadline(), recomputed per event
        self.expected_by = None
        self._stale_for = (-1, 0.0)               # (n, _stale_window for that n): per message
        self.leaving = False
        self.out: list = []

    # ---------- reading ----------
    def is_up(self, node: str) -> bool:
        m = self.members.get(node)
        return m is not None and m.status != DEAD

    def status(self, node: str) -> str | None:
        m = self.members.get(node)
        return m.status if m else None

    def n(self) -> int:
        return len(self.members) + 1

    def next_deadline(self) -> float | None:
        return self.deadline

    def _compute_deadline(self, now: float) -> float | None:
        # After every event: a plain loop, no lists (relays are usually none).
        d = self.next_probe
        for t in (self.next_gossip, self.next_dead_probe, self.next_sync):
            if t is not None and (d is None or t < d):
                d = t
        p = self.probe
        if p and not p.indirect and not p.acked and (d is None or p.direct_until < d):
            d = p.direct_until
        for r in self.relays.values():
            for t in (r[2], r[3]):
                if t is not None and (d is None or t < d):
                    d = t
        if self.suspicions:
            # A heal leaves a few dozen suspicions in every table; their earliest deadline is
            # kept (lowered when one is added or confirmed, never raised): one that ended or
            # was postponed leaves it early, which costs a wake-up with nothing due, then this.
            if self.sus_min is None or self.sus_min <= now:
                self.sus_min = min(sus.deadline for sus in self.suspicions.values())
            if d is None or self.sus_min < d:
                d = self.sus_min
        else:
            self.sus_min = None
        return d

    def _suspicion_at(self, t: float) -> None:
        if self.sus_min is None or t < self.sus_min:
            self.sus_min = t

    # ---------- driving ----------
    def handle(self, event, now: float) -> list:
        if isinstance(event, Received):
            # What has arrived is read before the timers that fell due while this node did not
            # run (starved of CPU, a long save): an ack or a refutation waiting in the socket is
            # not a failed probe or an unrefuted suspicion. On time, no timer is due here.
            self._woken(now)
            self._received(event.peer, event.msg, now)
        self._advance(now)
        if isinstance(event, Contact):
            # A new connection: what we told it before may never have left (a message to a
            # member with no connection yet is dropped), so it is told again now, not after the
            # once-per-period limit. A member that joined while another was suspected held the
            # suspicion, its tell went nowhere, and the refutation came after its timer.
            self.told.pop(event.peer, None)
            self.refuted_to.pop(event.peer, None)
            # Probes answered only through others before it are not "in a row" with it: their
            # direct pings had no link to go by (after an asymmetric cut heals, counting them
            # closed the fresh link again at both ends).
            self.indirect_only.pop(event.peer, None)
            self._contact(event.peer, now)
        elif isinstance(event, ConnectionReset):
            m = self.members.get(event.peer)
            if m and m.status != DEAD:
                self._dead(event.peer, m.inc, self.me, now, event.reason)
        elif isinstance(event, MemberAdded):
            self._add(event.nodes, event.up, now)
        elif isinstance(event, MemberRemoved):
            self._remove(event.node)
        elif isinstance(event, Leave):
            self.leaving = True
            bye = (Update(DEAD, self.me, self.inc, self.me),)
            for p, m in sorted(self.members.items()):
                if m.status != DEAD:
                    self.out.append(SendTo(p, Gossip(bye)))
        self.deadline = self.expected_by = self._compute_deadline(now)
        out, self.out = self.out, []
        return out

    def _woken(self, now: float) -> bool:
        """True if our clock jumped past the pause grace since the deadline we asked for."""
        if self.expected_by is not None and now - self.expected_by > self.s.pause_grace:
            self._was_paused(now - self.expected_by)
            self.expected_by = None
            return True
        return False

    def _advance(self, now: float) -> None:
        if not self._woken(now) and self.deadline is not None and now < self.deadline:
            return      # no timer due: most events are messages between two deadlines
        if self.next_probe is None:
            self.next_probe = now
            self.sync_from = now
            self.next_sync = now + self._sync_every()
        p = self.probe
        if p and not p.acked and not p.indirect and now >= p.direct_until:
            self._indirect(p, now)
        for seq, r in list(self.relays.items()):
            if r[2] is not None and now >= r[2]:
                r[2] = None
                self._send(r[0], Nack, now, seq=r[1])
            if now >= r[3]:
                del self.relays[seq]
        for node, sus in list(self.suspicions.items()):
            if now >= sus.deadline:
                m = self.members[node]
                self._dead(node, m.inc, self.me, now, "suspected by %d member(s), not refuted in %.1fs"
                           % (len(sus.accusers), now - sus.start))
        if now >= self.next_probe:
            self._end_probe(now)
            self._start_probe(now)
        if self.next_gossip is not None and now >= self.next_gossip:
            self._gossip(now)
        if self.next_dead_probe is not None and now >= self.next_dead_probe:
            self._probe_dead(now)
        if now >= self.next_sync:
            self._sync(now)

    def _was_paused(self, gap: float) -> None:
        """Our clock jumped (SIGSTOP, a stalled VM): nobody failed a probe in that time."""
        for sus in self.suspicions.values():
            sus.postpone(gap)
        self.probe = None
        self.relays.clear()
        self.next_probe = None
        self.out.append(Paused(gap))

    # ---------- members ----------
    def _add(self, nodes, up: bool, now: float) -> None:
        state = ALIVE_0 if up else Member(DEAD, 0, UNHEARD)
        if not self.members:    # the whole list at start: no check per name (10^8 at 10,000 nodes)
            self.members = dict.fromkeys(nodes, state)
            self.members.pop(self.me, None)
            new = list(self.members)
        else:
            new = [n for n in dict.fromkeys(nodes) if n != self.me and n not in self.members]
            self.members.update(dict.fromkeys(new, state))
        self.order += new       # drawn in a random place of this round (_next_target)
        if new and not up:
            self.dead.update(new)
            # Restored, not heard from yet: a ping now to each of a few; one answer brings that
            # member up and its table the others (_heard). A ping to each of ten thousand would
            # bring ten thousand answers, and as many "you were dead" and our replies to them.
            for node in new if len(new) <= RESTORE_PINGS else self.rng.sample(new, RESTORE_PINGS):
                self._ping(node, now)
            self._arm_dead_probe(now)
        if new and self.next_sync is not None:
            # The wait is the one for the size we have now: scheduled while we were alone, the
            # first push-pull of every node of a large cluster would come 30 s after its start.
            self.next_sync = self.sync_from + self._sync_every()

    def _remove(self, node: str) -> None:
        self.back_at.pop(node, None)
        if self.members.pop(node, None) is None:
            return
        i = self.order.index(node)
        del self.order[i]
        if i < self.pos:
            self.pos -= 1
        self.suspicions.pop(node, None)
        self.dead.discard(node)
        self.indirect_only.pop(node, None)
        self.bc.drop(node)
        self.told.pop(node, None)
        self.refuted_to.pop(node, None)
        self.asked.pop(node, None)
        if self.probe and self.probe.target == node:
            self.probe = None

    # ---------- probing ----------
    def _period(self) -> float:
        return self.aw.scale(self.s.probe_interval)

    def _stale_window(self) -> float:
        """How long a member back from dead may still repeat old news: its retransmissions
        (retransmit_mult * log10 n gossip rounds) and a longest suspicion."""
        if self._stale_for[0] != self.n():
            self._stale_for = (self.n(), self._stale_window_of())
        return self._stale_for[1]

    def _stale_window_of(self) -> float:
        _, hi = suspicion_bounds(self.n(), self.s.probe_interval, self.s.suspicion_min_mult,
                                 self.s.suspicion_max_mult)
        return hi + self.s.retransmit_mult * max(1.0, math.log10(self.n() + 1)) * self.s.gossip_interval

    def _start_probe(self, now: float) -> None:
        self.next_probe = now + self._period()
        target = self._next_target()
        if target is None:
            return
        self.seq += 1
        self.probe = Probe(target, self.seq, now + self.aw.scale(self.s.probe_timeout))
        first = self._charge(target, now)   # the buddy rule: a suspect hears it on the probe
        self._send(target, Ping, now, first=first, seq=self.seq, target=target)

    def _next_target(self) -> str | None:
        """Each member once per round, in a random order: a shuffle done as the round goes (each
        next one drawn from those not probed yet in it), so members added mid-round are probed
        in it, and ten thousand members cost no shuffle of ten thousand at the start."""
        order = self.order
        for _ in range(len(order) + 1):
            if self.pos >= len(order):
                self.pos = 0
                if not order:
                    return None
            i, j = self.pos, self.rng.randrange(self.pos, len(order))
            order[i], order[j] = order[j], order[i]
            node = order[i]
            self.pos += 1
            if self.members[node].status != DEAD:
                return node
        return None

    def _indirect(self, p: Probe, now: float) -> None:
        p.indirect = True
        helpers = self.pick(self.s.indirect_checks,
                             lambda n: n != p.target and self.members[n].status == ALIVE)
        for h in helpers:
            p.expected_nacks += 1
            self._send(h, PingReq, now, seq=p.seq, target=p.target)

    def _end_probe(self, now: float) -> None:
        p, self.probe = self.probe, None
        if p is None or p.target not in self.members:
            return
        if p.acked:
            if p.indirect and not p.direct:
                # Alive, but our own link to it fails while others' work: a partial partition,
                # which the split detector must see (the member stays alive for everyone else).
                # Twice running, so one slow direct ack on a loaded host is not taken for a cut.
                k = self.indirect_only[p.target] = self.indirect_only.get(p.target, 0) + 1
                if k >= 2:
                    self.out.append(Indirect(p.target))
            else:
                self.indirect_only.pop(p.target, None)
            return
        self.indirect_only.pop(p.target, None)     # "in a row" of answered probes
        # Lifeguard: missing nacks mean our own links or CPU are the problem, not the target.
        self.aw.apply(p.expected_nacks - p.nacks if p.expected_nacks else 1)
        m = self.members[p.target]
        if m.status != DEAD:
            self._suspect(p.target, m.inc, self.me, now)

    def _ping(self, node: str, now: float) -> None:
        self.seq += 1
        self._send(node, Ping, now, first=self._charge(node, now), seq=self.seq, target=node)

    def _arm_dead_probe(self, now: float) -> None:
        if self.next_dead_probe is None:
            self.next_dead_probe = now + self.s.dead_probe_interval

    def _probe_dead(self, now: float, count: int = 1) -> None:
        dead = sorted(self.dead)
        if not dead:
            self.next_dead_probe = None
            return
        for _ in range(min(count, len(dead))):
            self.dead_cursor = (self.dead_cursor + 1) % len(dead)
            self._ping(dead[self.dead_cursor], now)
        self.next_dead_probe = now + self.s.dead_probe_interval

    def _back(self, node: str, now: float) -> None:
        """A member held dead is up again: a partition may just have healed, so a few more of
        those held dead are pinged now instead of one a second. The others then return within
        a round trip of each other, and autoheal sees the whole cluster in one gathering rather
        than one heal per returning group. At most one burst per dead_probe_interval."""
        self.back_at[node] = now
        self.indirect_only.pop(node, None)      # counted before the cut: not in a row with now
        if self.dead and (self.burst_at is None or now >= self.burst_at):
            self.burst_at = now + self.s.dead_probe_interval
            self._probe_dead(now, BACK_PINGS)

    # ---------- messages ----------
    def _received(self, peer: str, msg, now: float) -> None:
        # A member we hold dead has been away (paused, cut off): what it says about others is
        # stale, often written during a partition and delivered by TCP after it healed, so its
        # accusations are not taken until it has refuted and is back.
        # Once it has refuted, it still repeats for a while the deaths it declared while cut
        # off (its gossip retransmits them): those count as accusations, which a live member
        # refutes, never as deaths. Taken as deaths, they would mark down a member we were
        # talking to all along, and autoheal would see a partition where there was none.
        witness = peer not in self.dead and not (isinstance(msg, Sync) and msg.reply
                                                 and self.asked.pop(peer, None) is not None)
        recent = now - self.back_at.get(peer, -1e18) < self._stale_window()
        for u in msg.table if isinstance(msg, Sync) else ():
            if witness or u.status == ALIVE or u.node == self.me:
                self._apply(u, now, peer, accuse_only=True)
        for u in msg.updates:
            if witness or u.status == ALIVE or u.node == self.me:
                self._apply(u, now, peer, accuse_only=recent and u.status == DEAD and u.by != u.node)
        if isinstance(msg, Ping):
            if msg.target == self.me:
                self._send(peer, Ack, now, seq=msg.seq)
        elif isinstance(msg, Ack):
            self._on_ack(msg.seq, now, peer)
        elif isinstance(msg, PingReq):
            if msg.target != self.me and msg.target != peer:
                self.seq += 1
                t = self.aw.scale(self.s.probe_timeout)
                self.relays[self.seq] = [peer, msg.seq, now + 0.8 * t, now + self._period()]
                self._send(msg.target, Ping, now, seq=self.seq, target=msg.target)
        elif isinstance(msg, Nack):
            if self.probe and self.probe.seq == msg.seq:
                self.probe.nacks += 1
        elif isinstance(msg, Sync) and not msg.reply:
            self._send(peer, Sync, now, table=self._table(now), reply=True)
        self._contact(peer, now)

    def _contact(self, peer: str, now: float) -> None:
        m = self.members.get(peer)
        if m is None or m.status == ALIVE:
            return
        if self._doubted(m, now):
            self._heard(peer, now)
        else:
            self._tell(peer, m, now)

    def _heard(self, peer: str, now: float) -> None:
        """A member we hold dead on a doubted verdict talks to us: it is up. Telling it that we
        hold it dead would make it refute, news for the whole cluster; after a restart (members
        restored from disk) or a heal every member would: N refutations each spread to N nodes.
        It is simply up, at the incarnation we knew until newer news; its table brings who else
        is up and at which incarnation, one table instead of an answer from each member."""
        self.members[peer] = member(ALIVE, self.members[peer].inc)
        self.dead.discard(peer)
        self.bc.drop(peer)
        self._back(peer, now)       # it was on the other side: its deaths are accusations (_received)
        self.out.append(Up(peer))
        self._ask_table(peer, now)

    def _ask_table(self, peer: str, now: float) -> None:
        """Who is up, from one member: we bring only our own entry (our verdicts are what we
        doubt), and of its answer we take only who is up (see _received)."""
        if now >= self.ask_table_at:
            self.ask_table_at = now + self.s.probe_interval
            self.asked[peer] = now
            self._send(peer, Sync, now, table=(Update(ALIVE, self.me, self.inc, self.me),), reply=False)

    def _on_ack(self, seq: int, now: float, peer: str) -> None:
        p = self.probe
        if p and p.seq == seq and peer == p.target:
            p.direct = True
        if p and p.seq == seq and not p.acked:
            p.acked = True
            if not p.indirect:
                self.aw.apply(-1)
            return
        r = self.relays.pop(seq, None)
        if r is not None:
            self._send(r[0], Ack, now, seq=r[1])

    def _tell(self, peer: str, m: Member, now: float) -> None:
        """A member we hold suspect or dead is talking to us: tell it, so it refutes."""
        if now - self.told.get(peer, -1e18) < self.s.probe_interval:
            return
        self.told[peer] = now
        self._send(peer, Gossip, now, first=Update(m.status, peer, m.inc, self.me))

    def _charge(self, node: str, now: float) -> Update | None:
        m = self.members.get(node)
        if m is None or m.status == ALIVE or self._doubted(m, now):
            return None
        return self.bc.about(node) or Update(m.status, node, m.inc, self.me)

    # ---------- updates ----------
    def _apply(self, u: Update, now: float, peer: str, accuse_only: bool = False) -> None:
        """accuse_only: a death from this source is only an accusation by the peer that brought
        it (a stale table, or a member just back from the other side: see _received)."""
        if u.node == self.me:
            if u.status != ALIVE:
                self._refute(u, now, peer)
            elif u.incarnation > self.inc:
                self.inc = u.incarnation
            return
        if u.status == ALIVE:
            self._alive(u, now)
        elif u.status == SUSPECT or accuse_only:
            # A stale table must not kill anyone outright: its dead count as accusations.
            self._suspect(u.node, u.incarnation, u.by if not accuse_only else peer, now)
        else:
            self._dead(u.node, u.incarnation, u.by, now, None)

    def _refute(self, u: Update, now: float, peer: str) -> None:
        if self.leaving:
            return
        if u.incarnation >= self.inc:
            self.inc = u.incarnation + 1
            self.aw.apply(1)
            self._broadcast(Update(ALIVE, self.me, self.inc, self.me), now)
            if u.status == DEAD and u.by != self.me:
                self._cut_off(now)
        # Straight back to whoever brought it and whoever accused us: they hold the timer.
        mine = Update(ALIVE, self.me, self.inc, self.me)
        for p in sorted({peer, u.by}):
            if p in self.members and now - self.refuted_to.get(p, -1e18) >= self.s.probe_interval:
                self.refuted_to[p] = now
                self._send(p, Gossip, now, first=mine)

    def _cut_off(self, now: float) -> None:
        """Others declared us dead: we were cut off from them (a partition, a pause), so what we
        held dead or suspect meanwhile is more likely what we could not reach than what failed.
        For a while those verdicts are doubted (_doubted): a member we hold dead that talks to us
        is up again without being told to refute, and a table shows who else is up. Standing by
        them would make every member we held dead refute, news for the whole cluster, when only
        our side of the cut held it down. Our news of them goes no further, our suspicions end."""
        self.doubt = (now, now + self._stale_window())
        for node in self.dead:
            self.bc.drop(node)
        for node in self.suspicions:
            self.members[node] = member(ALIVE, self.members[node].inc)
            self.bc.drop(node)
        self.suspicions.clear()

    def _doubted(self, m: Member, now: float) -> bool:
        """Held dead on a verdict that we do not stand by: none was given (restored from disk),
        or it was ours from before we were found cut off."""
        return m.status == DEAD and (m.since == UNHEARD or (m.since <= self.doubt[0] and now < self.doubt[1]))

    def _alive(self, u: Update, now: float) -> None:
        m = self.members.get(u.node)
        if m is None:
            return
        fresh = u.incarnation > m.inc
        # Most news is old news (each update reaches a node many times): the doubt is weighed
        # only for the one case it decides, the same incarnation as a verdict held.
        if not fresh and not (u.incarnation == m.inc and self._doubted(m, now)):
            return
        was = m.status
        self.members[u.node] = member(ALIVE, u.incarnation)
        self.dead.discard(u.node)
        self.suspicions.pop(u.node, None)
        self.told.pop(u.node, None)
        if fresh:
            self._broadcast(u, now)     # old news is news only to a doubter, who asks a table
        if was == DEAD:
            self._back(u.node, now)
            self.out.append(Up(u.node))

    def _suspect(self, node: str, inc: int, by: str, now: float) -> None:
        m = self.members.get(node)
        if m is None or inc < m.inc or m.status == DEAD:
            return
        if m.status == SUSPECT:
            if inc != m.inc:
                self.members[node] = member(SUSPECT, inc)
            if self.suspicions[node].confirm(by):
                self._suspicion_at(self.suspicions[node].deadline)
                self._broadcast(Update(SUSPECT, node, inc, by), now)
            return
        self.members[node] = member(SUSPECT, inc)
        lo, hi = suspicion_bounds(self.n(), self.s.probe_interval, self.s.suspicion_min_mult,
                                  self.s.suspicion_max_mult)
        if self.s.suspicion_floor > lo:
            lo, hi = self.s.suspicion_floor, self.s.suspicion_floor * self.s.suspicion_max_mult
        alive = self.n() - len(self.dead)
        k = min(self.s.suspicion_confirmations, max(0, alive - 2))
        self.suspicions[node] = Suspicion(by, k, lo, hi, now)
        self._suspicion_at(self.suspicions[node].deadline)
        self._broadcast(Update(SUSPECT, node, inc, by), now)
        # Straight to the suspect too: a node that was merely slow refutes at once instead of
        # waiting for the gossip to reach it by chance (one message per suspicion).
        self._tell(node, self.members[node], now)
        self.out.append(Suspected(node, by))

    def _dead(self, node: str, inc: int, by: str, now: float, reason: str | None) -> None:
        m = self.members.get(node)
        if m is None or inc < m.inc:
            return
        if m.status == DEAD:
            if m.since == UNHEARD:
                self.members[node] = Member(DEAD, inc, now)  # a verdict now: it must refute it
            return
        self.members[node] = Member(DEAD, inc, now)
        self.dead.add(node)
        self.suspicions.pop(node, None)
        if self.probe and self.probe.target == node:
            self.probe = None
        self._broadcast(Update(DEAD, node, inc, by), now)
        self._arm_dead_probe(now)
        if reason is None:
            reason = "stopped (said goodbye)" if by == node else "declared down by %s" % by
        self.out.append(Down(node, reason))

    # ---------- dissemination ----------
    def _broadcast(self, u: Update, now: float) -> None:
        self.bc.add(u)
        if self.next_gossip is None:
            self.next_gossip = now     # news goes out at once, then every gossip_interval

    def _gossip(self, now: float) -> None:
        if not len(self.bc):
            self.next_gossip = None
            return
        self.next_gossip = now + self.s.gossip_interval
        ms = self.members
        for p in self.pick(self.s.gossip_fanout,
                            lambda n: ms[n].status != DEAD or now - ms[n].since < self.s.gossip_to_dead):
            if not len(self.bc):
                break
            self._send(p, Gossip, now)

    def _sync_every(self) -> float:
        # memberlist's push-pull scale: past 32 members, longer in proportion to log2(n / 32).
        n, extra = self.n(), 0
        while n > 32:
            n, extra = n / 2, extra + 1
        return self.s.sync_interval * (1 + extra)

    def _sync(self, now: float) -> None:
        self.sync_from = now
        self.next_sync = now + self._sync_every()
        for p in self.pick(1, lambda n: self.members[n].status == ALIVE):
            self._send(p, Sync, now, table=self._table(now), reply=False)

    def pick(self, k: int, ok) -> list:
        """Up to k distinct random members passing ok(): a few random draws first (cheap with a
        thousand members), a full scan only if those miss."""
        out, order = [], self.order
        for _ in range(3 * k + 4):
            if len(out) == k or not order:
                return out
            n = order[self.rng.randrange(len(order))]
            if n not in out and ok(n):
                out.append(n)
        rest = [n for n in order if n not in out and ok(n)]
        return out + self.rng.sample(rest, min(k - len(out), len(rest)))

    def _table(self, now: float) -> tuple:
        t = [Update(m.status, n, m.inc, self.me) for n, m in sorted(self.members.items())
             if not self._doubted(m, now)]
        return tuple(t) + (Update(ALIVE, self.me, self.inc, self.me),)

    def _send(self, peer: str, cls, now: float, first: Update | None = None, **fields) -> None:
        room = self.s.max_piggyback
        ups = self.bc.take(room, self.n(), first)
        self.out.append(SendTo(peer, cls(updates=ups, **fields)))
