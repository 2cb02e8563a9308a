"""Carries out the autocluster's DiscOp actions with the configured strategy and feeds each
outcome back to the core as a DiscResult. Operations run one at a time, in order; a failure is
a result with the error text (the core logs it and retries), never an exception here."""
from __future__ import annotations

import asyncio
import logging

from ..core.events import DiscOp, DiscResult
from ..discovery import make_strategy
from ..discovery.base import DiscoveryError
from .extras import Extra

log = logging.getLogger("ekka.discovery")
OP_TIMEOUT = 30.0   # a stuck lookup must not stall the rounds forever


class DiscoveryExtra(Extra):
    def __init__(self, agent):
        self.agent = agent
        self.strategy = None
        self.queue: asyncio.Queue | None = None
        self.worker = None

    async def start(self) -> None:
        self.strategy = make_strategy(self.agent.cfg)
        if self.strategy is None:
            return
        self.queue = asyncio.Queue()
        try:
            await self.strategy.start()
        except DiscoveryError as e:
            log.error("%s; discovery retries it on each round", e)
        self.worker = asyncio.get_running_loop().create_task(self._work())

    def on_action(self, a) -> bool:
        if not isinstance(a, DiscOp):
            return False
        if self.queue is not None:
            self.queue.put_nowait(a)
        else:  # manual: answer at once so a round still ends
            asyncio.get_running_loop().call_soon(self.agent.feed, DiscResult(a.op, a.round, True))
        return True

    async def _work(self) -> None:
        while True:
            a = await self.queue.get()
            res = await self._run(a)
            if self.agent.core is not None and not (self.agent.stopping and self.agent.stopping.is_set()):
                self.agent.feed(res)

    async def _run(self, a: DiscOp) -> DiscResult:
        s = self.strategy
        try:
            fn = getattr(s, a.op)
            out = await asyncio.wait_for(fn(), OP_TIMEOUT)
        except asyncio.TimeoutError:
            return DiscResult(a.op, a.round, False, error="%s: %s timed out after %.0fs" % (s.name, a.op, OP_TIMEOUT))
        except DiscoveryError as e:
            return DiscResult(a.op, a.round, False, error=str(e))
        except Exception as e:  # a strategy bug must not kill the agent; say what it was
            log.exception("discovery %s %s crashed", s.name, a.op)
            return DiscResult(a.op, a.round, False, error="%s: %s: %s: %s" % (s.name, a.op, type(e).__name__, e))
        if a.op == "discover":
            return DiscResult(a.op, a.round, True, nodes=tuple(out or ()), info=dict(s.info))
        return DiscResult(a.op, a.round, True)

    async def stop(self) -> None:
        if self.worker:
            self.worker.cancel()
            self.worker = None
        if self.strategy is not None:
            try:
                await asyncio.wait_for(self.strategy.close(), 5)
            except (asyncio.TimeoutError, DiscoveryError) as e:
                log.info("discovery shutdown: %s", e)


def extras(agent) -> list:
    return [DiscoveryExtra(agent)]
