"""A HOCON reader for the files EMQX users have, standard library only (so the CLI starts fast).

It reads what EMQX's own reader takes: objects, dotted keys, `=` / `:` / `+=`, arrays, quoted and
triple-quoted strings, unquoted values including `name@host`, concatenation, `${path}` and
`${?path}` substitutions (from the config, then the environment), and `include` resolved against
the including file's directory. Scalars stay the text that was written (`Text`): the schema's
checkers decide what they mean, so `000123` or `0660` never lose a digit on the way.

Every problem is a HoconError whose message is one line: `FILE: line N: what is wrong`.
"""
from __future__ import annotations

import os

MAX_DEPTH = 64          # nesting of objects, arrays and includes; deeper input is refused, not recursed
_PUNCT = "{}[],:="
# Characters HOCON does not allow in an unquoted value; '@' is allowed, as EMQX's reader allows it.
_FORBIDDEN = "$\"{}[]:=,+#`^?!*&\\"
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def one_line(text: str) -> str:
    """Line breaks from the file (a quoted key, a triple-quoted string) shown escaped, so a
    problem is always one line."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


class HoconError(ValueError):
    """One line: where and what."""

    def __init__(self, message: str):
        super().__init__(one_line(message))


class Text(str):
    """A scalar as written. `quoted`: it was a quoted string. `cut`: it was unquoted and a comment
    started right after it with no space, so the line held more than the value (a '#' meant as
    part of a secret?)."""

    quoted = False
    cut = False

    @classmethod
    def make(cls, s: str, quoted: bool = False, cut: bool = False) -> "Text":
        t = cls(s)
        t.quoted, t.cut = quoted, cut
        return t


class _Subst:
    def __init__(self, path: str, optional: bool, where: str):
        self.path, self.optional, self.where = path, optional, where


class _Concat:
    """Scalars and substitutions written side by side; resolved to one Text."""

    def __init__(self, parts: list):
        self.parts = parts          # Text, _Subst or whitespace str


class _Tok:
    __slots__ = ("kind", "value", "line", "space")

    def __init__(self, kind, value, line, space):
        self.kind, self.value, self.line, self.space = kind, value, line, space


def _lex(text: str, where) -> list:
    out, i, n, line, space = [], 0, len(text), 1, ""
    if text.startswith("\ufeff"):
        i = 1
    while i < n:
        c = text[i]
        if c == "\n":
            out.append(_Tok("nl", "\n", line, space))
            line, space, i = line + 1, "", i + 1
            continue
        if c in " \t\r\ufeff\u00a0":
            j = i
            while j < n and text[j] in " \t\r\ufeff\u00a0":
                j += 1
            space, i = text[i:j], j
            continue
        if c == "#" or text.startswith("//", i):
            if out and out[-1].kind == "text" and not space and out[-1].line == line:
                out[-1].value.cut = True
            while i < n and text[i] != "\n":
                i += 1
            continue
        if c == "+" and text.startswith("+=", i):
            out.append(_Tok("punct", "+=", line, space))
            i += 2
        elif c in _PUNCT:
            out.append(_Tok("punct", c, line, space))
            i += 1
        elif text.startswith('"""', i):
            j = text.find('"""', i + 3)
            if j < 0:
                raise HoconError("%s: line %d: a \"\"\" string is not closed" % (where(), line))
            while text.startswith('"', j + 3):
                j += 1
            s = text[i + 3:j]
            out.append(_Tok("str", Text.make(s, quoted=True), line, space))
            line += s.count("\n")
            i = j + 3
        elif c == '"':
            s, i = _quoted(text, i, line, where)
            out.append(_Tok("str", Text.make(s, quoted=True), line, space))
        elif text.startswith("${", i):
            j = text.find("}", i)
            if j < 0 or "\n" in text[i:j]:
                raise HoconError("%s: line %d: a ${ substitution is not closed with }" % (where(), line))
            body = text[i + 2:j]
            optional = body.startswith("?")
            path = body[1:] if optional else body
            if not path.strip() or any(ch in path for ch in ' "{[$'):
                raise HoconError("%s: line %d: ${%s} is not a substitution of a name" % (where(), line, body))
            out.append(_Tok("subst", _Subst(path.strip(), optional, "%s: line %d" % (where(), line)), line, space))
            i = j + 1
        else:
            j = i
            while j < n:
                ch = text[j]
                if ch in _FORBIDDEN or ch in " \t\r\n\ufeff\u00a0" or text.startswith("//", j):
                    break
                if ch < " " or ch == "\x7f":
                    raise HoconError("%s: line %d: control character %r in the file" % (where(), line, ch))
                j += 1
            if j == i:
                raise HoconError("%s: line %d: unexpected character %r (quote the value if it is text)"
                                 % (where(), line, c))
            out.append(_Tok("text", Text.make(text[i:j]), line, space))
            i = j
        space = ""
    out.append(_Tok("eof", "", line, space))
    return out


def _quoted(text: str, i: int, line: int, where) -> tuple:
    buf, j, n = [], i + 1, len(text)
    while j < n:
        c = text[j]
        if c == '"':
            return "".join(buf), j + 1
        if c == "\n":
            break
        if c == "\\":
            e = text[j + 1:j + 2]
            if e in _ESCAPES:
                buf.append(_ESCAPES[e])
                j += 2
                continue
            if e == "u" and all(h in "0123456789abcdefABCDEF" for h in text[j + 2:j + 6]) and j + 6 <= n:
                buf.append(chr(int(text[j + 2:j + 6], 16)))
                j += 6
                continue
            raise HoconError("%s: line %d: bad escape \\%s in a quoted string" % (where(), line, e))
        buf.append(c)
        j += 1
    raise HoconError("%s: line %d: a quoted string is not closed on its line" % (where(), line))


class _Parser:
    def __init__(self, text: str, source: str, depth: int, seen: tuple):
        self.source = source
        self.depth = depth
        self.seen = seen
        self.toks = _lex(text, self._where)
        self.pos = 0
        self.warnings: list = []

    def _where(self) -> str:
        return self.source or "config"

    def err(self, tok, msg):
        raise HoconError("%s: line %d: %s" % (self._where(), tok.line, msg))

    def peek(self):
        return self.toks[self.pos]

    def next(self):
        t = self.toks[self.pos]
        self.pos += 1
        return t

    def skip_nl(self, commas=True):
        while self.peek().kind == "nl" or (commas and self.peek().value == "," and self.peek().kind == "punct"):
            self.pos += 1

    def parse_root(self) -> dict:
        self.skip_nl(commas=False)
        t = self.peek()
        if t.kind == "punct" and t.value == "{":
            self.next()
            obj = self.fields("}", 1)
            self.next()
        else:
            obj = self.fields("eof", 0)
        self.skip_nl(commas=False)
        if self.peek().kind != "eof":
            self.err(self.peek(), "unexpected %r after the end of the config" % self.peek().value)
        return obj

    def fields(self, end: str, depth: int) -> dict:
        if depth > MAX_DEPTH:
            self.err(self.peek(), "nested more than %d levels deep" % MAX_DEPTH)
        obj: dict = {}
        while True:
            self.skip_nl()
            t = self.peek()
            if (end == "eof" and t.kind == "eof") or (t.kind == "punct" and t.value == end):
                return obj
            if t.kind == "eof":
                self.err(t, "missing %r: an object is not closed" % end)
            if t.kind == "text" and t.value == "include" and self._include_follows():
                self.next()
                _merge(obj, self.include(t))
            else:
                self.field(obj, depth)
            t = self.peek()
            if t.kind in ("nl", "eof") or (t.kind == "punct" and t.value in (",", end)):
                continue
            self.err(t, "expected a new line or ',' after a value, found %s" % _describe(t))

    def _include_follows(self) -> bool:
        nt = self.toks[self.pos + 1]
        return bool(nt.space) and (nt.kind == "str" or (nt.kind == "text" and str(nt.value).startswith(
            ("required(", "file(", "url(", "classpath("))))

    def key(self) -> list:
        """a.b."c.d" -> ['a', 'b', 'c.d']: dots split unquoted parts only."""
        t = self.next()
        if t.kind not in ("text", "str"):
            self.err(t, "expected a key, found %r" % (t.value,))
        toks = [t]
        while self.peek().kind in ("text", "str") and not self.peek().space:
            toks.append(self.next())
        parts = [""]
        for k in toks:
            pieces = [str(k.value)] if k.kind == "str" else str(k.value).split(".")
            parts[-1] += pieces[0]
            parts.extend(pieces[1:])
        if "" in parts:
            self.err(t, "key %r has an empty part" % "".join(str(k.value) for k in toks))
        return parts

    def field(self, obj: dict, depth: int) -> None:
        path = self.key()
        depth += len(path)      # a.b.c nests as deep as a { b { c
        t = self.next()
        if t.kind == "punct" and t.value == "{":
            value = self.fields("}", depth)
            self.next()
            _set(obj, path, value)
            return
        if t.kind != "punct" or t.value not in ("=", ":", "+="):
            self.err(t, "expected '=', ':' or '{' after the key %s, found %r" % (".".join(path), t.value))
        value = self.value(depth)
        if t.value == "+=":
            cur = _get(obj, path)
            value = (cur if isinstance(cur, list) else []) + [value]
        _set(obj, path, value)

    def value(self, depth: int):
        if depth > MAX_DEPTH:
            self.err(self.peek(), "nested more than %d levels deep" % MAX_DEPTH)
        t = self.peek()
        if t.kind == "punct" and t.value == "{":
            self.next()
            v = self.fields("}", depth)
            self.next()
            while self.peek().kind == "punct" and self.peek().value == "{":   # {a} {b} merge
                self.next()
                _merge(v, self.fields("}", depth))
                self.next()
            return v
        if t.kind == "punct" and t.value == "[":
            self.next()
            items = []
            while True:
                self.skip_nl()
                if self.peek().kind == "punct" and self.peek().value == "]":
                    self.next()
                    return items
                if self.peek().kind == "eof":
                    self.err(self.peek(), "missing ']': an array is not closed")
                items.append(self.value(depth + 1))
                nt = self.peek()
                if nt.kind == "eof":
                    self.err(nt, "missing ']': an array is not closed")
                if not (nt.kind == "nl" or (nt.kind == "punct" and nt.value in (",", "]"))):
                    self.err(nt, "expected ',' or ']' in an array, found %s" % _describe(nt))
        parts = []
        while self.peek().kind in ("text", "str", "subst"):
            nt = self.next()
            if parts and nt.space:
                parts.append(nt.space)
            parts.append(nt.value)
        if not parts:
            self.err(t, "expected a value, found %s" % _describe(t))
        if len(parts) == 1:
            v = parts[0]
            if isinstance(v, Text) and not v.quoted and v == "null":
                return None
            return v
        if any(isinstance(p, _Subst) for p in parts):
            return _Concat(parts)
        return Text.make("".join(parts), quoted=any(getattr(p, "quoted", False) for p in parts),
                         cut=getattr(parts[-1], "cut", False))

    def include(self, at) -> dict:
        toks = []
        while self.peek().kind not in ("nl", "eof") and not (self.peek().kind == "punct" and self.peek().value in ",}"):
            toks.append(self.next())
        names = [str(t.value) for t in toks if t.kind == "str"]
        shape = "".join(str(t.value) for t in toks if t.kind != "str")
        if shape.startswith(("url(", "classpath(", "required(url(", "required(classpath(")):
            self.err(at, "include %s...) is not supported: include a file" % shape.split(")")[0])
        if len(names) != 1 or shape not in ("", "file()", "required()", "required(file())"):
            self.err(at, 'include must name one file: include "file.conf" or include required("file.conf")')
        required, name = shape.startswith("required("), names[0]
        base = os.path.dirname(self.source) if self.source else os.getcwd()
        path = os.path.normpath(os.path.join(base, name))
        if not os.path.exists(path):
            if required:
                self.err(at, "include required(%r): %s does not exist" % (name, path))
            self.warnings.append("%s: line %d: include %r: %s does not exist; skipped" % (
                self._where(), at.line, name, path))
            return {}
        if path in self.seen or len(self.seen) >= MAX_DEPTH:
            self.err(at, "include %r includes itself" % name)
        sub = _Parser(read_text(path), path, self.depth + 1, self.seen + (path,))
        tree = sub.parse_root()
        self.warnings.extend(sub.warnings)
        return tree


def _describe(t) -> str:
    return {"nl": "the end of the line", "eof": "the end of the file"}.get(t.kind) or repr(str(t.value))


def _get(obj: dict, path: list):
    for p in path:
        if not isinstance(obj, dict) or p not in obj:
            return None
        obj = obj[p]
    return obj


def _set(obj: dict, path: list, value) -> None:
    for p in path[:-1]:
        if not isinstance(obj.get(p), dict):
            obj[p] = {}
        obj = obj[p]
    last = path[-1]
    if isinstance(value, dict) and isinstance(obj.get(last), dict):
        _merge(obj[last], value)
    else:
        obj[last] = value


def _merge(into: dict, new: dict) -> None:
    """HOCON's object merge: keys of `new` win; objects under the same key merge."""
    for k, v in new.items():
        _set(into, [k], v)


def read_text(path: str) -> str:
    """A config file's text; a file that is not UTF-8 is one clear line, never a traceback."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise HoconError("%s: cannot read the config file: %s" % (path, e.strerror)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise HoconError("%s: line %d: not UTF-8 text (byte 0x%02x); save the file as UTF-8"
                         % (path, line, data[e.start])) from None


def parse(text: str, source: str = "", environ=None) -> tuple:
    """(tree, warnings): the config as nested dicts, lists and Text, substitutions resolved."""
    p = _Parser(text, source, 0, (os.path.abspath(source),) if source else ())
    tree = p.parse_root()
    _resolve(tree, tree, os.environ if environ is None else environ, ())
    return tree, p.warnings


def _lookup(root: dict, path: str):
    node = root
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None, False
        node = node[part]
    return node, True


def _resolve(node, root, environ, active):
    """Replace substitutions in place; returns the node (or _MISSING for an unset ${?x})."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    drop = []
    for k, v in list(items):
        r = _value(v, root, environ, active)
        if r is _MISSING:
            drop.append(k)
        else:
            node[k] = r
    for k in reversed(drop):
        del node[k]
    return node


_MISSING = object()


def _value(v, root, environ, active):
    if isinstance(v, (dict, list)):
        return _resolve(v, root, environ, active)
    if isinstance(v, _Subst):
        return _subst(v, root, environ, active)
    if isinstance(v, _Concat):
        out = []
        for p in v.parts:
            r = _subst(p, root, environ, active) if isinstance(p, _Subst) else p
            if r is _MISSING:
                continue
            if isinstance(r, (dict, list)):
                raise HoconError("%s: ${%s} is an object or array and cannot be joined with text"
                                 % (p.where, p.path))
            out.append("" if r is None else str(r))
        return Text.make("".join(out), quoted=True)
    return v


def _subst(s: _Subst, root, environ, active):
    if s.path in active:
        raise HoconError("%s: ${%s} refers to itself" % (s.where, s.path))
    found, ok = _lookup(root, s.path)
    if ok:
        return _value(found, root, environ, active + (s.path,))
    if s.path in environ:
        return Text.make(environ[s.path], quoted=True)
    if s.optional:
        return _MISSING
    raise HoconError("%s: ${%s} is set neither in the config nor in the environment" % (s.where, s.path))
