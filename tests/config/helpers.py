"""Run `ekka-agent check` as a user would, and the defaults the effective config is compared to."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from harness.agents import AGENT

from ekka_agent.config.cookie import fingerprint
from ekka_agent.config.load import _default
from ekka_agent.config.schema import REQUIRED, SCHEMA

CORPUS = Path(__file__).resolve().parent.parent / "data" / "emqx_configs"
PREFIX = "ekka-agent: "


def run_check(conf, env=None, *args, cwd="/") -> subprocess.CompletedProcess:
    """`ekka-agent check -c CONF ARGS`, from another directory, with only PATH and `env` set."""
    return subprocess.run([AGENT, "check", "-c", str(conf), *args], capture_output=True, text=True, cwd=cwd,
                          env=dict({"PATH": "/usr/bin:/bin"}, **(env or {})))


def effective(conf, env=None) -> tuple:
    """(effective config as flat dotted keys, stderr lines without the prefix); asserts success."""
    r = run_check(conf, env, "--effective")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    return flatten(json.loads(r.stdout)), [line[len(PREFIX):] for line in r.stderr.splitlines()]


def flatten(tree: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict) and (prefix + k) != "cluster.hooks":
            out.update(flatten(v, prefix + k + "."))
        else:
            out[prefix + k] = v
    return out


def expected(overrides: dict) -> dict:
    """The schema's defaults with `overrides` on top, every cookie shown as its fingerprint."""
    want = {k.path: _default(k) for k in SCHEMA if k.default is not REQUIRED}
    want.update(overrides)
    if "node.cookie" in want:
        want["node.cookie_fingerprint"] = fingerprint(want.pop("node.cookie"))
    if "node.cookie_previous" in want:
        want["node.cookie_previous_fingerprints"] = [fingerprint(c) for c in want.pop("node.cookie_previous")]
    return want
