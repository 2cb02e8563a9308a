"""What a lock command may name: a resource and owner of bounded size, a lease within
cluster.locks.max_lease. A bad one is a ValueError whose text names the key, the value and
what is allowed (the coordinator answers it as bad_argument)."""
from __future__ import annotations

MAX_RESOURCE = 512
MAX_OWNER = 256


def text_arg(a: dict, key: str, limit: int) -> str:
    v = a.get(key)
    if not isinstance(v, str) or not 1 <= len(v.encode()) <= limit or "\0" in v:
        raise ValueError("%s = %r: must be a string of 1-%d bytes" % (key, v, limit))
    return v


def lease_arg(v, default: float, max_lease: float) -> float:
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.1 <= v <= max_lease:
        raise ValueError("lease = %r: must be a number of seconds from 0.1 to %g (cluster.locks.max_lease)"
                         % (v, max_lease))
    return float(v)
