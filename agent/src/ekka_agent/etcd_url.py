"""etcd endpoint URLs: the one parser, for the config check and the etcd clients."""
from __future__ import annotations

from urllib.parse import urlsplit


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
