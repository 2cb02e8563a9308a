"""The optional state machines a node runs beside membership and kv.

Each is built from node.options (the checked config values) and has any of: name, on_start,
on_tick, next_deadline, on_message, on_command, on_peer_up, on_peer_down, on_connect_failed,
on_joined, on_reset, on_stop, status(dict), snapshot(), restore(state).
"""
from __future__ import annotations


def build_components(node) -> list:
    comps = []
    return comps
