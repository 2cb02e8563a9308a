"""Value checkers for the schema. Each takes the raw value and returns the clean one,
or raises ValueError with 'what is allowed' as the message."""
from __future__ import annotations

import ipaddress
import os
import re

from ..naming import NodeNameError, parse_node
from .cookie import check_cookie

# EMQX's duration: one or more <number><unit> parts, units case-insensitive ("24H", "1h30m",
# "2d12h", "1w"); a bare number means the caller's unit (milliseconds in the config).
_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.I)
_BARE_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
DURATION_FORMS = "a duration such as 500ms, 30s, 5m, 24h, 1h30m or 1w"
_BYTES = re.compile(r"^\s*(\d+)\s*(b|kb|mb|gb)?\s*$", re.I)
_UNIT_B = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
_SIMPLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def parse_duration_ms(text: str, bare_unit: str = "ms") -> int:
    """The one duration parser (config and command line): ValueError(DURATION_FORMS) if not one."""
    text = str(text)
    m = _BARE_NUMBER.match(text)
    if m:
        return round(float(m.group(1)) * _UNIT_MS[bare_unit])
    total, pos = 0.0, 0
    for part in _DURATION_PART.finditer(text):
        if part.start() != pos:
            break
        total += float(part.group(1)) * _UNIT_MS[part.group(2).lower()]
        pos = part.end()
    if pos == 0 or text[pos:].strip():
        raise ValueError(DURATION_FORMS)
    return round(total)


def duration_ms(v) -> int:
    """A config duration in milliseconds; a bare number is milliseconds (as in EMQX)."""
    if isinstance(v, (bool, dict, list)) or v is None:
        raise ValueError(DURATION_FORMS)
    return parse_duration_ms(v)


def byte_size(v) -> int:
    if isinstance(v, bool):
        raise ValueError("a size such as 1MB or 65536")
    if isinstance(v, int):
        n = v
    else:
        m = _BYTES.match(str(v))
        if not m:
            raise ValueError("a size such as 1MB, 64KB or 65536")
        n = int(m.group(1)) * _UNIT_B[(m.group(2) or "b").lower()]
    if not 4096 <= n <= 1024**3:
        raise ValueError("a size from 4KB to 1GB")
    return n


def boolean(v) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("true", "on", "yes", "1"):
        return True
    if s in ("false", "off", "no", "0"):
        return False
    raise ValueError("true or false (on/off are read too)")


def integer(lo: int, hi: int):
    def check(v) -> int:
        if isinstance(v, bool):
            raise ValueError("an integer from %d to %d" % (lo, hi))
        try:
            n = int(str(v).strip())
        except ValueError:
            raise ValueError("an integer from %d to %d" % (lo, hi)) from None
        if not lo <= n <= hi:
            raise ValueError("an integer from %d to %d" % (lo, hi))
        return n
    return check


port = integer(1, 65535)


def file_mode(v) -> int:
    """A permission mode written in octal: "0660", or 0660 (which HOCON reads as the number 660)."""
    text = str(v).strip()
    if isinstance(v, bool) or not text.isdigit() or any(c in "89" for c in text):
        raise ValueError("an octal mode such as \"0660\"")
    mode = int(text, 8)
    if not 0o600 <= mode <= 0o777:
        raise ValueError("an octal mode from 0600 to 0777 (the agent's user must keep read and write)")
    return mode


def enum(*choices: str):
    def check(v) -> str:
        s = str(v).strip().lower() if v is not None else ""
        if s not in choices:
            raise ValueError("one of " + ", ".join(choices))
        return s
    return check


def string(v) -> str:
    if isinstance(v, (dict, list)) or v is None:
        raise ValueError("a string")
    return str(v)


def simple_name(v) -> str:
    s = string(v)
    if not _SIMPLE_NAME.match(s):
        raise ValueError("1-64 letters, digits, '.', '_' or '-'")
    return s


def node_name(v) -> str:
    try:
        return str(parse_node(string(v)))
    except NodeNameError as e:
        raise ValueError(str(e)) from None


def node_list(v) -> list:
    """A list of node names; a comma-separated string (EMQX 4 form) is read too."""
    if isinstance(v, str):
        v = [s.strip() for s in v.split(",") if s.strip()]
    if not isinstance(v, list):
        raise ValueError("a list of node names such as [\"ekka@s1.example.com\"]")
    return [node_name(x) for x in v]


def port_list(v) -> list:
    if isinstance(v, str):
        v = [s for s in re.split(r"[,\s]+", v) if s]
    if not isinstance(v, list) or not v:
        raise ValueError("a non-empty list of ports such as [4369, 4370]")
    return [port(x) for x in v]


def ip_address(v) -> str:
    try:
        return str(ipaddress.ip_address(string(v)))
    except ValueError:
        raise ValueError("an IP address") from None


def multicast_v4(v) -> str:
    s = ip_address(v)
    if not ipaddress.ip_address(s).is_multicast or ":" in s:
        raise ValueError("an IPv4 multicast address (224.0.0.0/4), such as 239.192.0.1")
    return s


def path(v) -> str:
    s = string(v)
    if not s or "\0" in s:
        raise ValueError("a file system path")
    return s


def string_list(v) -> list:
    if isinstance(v, str):
        v = [s.strip() for s in v.split(",") if s.strip()]
    if not isinstance(v, list):
        raise ValueError("a list of strings")
    return [string(x) for x in v]


def cookie(v) -> str:
    """The cookie rules live in cookie.py; this is the schema's checker."""
    return check_cookie(string(v))


def hooks(v) -> list:
    """[{event = "node_down", command = ["/usr/bin/x", "arg"], timeout = 10s}, ...]"""
    if not isinstance(v, list):
        raise ValueError("a list of {event, command, timeout}")
    out = []
    for h in v:
        if not isinstance(h, dict) or "command" not in h:
            raise ValueError("a list of {event, command, timeout} objects, each with a command")
        cmd = h["command"]
        cmd = [cmd] if isinstance(cmd, str) else cmd
        if not isinstance(cmd, list) or not cmd or not all(isinstance(c, str) for c in cmd):
            raise ValueError("command as a string or a list of strings")
        out.append({"event": str(h.get("event", "*")), "command": cmd,
                    "timeout_ms": duration_ms(h.get("timeout", "30s"))})
    return out


def existing_file(v) -> str:
    """A path to a file that exists, or '' for unset."""
    s = string(v)
    if s and ("\0" in s or not os.path.isfile(s)):
        raise ValueError("an existing file")
    return s
