#!/usr/bin/env python3
"""Wall time of playbooks/site.yml on three real hosts: the first run and the second (no-op) run,
then one cookie rotation and its no-op re-run.

The hosts are the fleet the real-host tests boot (tests/ansible/fleet.py: systemd-nspawn
containers, Debian 12 and a Debian 13 one, each in its own network namespace, TLS between the
nodes); ansible-playbook runs in a namespace of its own. Run as root from the repository:
`python bench/bench_site.py`.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "ansible")]

from fleet import CORE, Fleet  # noqa: E402


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="ekka-bench-site-"))
    hosts = {n: {} for n in CORE}
    try:
        with Fleet(work) as fleet:
            steps = [("site.yml", "first run (fresh hosts)"), ("site.yml", "second run (no change)"),
                     ("rotate_cookie.yml", "cookie rotation (3 passes)"), ("rotate_cookie.yml", "rotation re-run")]
            for playbook, label in steps:
                if label.startswith("cookie rotation"):
                    fleet.cookie = "r" * 8 + fleet.cookie[8:][::-1]
                t0 = time.monotonic()
                r = fleet.play(playbook, hosts)
                took = time.monotonic() - t0
                if r.rc != 0:
                    print(f"{playbook} {label} failed:\n{r!r}", file=sys.stderr)
                    return 1
                print(f"{playbook} on 3 hosts, {label}: {took:.1f} s (changed={r.changed()})")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
