"""EMQX 4's emqx.conf (cuttlefish): one `dotted.key = value` per line, the value being everything
right of '=' up to a comment. Recognised by its content: every setting line has that shape and
none opens an object or an array, includes a file or substitutes a variable (those are HOCON).
"""
from __future__ import annotations

import json
import re

from .hocon import HoconError, Text

_LINE = re.compile(r"^\s*([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*=\s*(.*?)\s*$")


def _meaningful(text: str):
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip().lstrip("\ufeff")
        if s and not s.startswith("#") and not s.startswith("//"):
            yield n, line


def is_flat(text: str) -> bool:
    """True for the EMQX 4 flat form (also plain `a.b = c` HOCON, which reads the same)."""
    seen = False
    for _, line in _meaningful(text):
        m = _LINE.match(line)
        if not m:
            return False
        value = m.group(2)
        if value[:1] in ("{", "[") or value.endswith(("{", "[")) or "${" in value or '"""' in value:
            return False
        seen = True
    return seen


def _value(raw: str, source: str, n: int) -> Text:
    if raw.startswith('"'):
        # A quoted value reads as HOCON reads it, so a '#' inside quotes stays.
        end = _closing_quote(raw)
        rest = raw[end + 1:].strip() if end > 0 else ""
        if end < 0 or (rest and not rest.startswith("#")):
            raise HoconError("%s: line %d: a quoted value must end the line (found %r)" % (source, n, raw))
        try:
            return Text.make(json.loads(raw[:end + 1]), quoted=True)
        except ValueError:
            raise HoconError("%s: line %d: bad escape in the quoted value %s" % (source, n, raw[:end + 1])) from None
    cut = raw.find("#")
    if cut >= 0:
        # cuttlefish: '#' starts a comment; flagged when glued to the value, which then lost its end
        return Text.make(raw[:cut].rstrip(), cut=cut > 0 and not raw[cut - 1].isspace())
    return Text.make(raw)


def _closing_quote(raw: str) -> int:
    i = 1
    while i < len(raw):
        if raw[i] == "\\":
            i += 2
            continue
        if raw[i] == '"':
            return i
        i += 1
    return -1


def parse_flat(text: str, source: str = "config") -> dict:
    """{dotted key: Text}; a later line for the same key wins, as in cuttlefish."""
    out = {}
    for n, line in _meaningful(text):
        m = _LINE.match(line)
        if m:
            out[m.group(1)] = _value(m.group(2), source, n)
    return out
