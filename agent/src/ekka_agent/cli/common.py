"""What both commands share: reading the config with clear errors, and exit codes."""
from __future__ import annotations

import sys

from ..config import ConfigError, load_config

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def load_or_exit(path: str, prog: str):
    try:
        return load_config(path)
    except ConfigError as e:
        for line in e.problems:
            print("%s: %s" % (prog, line), file=sys.stderr)
        sys.exit(EXIT_USAGE)


def erl_atom(s: str) -> str:
    """Quote a node name the way Erlang prints an atom, as EMQX's messages show it."""
    return "'%s'" % s


def erl_list(items) -> str:
    return "[" + ",".join(erl_atom(i) for i in items) + "]"
