"""The optional state machines a node runs beside membership and kv.

Each module listed in COMPONENTS has `components(node) -> list`, building its machines from
node.options (the checked config values); it returns [] when its feature is off. A machine has
any of: name, on_start, on_tick, next_deadline, on_message, on_command, on_peer_up,
on_peer_down, on_connect_failed, on_joined, on_reset, on_stop, status(dict), snapshot(), restore(state).
"""
from __future__ import annotations

import importlib

COMPONENTS: list = [
    "ekka_agent.core.autocluster",
    "ekka_agent.core.autoheal",     # partitions: detection, deliberate heal (issue 4)
    "ekka_agent.core.autoclean",    # removal of long-down members (issue 4)
    "ekka_agent.core.locks",
]


def build_components(node) -> list:
    return [c for mod in COMPONENTS for c in importlib.import_module(mod).components(node)]
