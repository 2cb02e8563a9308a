"""The control socket and ekka-ctl's exit codes."""
from __future__ import annotations

import os
import stat
import subprocess

from harness.agents import CTL


def test_socket_is_owner_and_group_only(agents):
    n1 = agents.add(agents.name(1))
    mode = stat.S_IMODE(os.stat(n1.data_dir / "ekka.sock").st_mode)
    assert mode == 0o660


def test_socket_refuses_other_users(agents):
    n1 = agents.add(agents.name(1))
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", CTL, "-c", str(n1.conf),
                        "cluster", "status"], capture_output=True, text=True)
    assert r.returncode != 0 and "Cluster status" not in r.stdout


def test_exit_codes(agents):
    n1 = agents.add(agents.name(1))
    assert n1.ctl("cluster", "status").returncode == 0
    r = n1.ctl("cluster", "frobnicate")
    assert r.returncode == 2 and "invalid choice" in r.stderr
    r = n1.ctl("cluster", "join", "not-a-node")
    assert r.returncode == 2 and "exactly one '@'" in r.stderr
    n1.stop()
    r = n1.ctl("cluster", "status")
    assert r.returncode == 1 and "not responding" in r.stderr and "Traceback" not in r.stderr


def test_second_agent_on_the_same_data_dir_or_port_is_refused(agents):
    n1 = agents.add(agents.name(1))
    r = subprocess.run([str(CTL).replace("ekka-ctl", "ekka-agent"), "run", "-c", str(n1.conf)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "another agent is running on data_dir" in r.stderr
    twin = agents.add(agents.name(1), start=False)
    twin.start(wait=False)
    assert twin.proc.wait(30) == 1
    assert "cannot listen" in twin.proc.stderr() and "4371" in twin.proc.stderr()
