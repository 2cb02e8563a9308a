"""The agent's `requires-python` is true: its code needs no newer Python than it declares.

The collection's preflight reads that declaration to refuse a host whose Python is too old
(roles/agent/tasks/preflight.yml), so a code change that needs a newer Python must raise it:
otherwise that host passes the preflight and the agent fails at start with a traceback. The
declaration said 3.9 while the wire messages used dataclass slots and kw_only fields (3.10).
vermin finds the newest feature the code uses, standard library included.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

AGENT = Path(__file__).resolve().parents[2] / "agent"


def declared_floor() -> str:
    m = re.search(r'requires-python\s*=\s*"\s*>=\s*([0-9.]+)"', (AGENT / "pyproject.toml").read_text())
    assert m, "agent/pyproject.toml declares no requires-python >= X"
    return m.group(1)


def test_the_agent_needs_no_newer_python_than_it_declares():
    floor = declared_floor()
    vermin = Path(sys.executable).parent / "vermin"
    r = subprocess.run([str(vermin), "--no-tips", "--violations", "-t=%s-" % floor, str(AGENT / "src" / "ekka_agent")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, "the agent's code needs a newer Python than requires-python >= %s:\n%s" % (
        floor, r.stdout[-3000:])
