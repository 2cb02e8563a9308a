"""Config: the schema table (schema.py), value checks (types.py), the cookie policy (cookie.py),
EMQX's keys (emqx_keys.py), the readers (hocon.py, flat.py, env.py) and the loader (load.py).

Names are imported lazily, so a command that needs only the duration parser or the cookie
fingerprint does not load the whole stack.
"""
from __future__ import annotations

_LAZY = {"Config": "load", "ConfigError": "load", "load_config": "load"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module("." + _LAZY[name], __name__), name)
    raise AttributeError(name)
