"""What both commands share: reading the config with clear errors, and exit codes.

The config stack is imported only when a command needs it, so `ekka-ctl` starts fast.
"""
from __future__ import annotations

import sys

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def load_or_exit(path: str, prog: str, environ=None):
    """The checked config; on problems, one line each on stderr and exit 2. Warnings go to stderr."""
    from ..config.load import ConfigError, load_config
    try:
        cfg = load_config(path, environ)
    except ConfigError as e:
        for line in e.problems:
            print("%s: %s" % (prog, line), file=sys.stderr)
        sys.exit(EXIT_USAGE)
    for line in cfg.warnings:
        print("%s: warning: %s" % (prog, line), file=sys.stderr)
    return cfg


def read_keys_or_exit(path: str, keys, prog: str) -> dict:
    """Only `keys` of the config (read as the agent reads them); problems as load_or_exit prints them."""
    from ..config.load import ConfigError, read_keys
    try:
        return read_keys(path, keys)
    except ConfigError as e:
        for line in e.problems:
            print("%s: %s" % (prog, line), file=sys.stderr)
        sys.exit(EXIT_USAGE)


def erl_atom(s: str) -> str:
    """Quote a node name the way Erlang prints an atom, as EMQX's messages show it."""
    return "'%s'" % s


def erl_list(items) -> str:
    return "[" + ",".join(erl_atom(i) for i in items) + "]"
