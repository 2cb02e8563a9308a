"""Connections to members and who is up: dialling, capped-backoff redials, and the up/down
marks the rest of the core hears about (peer_up / peer_down).

A reset connection marks a member down here at once, without waiting for the failure
detector. A mixin of Membership (membership.py), which holds the state.

One connection per pair is enough (either side sends on it), so when both learn of each other
at the same moment (a join, a table merge) only the node with the lower name dials
at once; the other waits a little and dials only if no connection arrived meanwhile. A cluster
of N forming at once then makes N(N-1)/2 handshakes, not twice that.
"""
from __future__ import annotations

from .events import Connect, Disconnect


class MemberLinks:
    def dial(self, p: str, fresh: bool = False) -> None:
        """Connect to p, unless a dial is under way or (unless `fresh`: refresh_link) p is connected."""
        if p in self.dialing or (self.conns.get(p) and not fresh):
            return
        self.dialing[p] = 1         # our dials to p in flight (redial_soon may add a second)
        self.ctx.act(Connect(p))

    def dial_member(self, p: str, now: float) -> None:
        """Connect to a member just learnt of (see the module's docstring for who waits)."""
        if p < self.me:
            if p not in self.redial_at and not self.conns.get(p):
                self._dial_later(p, now)
            return
        self.dial(p)

    def _dial_later(self, p: str, now: float) -> None:
        """The higher name of a pair: dial only if the lower's connection has not come by then."""
        s = self.ctx.settings
        self.redial_at[p] = now + s.connect_timeout * (0.5 + self.ctx.rng.random() / 2)

    def schedule_redial(self, p: str, now: float) -> None:
        if not self.is_member(p) or p == self.me or p in self.redial_at:
            return
        s = self.ctx.settings
        b = min(s.reconnect_max, self.backoff.get(p, s.reconnect_min / 2) * 2)
        self.backoff[p] = b
        self.redial_at[p] = now + b * (0.5 + self.ctx.rng.random() / 2)

    def redial_due(self, now: float) -> None:
        for p in sorted(p for p, at in self.redial_at.items() if now >= at):
            del self.redial_at[p]
            self.dial(p, fresh=p in self.refreshing)

    def redial_soon(self, now: float) -> None:
        """A member came back from down: the network may have healed, so the other members
        still down are tried within reconnect_min instead of their grown backoff. Their returns
        then fall close together, and autoheal sees the whole cluster in one gathering rather
        than a heal per returning group. A dial sent while the network was cut may hang until
        connect_timeout on dropped packets: one more is sent beside it."""
        s = self.ctx.settings
        for q in sorted(self.dialing):
            if q in self.down_since and self.dialing[q] == 1:
                self.dialing[q] = 2
                self.ctx.act(Connect(q))
        for q in sorted(self.redial_at):
            if q in self.down_since:
                soon = now + s.reconnect_min * (0.5 + self.ctx.rng.random() / 2)
                if self.redial_at[q] > soon:
                    self.redial_at[q] = soon
                    self.backoff.pop(q, None)

    def refresh_link(self, p: str, now: float, at_once: bool = True, since: float | None = None) -> None:
        """Replace the connection to p by a fresh one, made before the old is closed
        (on_connection_up closes it, with a reset; sends take the newest meanwhile).

        The old one stayed open while p was held dead (a paused node resumes and refutes over
        it at once), but if the network was cut, what was written on it then waits for TCP's
        retransmissions, whose backoff runs seconds past the heal, and whatever is sent after
        it waits behind. So while p is held dead (at_once=False) fresh dials are tried on the
        redial backoff beside the old connection, and when p is back (at_once) one is made at
        once: as for a new member, by the lower name, the higher only if none came meanwhile."""
        if not self.conns.get(p) or (since is not None and self.linked_at.get(p, since) > since):
            return      # a connection made after `since` (the verdict) holds nothing the cut stalled
        self.refreshing.setdefault(p, tuple(self.conns[p]))
        if p in self.dialing:
            return
        if not at_once:
            self.schedule_redial(p, now)
        elif self.me < p:
            self.redial_at.pop(p, None)
            self.dial(p, fresh=True)
        elif p not in self.redial_at or self.redial_at[p] > now + self.ctx.settings.connect_timeout:
            self.redial_at.pop(p, None)
            self._dial_later(p, now)

    def on_connection_up(self, p: str, now: float, link: int) -> None:
        self.dialing.pop(p, None)
        self.replacing.pop(p, None)
        self.redial_at.pop(p, None)
        self.backoff.pop(p, None)
        links = self.conns.setdefault(p, [])
        links.append(link)
        self.linked_at[p] = now
        old = [x for x in self.refreshing.pop(p, ()) if x in links]
        if old:
            for x in old:
                links.remove(x)
            self.ctx.act(Disconnect(p, "replaced by a fresh connection", links=tuple(old), abort=True))
        self.detector.on_connection_up(p, now)
        # The digest first: the whole table crosses only if the tables really differ.
        self.ctx.send(p, self.heartbeat(first=True))
        self.join_connected(p, now)
        if self.is_member(p) and p not in self.up and self.detector.alive(p):
            self.mark_up(p, now)

    def on_connection_down(self, p: str, now: float, reason: str, link: int) -> None:
        links = self.conns.get(p)
        if not links or link not in links:
            return      # one this node closed itself (replaced, or p removed): already let go
        links.remove(link)
        if links:
            return
        self.conns.pop(p, None)
        self.linked_at.pop(p, None)
        # A fresh link is on its way: our dial, or (the higher name) the lower's that we wait
        # for, with our own due after it (refresh_link).
        replaced = self.refreshing.pop(p, None) and (p in self.dialing or p in self.redial_at)
        if replaced and p in self.up:
            # Both ends were replacing this link after a heal: the peer reset its old one as soon
            # as our fresh dial reached it, which can be read here before our end of that dial
            # completes; or the peer restarted across the cut and our first send on the old link
            # was reset before its dial reached us. The member is not down; it is once our own
            # dial fails.
            self.replacing[p] = reason
            return
        if p in self.up:
            self.mark_down(p, now, reason)
        self.schedule_redial(p, now)

    def on_connect_failed(self, p: str, now: float) -> None:
        if self.dialing.get(p, 0) > 1:
            # The dial made while the network was cut timed out; the one sent beside it after
            # the heal is still under way (and a replaced link's close still waits for it).
            self.dialing[p] -= 1
            return
        self.dialing.pop(p, None)
        if not self.conns.get(p):
            self.refreshing.pop(p, None)
            reason = self.replacing.pop(p, None)
            if reason is not None and p in self.up:
                self.mark_down(p, now, reason)
        self.join_unreachable(p)
        self.schedule_redial(p, now)

    def mark_up(self, p: str, now: float) -> None:
        if p in self.down_since:
            self.redial_soon(now)
        self.up.add(p)
        self.up_changed()
        self.down_since.pop(p, None)
        self.ctx.log("info", "member %s is up" % p)
        self.ctx.emit("node_up", p)
        self.ctx.peer_up(p, now)

    def mark_down(self, p: str, now: float, reason: str) -> None:
        self.up.discard(p)
        self.up_changed()
        self.down_since[p] = now
        self.ctx.log("warning", "member %s is down: %s" % (p, reason))
        self.ctx.emit("node_down", p, reason=reason)
        self.ctx.peer_down(p, now)
        self.schedule_redial(p, now)

    def forget_peer(self, n: str, now: float) -> None:
        self.replacing.pop(n, None)
        self.linked_at.pop(n, None)
        self.up.discard(n)
        self.up_changed()
        self.down_since.pop(n, None)
        self.redial_at.pop(n, None)
        self.backoff.pop(n, None)
        self.refreshing.pop(n, None)
        if self.conns.get(n):
            self.ctx.act(Disconnect(n, "removed from the cluster"))
            self.conns.pop(n, None)
