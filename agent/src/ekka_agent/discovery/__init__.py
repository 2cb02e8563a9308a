"""Discovery strategies: the I/O half of autocluster (core/autocluster.py holds the decisions).

One module per strategy, each a Strategy (base.py) with async discover, lock, unlock, register,
unregister. Modules are imported only when chosen, so a static node never loads etcd3gw.
"""
from __future__ import annotations

import importlib

STRATEGY_MODULES = {
    "static": "ekka_agent.discovery.static",
    "mcast": "ekka_agent.discovery.mcast",
    "dns": "ekka_agent.discovery.dns",
    "etcd": "ekka_agent.discovery.etcd",
    "k8s": "ekka_agent.discovery.k8s",
}


def make_strategy(cfg):
    """The configured Strategy, or None for manual."""
    name = cfg["cluster.discovery_strategy"]
    if name not in STRATEGY_MODULES:
        return None
    return importlib.import_module(STRATEGY_MODULES[name]).Strategy(cfg)
