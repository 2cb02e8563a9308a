"""EMQX 4's emqx.conf (cuttlefish): one `dotted.key = value` per line, the value being everything
right of '=' up to a comment, and `include PATH` lines (unquoted, globs allowed: EMQX 4 splits
its config into etc/*.conf and plugins/*.conf that way). Recognised by its content: every line
has one of those shapes and none opens an object or an array or substitutes a variable (those
are HOCON, whose include takes a quoted name).
"""
from __future__ import annotations

import glob
import json
import os
import re

from .hocon import MAX_DEPTH, HoconError, Text, read_text

_LINE = re.compile(r"^\s*([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*=\s*(.*?)\s*$")
_INCLUDE = re.compile(r"^\s*include\s+([^\s\"#]+)\s*(#.*)?$")


def _meaningful(text: str):
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip().lstrip("\ufeff")
        if s and not s.startswith("#") and not s.startswith("//"):
            yield n, line


def is_flat(text: str) -> bool:
    """True for the EMQX 4 flat form (also plain `a.b = c` HOCON, which reads the same)."""
    seen = False
    for _, line in _meaningful(text):
        if _INCLUDE.match(line):
            continue
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


def parse_flat(text: str, source: str = "config", depth: int = 0) -> tuple:
    """({dotted key: Text}, warnings); a later line for the same key wins, as in cuttlefish, and an
    included file's lines count where the include stands."""
    out, warnings = {}, []
    for n, line in _meaningful(text):
        inc = _INCLUDE.match(line)
        if inc:
            _include(inc.group(1), source, n, depth, out, warnings)
            continue
        m = _LINE.match(line)
        if m:
            out[m.group(1)] = _value(m.group(2), source, n)
    return out, warnings


def _include(pattern: str, source: str, n: int, depth: int, out: dict, warnings: list) -> None:
    if depth >= MAX_DEPTH:
        raise HoconError("%s: line %d: includes nested more than %d deep" % (source, n, MAX_DEPTH))
    base = os.path.dirname(source) if source and source != "config" else os.getcwd()
    path = os.path.join(base, pattern)
    files = sorted(glob.glob(path)) if glob.has_magic(path) else [path]
    for f in files:
        if not os.path.isfile(f):
            warnings.append("%s: line %d: include %s: %s does not exist; skipped" % (source, n, pattern, f))
            continue
        sub, sub_warnings = parse_flat(read_text(f), f, depth + 1)
        out.update(sub)
        warnings.extend(sub_warnings)
