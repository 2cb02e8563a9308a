"""Checks of the http.* keys (the HTTP status and metrics endpoint, runtime/http.py)."""
from __future__ import annotations

import ipaddress


def listen_address(v) -> tuple:
    """"127.0.0.1:8081" or "[::1]:8081" -> (host, port)."""
    s = str(v).strip() if isinstance(v, (str, int)) and not isinstance(v, bool) else ""
    host, sep, port = s.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(host)
        p = int(port)
    except ValueError:
        raise ValueError("an IP address and port such as \"127.0.0.1:8081\" or \"[::1]:8081\"") from None
    if not sep or not 1 <= p <= 65535:
        raise ValueError("an IP address and port such as \"127.0.0.1:8081\" (port 1-65535)")
    return host, p
