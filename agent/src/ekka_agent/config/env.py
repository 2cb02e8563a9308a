"""Environment overrides, read as EMQX reads them: `EMQX_NODE__COOKIE` is `node.cookie` (prefix
removed, `__` becomes '.', lowercased). `EKKA_` works the same way and wins over `EMQX_`.

A scalar is taken byte for byte: no parser sees it, so '#', leading zeros, `true` or `1e400`
arrive as written. A list key takes a comma-separated value, or a HOCON/JSON array when the
value starts with '['; a section takes a HOCON object when the value starts with '{'.
"""
from __future__ import annotations

from .hocon import HoconError, Text, parse

PREFIXES = ("EMQX_", "EKKA_")           # in this order, so EKKA_ wins
# EMQX's start script reads these two (single underscore) as well; the `__` forms win over them.
LEGACY_NAMES = {"EMQX_NODE_NAME": "node.name", "EMQX_NODE_COOKIE": "node.cookie"}


class EnvValue:
    """One override: the key it sets, the raw value and the variable it came from."""

    __slots__ = ("key", "raw", "var")

    def __init__(self, key, raw, var):
        self.key, self.raw, self.var = key, raw, var


def key_of(var: str):
    """EMQX_CLUSTER__STATIC__SEEDS -> cluster.static.seeds; None if the name is not an override."""
    for prefix in PREFIXES:
        if var.startswith(prefix) and "__" in var:
            parts = var[len(prefix):].lower().split("__")
            return ".".join(parts) if all(parts) else None
    return LEGACY_NAMES.get(var)


def overrides(environ) -> list:
    """Every override in the environment, in the order they apply (later wins)."""
    rank = {"legacy": 0, "EMQX_": 1, "EKKA_": 2}
    found = []
    for var in environ:
        key = key_of(var)
        if key is None:
            continue
        kind = "legacy" if var in LEGACY_NAMES else var[:5]
        found.append((rank[kind], var, EnvValue(key, environ[var], var)))
    return [v for _, _, v in sorted(found, key=lambda x: (x[0], x[1]))]


def convert(ov: EnvValue, is_list: bool, is_section: bool):
    """The override's value for the loader: Text, a list, or a dict; HoconError names the variable."""
    raw = ov.raw
    if (is_list and raw.lstrip().startswith("[")) or (is_section and raw.lstrip().startswith("{")):
        try:
            tree, _ = parse("v = " + raw, source="", environ={})
        except HoconError as e:
            msg = str(e).split(": ", 2)[-1]
            raise HoconError("%s: not a valid %s: %s" % (ov.var, "array" if is_list else "object", msg)) from None
        return tree["v"]
    if is_list:
        return [Text.make(s.strip(), quoted=True) for s in raw.split(",") if s.strip()]
    return Text.make(raw, quoted=True)
