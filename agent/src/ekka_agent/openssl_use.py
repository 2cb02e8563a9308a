"""Whether a node loads OpenSSL: only when its config speaks TLS or HTTP(S) to anyone.

asyncio imports `ssl` whether or not a connection ever uses it, and `hashlib` loads OpenSSL's
libcrypto for the cookie's HMAC: together about 4.5 MiB of every agent's memory (15 % of it)
for a node whose cluster port is plain TCP. Python's own SHA-256 does the HMAC as well (it is
faster than OpenSSL's on such short inputs). So before the agent imports asyncio, a node that
needs neither is made to run without them: an entry of None in sys.modules makes a later
`import ssl` fail as if it were not installed, which asyncio, hashlib and hmac all expect.

Which keys need TLS is said here once; the rest of the agent imports `ssl` only where one of
these is configured (runtime/tls.py, runtime/http.py, the etcd and Kubernetes clients).
"""
from __future__ import annotations

import importlib.util
import sys

OPENSSL_MODULES = ("ssl", "_ssl", "_hashlib")


def needs_openssl(cfg) -> bool:
    """cfg: the checked config (or any mapping with its keys)."""
    from .core.lock_config import etcd_settings
    from .strategies import DISCOVERY_OVER_HTTP
    return (cfg.get("cluster.proto_dist") == "inet_tls"
            or bool(cfg.get("http.listen"))                # HTTPS, and prometheus_client imports ssl
            or cfg.get("cluster.discovery_strategy") in DISCOVERY_OVER_HTTP
            or etcd_settings(cfg) is not None)             # the etcd lock strategy will run


def leave_out_openssl(cfg) -> bool:
    """Called before asyncio is imported. True when OpenSSL stays out of this process."""
    if needs_openssl(cfg) or any(m in sys.modules for m in OPENSSL_MODULES):
        return False
    if importlib.util.find_spec("_sha256") is None and importlib.util.find_spec("_sha2") is None:
        return False        # a Python built without its own SHA-256 (3.11: _sha256, 3.12+: _sha2)
    for m in OPENSSL_MODULES:
        sys.modules[m] = None   # type: ignore[assignment]
    return True
