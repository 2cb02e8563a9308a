#!/usr/bin/env python3
"""Wall time of playbooks/site.yml on three real hosts: the first run and the second (no-op) run.

The hosts are the same systemd-nspawn containers the real-host test boots (Debian, systemd,
sshd, nftables), each in its own network namespace; ansible-playbook runs in a namespace of its
own. Run as root from the repository: `python bench/bench_site.py`.
"""
from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "ansible")]

from collection import ansible_env, run_playbook  # noqa: E402
from harness.netns import Network  # noqa: E402
from harness.procs import ProcessGroup  # noqa: E402
from hosts.nspawn import boot, build_rootfs, make_ssh_key, shutdown  # noqa: E402
from test_real_hosts import deps_wheelhouse, write_inventory  # noqa: E402


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="ekka-bench-site-"))
    try:
        rootfs = build_rootfs()
        wheels = deps_wheelhouse()
        agent_src = work / "agent"
        shutil.copytree(REPO / "agent", agent_src,
                        ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", "tests"))
        key = make_ssh_key(work / "ssh")
        with ProcessGroup(work / "logs") as procs, Network(procs, ["node1", "node2", "node3"]) as net:
            machines = []
            try:
                machines = boot(procs, net, rootfs, key)
                inv = work / "hosts.yml"
                write_inventory(inv, machines + [None], key, wheels, work, secrets.token_hex(20), None, agent_src)
                prefix = ["ip", "netns", "exec", net.controller.ns]
                times = []
                for label in ("first run (fresh hosts)", "second run (no change)"):
                    t0 = time.monotonic()
                    r = run_playbook(["-i", inv, REPO / "playbooks" / "site.yml"], env=ansible_env(), prefix=prefix)
                    times.append(time.monotonic() - t0)
                    if r.rc != 0:
                        print(f"site.yml {label} failed:\n{r!r}", file=sys.stderr)
                        return 1
                    print(f"site.yml on 3 hosts, {label}: {times[-1]:.1f} s (changed={r.changed()})")
            finally:
                shutdown(machines)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
