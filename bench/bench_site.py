#!/usr/bin/env python3
"""Wall time of the collection's playbooks on three real hosts, each step printed with its
`changed` count: site.yml's first run (fresh hosts, agent built and installed), its second run
(must change nothing: the tests check this in check mode only), the same in check mode, a
restart-gated rolling restart (one setting changed: each host asked `health --safe-to-stop`,
restarted, waited for with `health --expect 3`), then one cookie rotation (three passes, reloads
only) and its re-run (pass 3 only, must change nothing).

The hosts are the fleet the real-host tests boot (tests/ansible/fleet.py: systemd-nspawn
containers, node1 and node2 Debian 12, node3 Debian 13, each in its own network namespace, TLS
between the nodes); ansible-playbook runs in a namespace of its own. Run as root from the
repository: `python bench/bench_site.py` (no --quick: every step runs once either way).
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
            steps = [("site.yml", "first run (fresh hosts)", ()), ("site.yml", "second run (no change)", ()),
                     ("site.yml", "check mode (no change)", ("--check", "--diff")),
                     ("site.yml", "rolling restart (one setting changed)", ()),
                     ("rotate_cookie.yml", "cookie rotation (3 passes)", ()),
                     ("rotate_cookie.yml", "rotation re-run (pass 3 only)", ())]
            for playbook, label, args in steps:
                if label.startswith("rolling restart"):
                    fleet.base_vars["ekka_failure_timeout"] = "1600ms"
                if label.startswith("cookie rotation"):
                    fleet.cookie = "r" * 8 + fleet.cookie[8:][::-1]
                t0 = time.monotonic()
                r = fleet.play(playbook, hosts, *args)
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
