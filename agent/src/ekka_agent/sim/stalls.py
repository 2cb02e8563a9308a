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


class Stalls:
    def __init__(self, net):
        self.net = net
        self.held: dict[tuple, list] = {}     # (src, dst) -> what waits on the connection in use
        self.old: dict[tuple, list] = {}      # (src, dst) -> what waits on older ones, per connection

    def hold(self, src: str, dst: str, msg, deliver) -> bool:
        """True when msg waits: the link is cut, or what was written before it still waits."""
        q = self.held.get((src, dst))
        if q is not None:
            q.append(msg)
            return True
        if self.net.reachable(src, dst):
            return False
        q = self.held[(src, dst)] = [msg]
        self.net.later(RTO_MIN, self._retransmit, src, dst, RTO_MIN, q, deliver)
        return True

    def _retransmit(self, src: str, dst: str, rto: float, q: list, deliver) -> None:
        if not q:
            return          # its connection was closed
        if not self.net.reachable(src, dst):
            rto = min(2 * rto, RTO_MAX)
            self.net.later(rto, self._retransmit, src, dst, rto, q, deliver)
            return
        if self.held.get((src, dst)) is q:
            del self.held[(src, dst)]
        latency = self.net.latency()        # one segment train: the order is kept
        for msg in q:
            self.net.later(latency, deliver, src, dst, msg)
        q.clear()

    def fresh(self, a: str, b: str) -> None:
        """A new connection between a and b: what is sent from now on takes it. What waits on
        the old one still comes at that connection's next retransmission, unless it is closed."""
        for key in ((a, b), (b, a)):
            q = self.held.pop(key, None)
            if q:
                self.old.setdefault(key, []).append(q)

    def closed(self, a: str, b: str, oldest: bool) -> None:
        """Connections between a and b closed (the core resets those of a cut link, events.py
        Disconnect.abort): what waited on them is dropped. `oldest`: only those a fresh one
        replaced."""
        for key in ((a, b), (b, a)):
            for q in self.old.pop(key, ()):
                q.clear()
            if not oldest:
                q = self.held.pop(key, None)
                if q:
                    q.clear()

    def crashed(self, name: str) -> None:
        for key in [k for k in self.held if name in k]:
            self.held.pop(key).clear()
        for key in [k for k in self.old if name in k]:
            for q in self.old.pop(key):
                q.clear()
