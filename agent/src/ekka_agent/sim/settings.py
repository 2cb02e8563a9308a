"""The simulator's node settings, built through the config loader like the runtime's.

Options are flat config keys ({"cluster.autoclean": 3000} or "3s"); they are read as a config
file holding those lines would be, so a misspelt key or a wrong value fails with the config's
own message.
"""
from __future__ import annotations

import json

from ..config.load import Config, load_config
from ..core.settings import NodeSettings

# The keys every config must have; their values do not matter to the core.
_REQUIRED = {"node.name": "sim@127.0.0.1", "node.cookie": "sim-cookie-000000000000"}


def sim_config(options: dict | None = None) -> Config:
    """A whole validated config, as a file of these flat keys would give (sim/agents.py runs Agents on it)."""
    lines = ("%s = %s" % (k, json.dumps(v)) for k, v in dict(_REQUIRED, **(options or {})).items())
    return load_config(None, environ={}, text="\n".join(lines))


def sim_settings(options: dict | None = None) -> NodeSettings:
    return NodeSettings.from_config(sim_config(options).as_dict())
