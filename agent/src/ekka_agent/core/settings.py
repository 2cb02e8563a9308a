"""Timing and policy knobs of the core, in seconds, built from the config by the runtime."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Settings:
    cluster_name: str = "ekkacl"
    heartbeat_interval: float = 0.5
    failure_timeout: float = 2.5
    connect_timeout: float = 2.0
    reconnect_min: float = 0.2
    reconnect_max: float = 2.0
    join_timeout: float = 10.0
    write_timeout: float = 5.0
    sync_min_interval: float = 1.0

    @classmethod
    def from_config(cls, cfg) -> "Settings":
        return cls(
            cluster_name=cfg["cluster.name"],
            heartbeat_interval=cfg["cluster.heartbeat_interval"] / 1000,
            failure_timeout=cfg["cluster.failure_timeout"] / 1000,
            connect_timeout=cfg["cluster.connect_timeout"] / 1000,
        )


@dataclass(frozen=True)
class HealSettings:
    """Autoheal's knobs (core/split_detector.py, heal_leader.py, heal_coordinator.py)."""
    enabled: bool = True
    delay: float = 1.0              # wait this long after a report before gathering views
    max_heals: int = 5              # the breaker: at most this many heal rounds ...
    window: float = 600.0           # ... within this many seconds
    join_timeout: float = 10.0

    @property
    def report_every(self) -> float:
        return max(2.0, 2 * self.delay)

    @property
    def round_timeout(self) -> float:
        return max(5.0, 4 * self.delay, self.join_timeout)

    @classmethod
    def from_options(cls, o: dict, join_timeout: float) -> "HealSettings":
        return cls(enabled=bool(o.get("cluster.autoheal", True)), delay=o.get("cluster.autoheal_delay", 1000) / 1000,
                   max_heals=o.get("cluster.autoheal_max_heals", 5),
                   window=o.get("cluster.autoheal_window", 600_000) / 1000, join_timeout=join_timeout)
