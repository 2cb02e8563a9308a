"""Cookie helpers: the fingerprint operators compare, and node.cookie_previous (a list of cookies,
each under the same policy as node.cookie)."""
from __future__ import annotations

import hashlib

from . import types as t


def fingerprint(cookie: str) -> str:
    """First 8 hex digits of the cookie's SHA-256: enough to tell cookies apart, never the cookie."""
    return hashlib.sha256(cookie.encode()).hexdigest()[:8]


def cookie_list(v) -> list:
    """node.cookie_previous: ["old-secret", "file:///etc/ekka/cookie.old"]; each checked as node.cookie."""
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list):
        raise ValueError("a list of cookies, such as [\"old-secret\"]")
    out = []
    for i, c in enumerate(v):
        try:
            out.append(t.cookie(c))
        except ValueError as e:
            raise ValueError("a list of cookies; entry %d must be %s" % (i + 1, e)) from None
    return out
