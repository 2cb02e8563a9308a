"""Config for the lock service: the etcd URL check and where the etcd strategy's settings come
from (its own cluster.locks.etcd.* keys, else discovery's cluster.etcd.* keys)."""
from __future__ import annotations

from urllib.parse import urlsplit

STRATEGIES = ("local", "leader", "quorum", "all", "etcd")


def etcd_urls(v) -> list:
    """'http://127.0.0.1:2379', a comma-separated list of them, or a list; '' means unset."""
    items = v if isinstance(v, (list, tuple)) else str(v).split(",")
    out = []
    for item in items:
        s = str(item).strip()
        if not s:
            continue
        u = urlsplit(s)
        try:
            port = u.port
        except ValueError:
            port = None
        if u.scheme not in ("http", "https") or not u.hostname or not port or u.path not in ("", "/"):
            raise ValueError("etcd URLs such as http://127.0.0.1:2379 or https://etcd1:2379 "
                             "(scheme, host and port; several separated by commas)")
        out.append("%s://%s:%d" % (u.scheme, u.hostname, port))
    return out


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
