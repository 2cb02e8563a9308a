"""Read the config: HOCON (EMQX 5 shape), or the EMQX 4 flat form, then environment overrides,
then check every value against the schema. Problems are collected, not raised one by one, so
`ekka-agent check` can print them all."""
from __future__ import annotations

import os
import re

from pyhocon import ConfigFactory, ConfigTree
from pyhocon.exceptions import ConfigException

from .schema import BY_PATH, LEGACY_KEYS, REQUIRED, SCHEMA

ENV_PREFIX = "EKKA_"
_OUR_ROOTS = ("node", "cluster")
_FLAT_LINE = re.compile(r"^\s*([A-Za-z0-9_.]+)\s*=\s*(.*?)\s*$")


class ConfigError(Exception):
    """Holds every problem found, one 'key = value: what is allowed' line each."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class Config:
    """Checked values by dotted key, defaults filled in."""

    def __init__(self, values: dict, source: str = ""):
        self._v = values
        self.source = source

    def __getitem__(self, key):
        return self._v[key]

    def get(self, key, default=None):
        return self._v.get(key, default)

    def section(self, prefix: str) -> dict:
        """{'seeds': [...]} for section('cluster.static')."""
        p = prefix + "."
        return {k[len(p):]: v for k, v in self._v.items() if k.startswith(p)}

    def as_dict(self) -> dict:
        return dict(self._v)


def _flatten(tree, prefix=""):
    out = {}
    for k, v in tree.items():
        key = prefix + k
        if isinstance(v, (ConfigTree, dict)) and key not in BY_PATH:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = _plain(v)
    return out


def _plain(v):
    if isinstance(v, (ConfigTree, dict)):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def _is_flat_v4(text: str) -> bool:
    """EMQX 4's emqx.conf: flat `a.b.c = value` lines, with `cluster.discovery` not `discovery_strategy`."""
    return bool(re.search(r"^\s*cluster\.discovery\s*=", text, re.M))


def _parse_flat(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        m = _FLAT_LINE.match(line)
        if m:
            val = m.group(2)
            if len(val) >= 2 and val[0] == val[-1] == '"':
                val = val[1:-1]
            out[m.group(1)] = val
    return out


def _parse_value(raw: str):
    """An environment value is HOCON when it parses as such ([..], true, 5s stay strings)."""
    try:
        return _plain(ConfigFactory.parse_string("v = " + raw)["v"])
    except Exception:  # pyhocon raises many kinds; anything unparsable is taken as a string
        return raw


def _from_env(environ) -> dict:
    out = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        key = ".".join(p.lower() for p in name[len(ENV_PREFIX):].split("__"))
        out[key] = _parse_value(raw)
    if environ.get("WITH_EPMD") not in (None, "", "0", "false"):
        out["node.epmd"] = True
    return out


def read_raw(path: str | None, text: str | None = None) -> dict:
    """Flat {dotted key: raw value} from a file or a string; raises ConfigError if unreadable."""
    if text is None:
        if path is None:
            return {}
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise ConfigError(["%s: cannot read the config file: %s" % (path, e.strerror)]) from None
    if _is_flat_v4(text):
        raw = _parse_flat(text)
    else:
        try:
            raw = _flatten(ConfigFactory.parse_string(text))
        except (ConfigException, Exception) as e:  # pyhocon's parser raises pyparsing errors too
            raise ConfigError(["%s: not valid HOCON: %s" % (path or "config", str(e).splitlines()[0])]) from None
    for old, new in LEGACY_KEYS.items():
        if old in raw:
            raw.setdefault(new, raw.pop(old))
    return raw


def validate(raw: dict, source: str = "") -> Config:
    problems, values = [], {}
    for key in sorted(raw):
        if key.split(".")[0] == "cluster" and key not in BY_PATH:
            problems.append("%s: unknown key; known cluster keys: see `ekka-agent check --keys`" % key)
    for k in SCHEMA:
        if k.path not in raw:
            if k.default is REQUIRED:
                problems.append("%s: missing: %s; it has no default" % (k.path, k.doc))
            else:
                values[k.path] = k.default if not isinstance(k.default, str) else _default(k)
            continue
        try:
            values[k.path] = k.check(raw[k.path])
        except ValueError as e:
            shown = "<hidden>" if k.path in ("node.cookie", "node.cookie_previous") else repr(raw[k.path])
            problems.append("%s = %s: must be %s" % (k.path, shown, e))
    if not problems:
        problems.extend(cross_checks(values))
    if problems:
        raise ConfigError(problems)
    return Config(values, source)


def _default(k):
    try:
        return k.check(k.default)
    except ValueError:
        return k.default


def cross_checks(v: dict) -> list:
    """Rules that tie keys together; each returns the same kind of line."""
    from ..naming import NodeNameError, check_dist_range, parse_node
    out = []
    if v["node.epmd"]:
        try:
            check_dist_range(v["node.dist_listen_min"], v["node.dist_listen_max"])
        except NodeNameError as e:
            out.append(str(e))
    if v["cluster.proto_dist"] == "inet_tls":
        for f in ("certfile", "keyfile", "cacertfile"):
            if not v["cluster.ssl." + f]:
                out.append("cluster.ssl.%s = '': must be set when cluster.proto_dist = inet_tls" % f)
    fam = parse_node(v["node.name"]).family
    if v["cluster.proto_dist"] == "inet6_tcp" and fam == "ipv4":
        out.append("cluster.proto_dist = 'inet6_tcp': node.name %r has an IPv4 host; use inet_tcp or an IPv6 host"
                   % v["node.name"])
    if v["cluster.proto_dist"] == "inet_tcp" and fam == "ipv6":
        out.append("cluster.proto_dist = 'inet_tcp': node.name %r has an IPv6 host; use inet6_tcp" % v["node.name"])
    if v["cluster.failure_timeout"] <= v["cluster.heartbeat_interval"]:
        out.append("cluster.failure_timeout = %dms: must be longer than cluster.heartbeat_interval (%dms)"
                   % (v["cluster.failure_timeout"], v["cluster.heartbeat_interval"]))
    for hook in _CROSS_CHECKS:
        out.extend(hook(v))
    return out


# Other modules (discovery, autoheal, locks) append functions(values) -> [problem lines] here.
_CROSS_CHECKS = []


def register_cross_check(fn):
    _CROSS_CHECKS.append(fn)
    return fn


def load_config(path: str | None, environ=None, text: str | None = None) -> Config:
    raw = read_raw(path, text)
    raw.update(_from_env(os.environ if environ is None else environ))
    return validate(raw, source=path or "")


# Feature modules whose cross-key rules register themselves when imported.
CHECK_MODULES = ("ekka_agent.discovery.checks",)
for _mod in CHECK_MODULES:
    __import__(_mod)
