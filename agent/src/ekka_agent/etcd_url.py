"""etcd endpoint URLs: the one parser, for the config check and the etcd client (etcd_client.py).

An endpoint is scheme://host:port. As etcdctl does, a bare host:port means http, and a missing
port is etcd's client port 2379; the canonical form (what `ekka-agent check --effective` prints)
always has all three. Anything else (another scheme, a path, no host) is refused.
"""
from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

DEFAULT_PORT = 2379
EXAMPLE = "http://127.0.0.1:2379"


class Endpoint(NamedTuple):
    scheme: str
    host: str
    port: int

    @property
    def url(self) -> str:
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s:%d" % (self.scheme, host, self.port)


def parse_endpoint(s: str) -> Endpoint:
    """'http://h1:2379', 'h1:2379', 'https://[::1]' -> Endpoint; ValueError says what is wrong."""
    text = str(s).strip()
    u = urlsplit(text if "://" in text else "http://" + text)
    try:
        port = u.port or DEFAULT_PORT
    except ValueError:
        port = None
    if u.scheme not in ("http", "https") or not u.hostname or not port or u.path not in ("", "/") or u.query:
        raise ValueError("%r is not an etcd endpoint such as %s" % (text, EXAMPLE))
    return Endpoint(u.scheme, u.hostname, port)


def etcd_urls(v) -> list:
    """The config check: 'http://127.0.0.1:2379', a comma-separated list of them, or a list; '' means unset."""
    items = v if isinstance(v, (list, tuple)) else str(v).split(",")
    try:
        return [parse_endpoint(i).url for i in items if str(i).strip()]
    except ValueError:
        raise ValueError("etcd URLs such as %s or https://etcd1:2379, several separated by commas (no "
                         "scheme means http://, no port means 2379; no path)" % EXAMPLE) from None
