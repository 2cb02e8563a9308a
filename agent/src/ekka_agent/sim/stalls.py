"""What TCP does with what is written on an open connection while the network is cut.

It is not lost: the kernel holds it and retransmits on a doubling timer (200 ms, 400 ms, ...
up to two minutes), so it arrives at the first retransmission after the heal, however early
the heal came, and whatever is written on that connection meanwhile waits behind it. A fresh
connection between the same two does not wait. A SimCluster holds cluster-channel messages
this way (stalls=False drops them instead, as the simulator did before); the RPC channel's
connections come and go with each call, and what is sent on it across a cut is dropped.
"""
from __future__ import annotations

RTO_MIN = 0.2
RTO_MAX = 120.0


class Held:
    """What one direction of one connection holds while the link is cut: retried on TCP's
    doubling timer; at the first retry that finds the link whole, `flush` gets it all, in order.
    `later(delay, fn, *args)` is the clock of whichever simulator holds it."""

    def __init__(self, reachable, later, flush):
        self.items: list = []
        self.reachable, self.later, self.flush = reachable, later, flush
        later(RTO_MIN, self._retry, RTO_MIN)

    def drop(self) -> None:
        """Its connection was closed (or reset): nothing more of it arrives."""
        self.items = None

    def _retry(self, rto: float) -> None:
        if self.items is None:
            return
        if not self.reachable():
            rto = min(2 * rto, RTO_MAX)
            self.later(rto, self._retry, rto)
            return
        items, self.items = self.items, None
        self.flush(items)


class Stalls:
    """The pure simulator's held messages: per (src, dst), the connection in use and older ones."""

    def __init__(self, net):
        self.net = net
        self.held: dict[tuple, Held] = {}     # (src, dst) -> what waits on the connection in use
        self.old: dict[tuple, list] = {}      # (src, dst) -> what waits on older ones, per connection

    def hold(self, src: str, dst: str, msg, deliver) -> bool:
        """True when msg waits: the link is cut, or what was written before it still waits."""
        h = self.held.get((src, dst))
        if h is None or h.items is None:
            if self.net.reachable(src, dst):
                return False
            h = self.held[(src, dst)] = Held(lambda: self.net.reachable(src, dst), self.net.later,
                                             lambda items: self._flush(src, dst, items, deliver))
        h.items.append(msg)
        return True

    def _flush(self, src: str, dst: str, items: list, deliver) -> None:
        latency = self.net.latency()        # one segment train: the order is kept
        for msg in items:
            self.net.later(latency, deliver, src, dst, msg)

    def fresh(self, a: str, b: str) -> None:
        """A new connection between a and b: what is sent from now on takes it. What waits on
        the old one still comes at that connection's next retransmission, unless it is closed."""
        for key in ((a, b), (b, a)):
            h = self.held.pop(key, None)
            if h is not None and h.items:
                self.old.setdefault(key, []).append(h)

    def closed(self, a: str, b: str, replaced: bool) -> None:
        """Connections between a and b closed (the core resets those of a cut link, events.py
        Disconnect.abort): what waited on them is dropped. `replaced`: only those a fresh one
        replaced."""
        for key in ((a, b), (b, a)):
            for h in self.old.pop(key, ()):
                h.drop()
            if not replaced and key in self.held:
                self.held.pop(key).drop()

    def crashed(self, name: str) -> None:
        for key in [k for k in self.held if name in k]:
            self.held.pop(key).drop()
        for key in [k for k in self.old if name in k]:
            for h in self.old.pop(key):
                h.drop()
