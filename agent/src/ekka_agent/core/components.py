"""The optional state machines a node runs beside membership and the kv replica.

Each module listed in COMPONENTS has `components(ctx, settings) -> list`, building its
machines (core/context.py Component) from the node's typed settings (core/settings.py); it
returns [] when its feature is off.
"""
from __future__ import annotations

import importlib

COMPONENTS: list = [
    "ekka_agent.core.autocluster",
    "ekka_agent.core.autoheal",     # partitions: detection, deliberate heal
    "ekka_agent.core.autoclean",    # removal of long-down members
    "ekka_agent.core.locks",
    "ekka_agent.core.drain",        # last: on start it tells the others a saved drained state
]


def build_components(ctx, settings) -> list:
    return [c for mod in COMPONENTS for c in importlib.import_module(mod).components(ctx, settings)]
