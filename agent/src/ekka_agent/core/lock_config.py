"""Where the lock service's etcd strategy takes its settings from: its own cluster.locks.etcd.*
keys, else discovery's cluster.etcd.* keys."""
from __future__ import annotations

from ..etcd_url import etcd_urls


def _first(options: dict, *keys):
    for k in keys:
        v = options.get(k)
        if v not in (None, "", []):
            return v
    return ""


def etcd_settings(options: dict):
    """The etcd strategy's settings, or None when no etcd server is configured."""
    raw = _first(options, "cluster.locks.etcd.server", "cluster.etcd.server")
    if not raw:
        return None
    try:
        servers = etcd_urls(raw)
    except ValueError:
        return None
    if not servers:
        return None
    own = bool(options.get("cluster.locks.etcd.server"))
    ssl = {}
    for f in ("certfile", "keyfile", "cacertfile"):
        keys = ["cluster.locks.etcd.ssl." + f]
        if not own:
            keys += ["cluster.etcd.ssl." + f, "cluster.etcd.ssl_options." + f]
        ssl[f] = _first(options, *keys) or None
    return {"servers": servers, "prefix": options.get("cluster.locks.etcd.prefix") or "ekka-locks",
            "ssl": ssl, "timeout": options.get("cluster.locks.request_timeout", 5000) / 1000}
