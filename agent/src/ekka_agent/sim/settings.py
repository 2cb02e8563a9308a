"""The simulator's node settings, built through the config schema like the runtime's.

Options are flat config keys with validated-style values ({"cluster.autoclean": 3000} or
"3s"); a misspelt key or a wrong value fails here with the config's own message.
"""
from __future__ import annotations

from ..config.load import validate
from ..core.settings import NodeSettings

# The keys every config must have; their values do not matter to the core.
_REQUIRED = {"node.name": "sim@127.0.0.1", "node.cookie": "sim-cookie-000000000000"}


def sim_settings(options: dict | None = None) -> NodeSettings:
    return NodeSettings.from_config(validate(dict(_REQUIRED, **(options or {})), source="simulation").as_dict())
