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
            heartbeat_interval=cfg["cluster.probe_interval"] / 1000,
            failure_timeout=cfg["cluster.failure_timeout"] / 1000,
            connect_timeout=cfg["cluster.connect_timeout"] / 1000,
        )
