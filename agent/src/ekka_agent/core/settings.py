"""Typed settings of the core, per feature, in seconds: built once from the validated config.

Every default lives in the config schema (config/schema.py): these classes have none for a
config key, so the runtime and the simulator (sim/settings.py validates its options through
the schema) build them the same way, and a misspelt key fails there. The few numbers here
with a default are protocol constants, not config keys.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from .lock_config import etcd_settings

# The config key of the failure detector's interval: the one line that maps it.
DETECTOR_INTERVAL_KEY = "cluster.probe_interval"


def _s(v: Mapping, key: str) -> float:
    """A duration key (validated to milliseconds) in seconds."""
    return v[key] / 1000


@dataclass(frozen=True)
class Settings:
    """Membership, the failure detector and connections."""
    cluster_name: str
    failure_detector: str           # "swim" | "mesh" (core/failure_detector.py make_detector)
    probe_interval: float           # the failure detector's interval
    failure_timeout: float
    connect_timeout: float
    reconnect_min: float = 0.2
    reconnect_max: float = 2.0
    join_timeout: float = 10.0
    write_timeout: float = 5.0
    sync_min_interval: float = 1.0

    @classmethod
    def from_config(cls, v: Mapping) -> "Settings":
        return cls(cluster_name=v["cluster.name"], failure_detector=v["cluster.failure_detector"],
                   probe_interval=_s(v, DETECTOR_INTERVAL_KEY),
                   failure_timeout=_s(v, "cluster.failure_timeout"), connect_timeout=_s(v, "cluster.connect_timeout"))


@dataclass(frozen=True)
class HealSettings:
    """Autoheal (core/split_detector.py, heal_leader.py, heal_coordinator.py)."""
    enabled: bool
    delay: float                    # wait this long after a report before gathering views
    max_heals: int                  # the breaker: at most this many heal rounds ...
    window: float                   # ... within this many seconds
    join_timeout: float

    @property
    def report_every(self) -> float:
        return max(2.0, 2 * self.delay)

    @property
    def round_timeout(self) -> float:
        return max(5.0, 4 * self.delay, self.join_timeout)

    @classmethod
    def from_config(cls, v: Mapping, join_timeout: float) -> "HealSettings":
        return cls(enabled=bool(v["cluster.autoheal"]), delay=_s(v, "cluster.autoheal_delay"),
                   max_heals=v["cluster.autoheal_max_heals"], window=_s(v, "cluster.autoheal_window"),
                   join_timeout=join_timeout)


@dataclass(frozen=True)
class AutocleanSettings:
    after: Optional[float]          # None: autoclean is off
    min_members: int

    @classmethod
    def from_config(cls, v: Mapping) -> "AutocleanSettings":
        after = v["cluster.autoclean"]
        return cls(after=after / 1000 if after else None, min_members=v["cluster.autoclean_min_members"])


@dataclass(frozen=True)
class LockSettings:
    default_strategy: str
    default_lease: float
    max_lease: float
    request_timeout: float
    etcd: Optional[dict]            # the etcd strategy's servers, prefix, ssl, timeout; None: not configured

    @classmethod
    def from_config(cls, v: Mapping) -> "LockSettings":
        return cls(default_strategy=v["cluster.locks.default_strategy"],
                   default_lease=_s(v, "cluster.locks.default_lease"), max_lease=_s(v, "cluster.locks.max_lease"),
                   request_timeout=_s(v, "cluster.locks.request_timeout"), etcd=etcd_settings(v))


@dataclass(frozen=True)
class DiscoverySettings:
    """Autocluster's decisions (the strategies' own keys stay with discovery/)."""
    strategy: str
    interval: float
    retry_min: float
    retry_max: float
    probe_timeout: float
    bootstrap_expect: int

    @classmethod
    def from_config(cls, v: Mapping) -> "DiscoverySettings":
        return cls(strategy=v["cluster.discovery_strategy"], interval=_s(v, "cluster.autocluster.interval"),
                   retry_min=_s(v, "cluster.autocluster.retry_min"), retry_max=_s(v, "cluster.autocluster.retry_max"),
                   probe_timeout=_s(v, "cluster.autocluster.probe_timeout"),
                   bootstrap_expect=v["cluster.bootstrap_expect"])


@dataclass(frozen=True)
class NodeSettings:
    membership: Settings
    autoheal: HealSettings
    autoclean: AutocleanSettings
    locks: LockSettings
    discovery: DiscoverySettings

    @classmethod
    def from_config(cls, cfg) -> "NodeSettings":
        """From the validated config's values (config/load.py: Config.as_dict())."""
        v = cfg
        m = Settings.from_config(v)
        return cls(membership=m, autoheal=HealSettings.from_config(v, m.join_timeout),
                   autoclean=AutocleanSettings.from_config(v), locks=LockSettings.from_config(v),
                   discovery=DiscoverySettings.from_config(v))
