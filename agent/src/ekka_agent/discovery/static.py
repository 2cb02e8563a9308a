"""static: the seeds from the config (cluster.static.seeds)."""
from __future__ import annotations

from .base import BaseStrategy


class Strategy(BaseStrategy):
    name = "static"

    async def discover(self) -> list:
        return list(self.cfg["cluster.static.seeds"])
