"""Read the config: the file (HOCON, EMQX 5 shape, or EMQX 4's flat form), then the environment
overrides, EMQX's key names mapped to ours (emqx_keys.py), then every value checked against the
schema. Problems are collected, not raised one by one, so `ekka-agent check` prints them all."""
from __future__ import annotations

import os
import re

from ..discovery.checks import discovery_checks
from . import emqx_keys, env
from .flat import is_flat, parse_flat
from .hocon import HoconError, Text, one_line, parse, read_text
from .schema import BY_PATH, LIST_KEYS, PATH_KEYS, REQUIRED, SCHEMA

_VAR = re.compile(r"\$\{(\??)([A-Za-z_][A-Za-z0-9_]*)\}")
SECRET_KEYS = ("node.cookie", "node.cookie_previous")
# EMQX 4 writes node.dist_net_ticktime as a bare number of seconds; our durations' bare unit is ms.
_BARE_SECONDS = ("node.dist_net_ticktime",)
# Sections only this agent has (http): read from the environment like EMQX's own roots, and an
# unknown key in them is a mistake to report, not someone else's setting to ignore.
OWN_ROOTS = tuple(sorted({k.split(".")[0] for k in BY_PATH} - set(emqx_keys.ROOTS)))
ENV_ROOTS = emqx_keys.ROOTS + OWN_ROOTS


class ConfigError(Exception):
    """Holds every problem found, one 'key = value: what is allowed' line each."""

    def __init__(self, problems):
        self.problems = [one_line(p) for p in problems]
        super().__init__("\n".join(self.problems))


class Config:
    """Checked values by dotted key, defaults filled in; plus what was read from where."""

    def __init__(self, values: dict, source: str = "", origins: dict | None = None, env_used=(),
                 ignored=(), warnings=()):
        self._v = values
        self.source = source
        self.origins = origins or {}        # key -> "from VAR" / "written as OLD.KEY" when not plain
        self.env_used = list(env_used)      # variables read, in the order applied
        self.ignored = list(ignored)        # keys that do not change clustering
        self.warnings = list(warnings)

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


def _flatten(tree: dict, prefix: str = "") -> dict:
    """Nested objects to dotted keys, keeping whole the values of keys that take an object or list."""
    out = {}
    for k, v in tree.items():
        key = prefix + k
        if isinstance(v, dict) and key not in BY_PATH:
            out.update(_flatten(v, key + "."))      # an empty object sets nothing
        else:
            out[key] = v
    return out


def read_raw(path: str | None, text: str | None = None, environ=None) -> tuple:
    """({dotted key: raw value}, warnings) from a file or a string; ConfigError if unreadable."""
    environ = os.environ if environ is None else environ
    try:
        if text is None:
            if path is None:
                return {}, []
            text = read_text(path)
        if is_flat(text):
            return parse_flat(text, path or "config")
        tree, warnings = parse(text, path or "", _subst_env(path, environ))
        return _flatten(tree), warnings
    except HoconError as e:
        raise ConfigError([str(e)]) from None
    except RecursionError:      # objects nested through includes beyond what the depth checks see
        raise ConfigError(["%s: objects nested too deeply" % (path or "config")]) from None


def _subst_env(path, environ) -> dict:
    """The variables ${...} may name: the environment, and EMQX_ETC_DIR as the config's directory
    (EMQX's start script sets it to the directory holding emqx.conf)."""
    out = dict(environ)
    if path:
        out.setdefault("EMQX_ETC_DIR", os.path.dirname(os.path.abspath(path)))
    return out


def _alias(key: str, v, where, warnings: list) -> tuple:
    """(our key, value) for a key EMQX names differently; other keys pass through."""
    ours = emqx_keys.RENAMES.get(key)
    if ours is None:
        return key, v
    if key in _BARE_SECONDS and re.fullmatch(r"\s*\d+(\.\d+)?\s*", str(v)):
        v = Text.make(str(v).strip() + "s", quoted=getattr(v, "quoted", False))
    if key == "cluster.heartbeat_interval":
        warnings.append("cluster.heartbeat_interval%s is read as cluster.probe_interval, its new name "
                        "(in EMQX 5.8 the old name is a durable-timer setting)" % _from(where))
    return ours, v


def _rename(layer: dict, origins: dict, warnings: list) -> dict:
    """The file's keys under our names; our name wins when the file sets both."""
    out = {}
    for key, v in layer.items():
        ours, v = _alias(key, v, None, warnings)
        if ours != key:
            if ours in layer:
                warnings.append("%s is ignored: %s is set too" % (key, ours))
                continue
            origins[ours] = "written as %s" % key
        out[ours] = v
    return out


def _from(origin) -> str:
    return " (%s)" % origin if origin else ""


def _env_layer(environ, origins: dict, problems: list, ignored: list, warnings: list) -> tuple:
    layer, used = {}, []
    for ov in env.overrides(environ):
        key = emqx_keys.RENAMES.get(ov.key, ov.key)
        if key.split(".")[0] not in ENV_ROOTS:
            ignored.append(ov.var)
            continue
        section = key not in BY_PATH and any(p.startswith(key + ".") for p in BY_PATH)
        try:
            value = env.convert(ov, key in LIST_KEYS, section)
        except HoconError as e:
            problems.append(str(e))
            continue
        items = _flatten(value, ov.key + ".").items() if isinstance(value, dict) else [(ov.key, value)]
        for k, v in items:
            ours, v = _alias(k, v, "from " + ov.var, warnings)
            layer[ours] = v
            origins[ours] = "from %s" % ov.var + (", written as %s" % k if ours != k else "")
        used.append(ov.var)
    return layer, used


def _expand_paths(raw: dict, environ, source, origins, problems) -> None:
    """${VAR} in a file path, as EMQX expands it (even inside quotes); only in path keys, so a
    cookie or any other value is never rewritten."""
    names = _subst_env(source, environ)
    for key in PATH_KEYS & raw.keys():
        v = raw[key]
        if not isinstance(v, str) or "${" not in v:
            continue

        missing = [m.group(2) for m in _VAR.finditer(v) if not m.group(1) and m.group(2) not in names]
        if missing:
            problems.append("%s = %r%s: ${%s} is not set in the environment" % (
                key, str(v), _from(origins.get(key)), missing[0]))
            del raw[key]        # reported once; not checked again as a path
            continue
        raw[key] = Text.make(_VAR.sub(lambda m: names.get(m.group(2), ""), v), quoted=True)


def _classify(raw: dict, origins: dict, problems: list, warnings: list, ignored: list) -> None:
    """Apply the EMQX key table to every key the schema does not hold; drop those keys from raw."""
    for key in sorted(raw):
        if key in BY_PATH:
            continue
        v = raw.pop(key)
        row = emqx_keys.row_for(key)
        root = key.split(".")[0]
        shown = "%s = %r%s" % (key, v if isinstance(v, (list, dict)) else str(v), _from(origins.get(key)))
        if row is None:
            if root == "cluster" or root in OWN_ROOTS:
                problems.append("%s: unknown key; known %s keys: see `ekka-agent check --keys`" % (key, root))
            elif root in emqx_keys.ROOTS:
                warnings.append("%s: not a key of EMQX 4 or 5 that the agent knows; ignored" % key)
            else:
                ignored.append(key)
        elif row.action == "refused":
            problems.append("%s: refused: %s" % (shown, row.note))
        elif row.action == "checked":
            why = row.rule(v)
            if why:
                problems.append("%s: must be %s" % (shown, why) if why.startswith("one of") else
                                "%s: refused: %s" % (shown, why))
        elif row.action == "ignored":
            ignored.append(key)


def _secret_problems(raw: dict, origins: dict) -> list:
    out = []
    for key in SECRET_KEYS:
        v = raw.get(key)
        if isinstance(v, Text) and v.cut:
            out.append("%s = <hidden>%s: a '#' right after the value starts a comment, so the secret would be cut "
                       "there; quote the whole value" % (key, _from(origins.get(key))))
    return out


def validate(raw: dict, source: str = "", origins=None, env_used=(), ignored=(), warnings=(),
             problems=()) -> Config:
    origins = origins or {}
    problems, values = list(problems), {}
    problems.extend(_secret_problems(raw, origins))
    for k in SCHEMA:
        _check_key(k, raw, origins, values, problems)
    if not problems:
        for line in cross_checks(values):
            where = ["%s: %s" % (k, o) for k, o in sorted(origins.items()) if k in line and k in values]
            problems.append(line + (" [%s]" % "; ".join(where) if where else ""))
    if problems:
        raise ConfigError(problems)
    return Config(values, source, origins, env_used, ignored, warnings)


def _check_key(k, raw: dict, origins: dict, values: dict, problems: list) -> None:
    """values[k.path] = the checked value or its default, else one problem line."""
    v = raw.get(k.path)
    if v is None:     # not set, or HOCON's null
        if k.default is REQUIRED:
            problems.append("%s: missing: %s; it has no default" % (k.path, k.doc))
        else:
            values[k.path] = _default(k)
        return
    try:
        values[k.path] = k.check(v)
    except ValueError as e:
        shown = "<hidden>" if k.path in SECRET_KEYS else repr(v if isinstance(v, (list, dict)) else str(v))
        problems.append("%s = %s%s: must be %s" % (k.path, shown, _from(origins.get(k.path)), e))


def _default(k):
    if not isinstance(k.default, str):
        return k.default
    try:
        return k.check(k.default)
    except ValueError:
        return k.default


def core_checks(v: dict) -> list:
    """Rules of the node and its transport that tie keys together."""
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
    if v["cluster.failure_timeout"] <= v["cluster.probe_interval"]:
        out.append("cluster.failure_timeout = %dms: must be longer than cluster.probe_interval (%dms)"
                   % (v["cluster.failure_timeout"], v["cluster.probe_interval"]))
    return out


# Rules that tie keys together, each a function(values) -> [problem lines].
CROSS_CHECKS = (core_checks, discovery_checks)


def cross_checks(v: dict) -> list:
    return [line for check in CROSS_CHECKS for line in check(v)]


class _Layers:
    """The file and the environment read and merged, EMQX's names mapped to ours; not yet checked."""

    def __init__(self, path, environ, text):
        self.problems, self.warnings, self.ignored, self.origins = [], [], [], {}
        file_raw, file_warnings = read_raw(path, text, environ)
        self.warnings.extend(file_warnings)
        self.raw = _rename(file_raw, self.origins, self.warnings)
        env_raw, self.env_used = _env_layer(environ, self.origins, self.problems, self.ignored, self.warnings)
        self.raw.update(env_raw)
        if environ.get("WITH_EPMD") not in (None, "", "0", "false"):
            self.raw["node.epmd"] = Text.make("true")
            self.origins["node.epmd"] = "from WITH_EPMD"
            self.env_used.append("WITH_EPMD")
        _expand_paths(self.raw, environ, path, self.origins, self.problems)


def load_config(path: str | None, environ=None, text: str | None = None) -> Config:
    """The whole config, every key checked; ConfigError lists every problem."""
    environ = os.environ if environ is None else environ
    ly = _Layers(path, environ, text)
    _classify(ly.raw, ly.origins, ly.problems, ly.warnings, ly.ignored)
    return validate(ly.raw, path or "", ly.origins, ly.env_used, ly.ignored, ly.warnings, ly.problems)


def read_keys(path: str | None, keys, environ=None) -> dict:
    """Only `keys`, read exactly as load_config reads them (same file forms, includes, aliases and
    environment) and checked; the rest of the config is not checked. For ekka-ctl, which needs
    the control socket's directory and must not fail on, say, a cookie file it may not read."""
    environ = os.environ if environ is None else environ
    ly = _Layers(path, environ, None)
    problems = [p for p in ly.problems if any(k in p for k in keys)]
    out: dict = {}
    for key in keys:
        _check_key(BY_PATH[key], ly.raw, ly.origins, out, problems)
    if problems:
        raise ConfigError(problems)
    return out
