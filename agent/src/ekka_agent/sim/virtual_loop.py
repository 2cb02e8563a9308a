"""An asyncio event loop on a virtual clock (the idea of trio's MockClock, for asyncio).

loop.time() is a number this loop moves itself: whenever every task is waiting and nothing is
ready, time jumps straight to the next timer instead of sleeping until it. asyncio.sleep,
wait_for, call_later and the agent's own timers all read loop.time(), so a simulated minute
of a cluster costs only the callbacks in it. Real file descriptors (a Unix control socket
opened by the test itself) still work: they are polled without waiting before each jump.
"""
from __future__ import annotations

import asyncio
import selectors


class _JumpingSelector(selectors.DefaultSelector):
    def __init__(self):
        super().__init__()
        self.loop: VirtualClockLoop | None = None

    def select(self, timeout=None):
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            # No timer at all: only real I/O (a thread's wake-up) can make progress.
            return super().select(None)
        self.loop.advance(timeout)
        return []


class VirtualClockLoop(asyncio.SelectorEventLoop):
    def __init__(self, start: float = 0.0):
        sel = _JumpingSelector()
        super().__init__(sel)
        sel.loop = self
        self._vnow = float(start)
        self.failures: list = []      # exceptions raised in callbacks: a simulation must not hide them

    def call_exception_handler(self, context) -> None:
        if isinstance(context.get("exception"), Exception):
            self.failures.append(context["exception"])
        super().call_exception_handler(context)

    def check(self) -> None:
        """Raise the first exception a callback raised (an action nobody carries out, ...)."""
        if self.failures:
            raise self.failures.pop(0)

    def time(self) -> float:
        return self._vnow

    def advance(self, seconds: float) -> None:
        self._vnow += max(0.0, seconds)


def run(main, start: float = 0.0):
    """asyncio.run(main) on a VirtualClockLoop."""
    loop = VirtualClockLoop(start)
    try:
        asyncio.set_event_loop(loop)
        out = loop.run_until_complete(main)
        loop.check()
        return out
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
