"""The strategy interface (Ekka's ekka_cluster_strategy: discover/lock/unlock/register/unregister)."""
from __future__ import annotations

from ..naming import parse_node


class DiscoveryError(Exception):
    """A lookup failed; the message says what and where, for the log and `discovery status`."""


class BaseStrategy:
    name = "?"
    has_lock = False       # lock/unlock do something (else they are no-ops, Ekka's `ignore`)
    has_registry = False   # register/unregister do something

    def __init__(self, cfg):
        self.cfg = cfg
        self.me = cfg["node.name"]
        self.app = parse_node(self.me).name
        self.info: dict = {}    # extra facts for `discovery status` (records seen, counters)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def discover(self) -> list:
        raise NotImplementedError

    async def lock(self) -> None:
        pass

    async def unlock(self) -> None:
        pass

    async def register(self) -> None:
        pass

    async def unregister(self) -> None:
        pass

    def node_of(self, app: str, host: str):
        """app@host, or None when that is not a valid node name (logged in info['skipped'])."""
        try:
            return str(parse_node("%s@%s" % (app, host)))
        except ValueError as e:
            self.info.setdefault("skipped", []).append(str(e))
            return None
