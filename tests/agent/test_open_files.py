"""Open files on real agents: the agent raises its soft limit to the hard one at start, status
shows what it uses and needs, and a limit below what the members need is an alarm that
`ekka-ctl cluster health --no-alarms` fails on (systemd's default soft limit of 1024 runs out
near 330 members)."""
from __future__ import annotations

from harness.agents import AGENT


def _limits_of(pid: int) -> tuple:
    for line in open("/proc/%d/limits" % pid):
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no open files line in /proc/%d/limits" % pid)


def test_the_soft_limit_is_raised_and_a_short_hard_limit_is_an_alarm(agents):
    roomy = agents.add(agents.name(1), start=False)
    roomy.agent_argv = ["prlimit", "--nofile=40:8192", AGENT]    # a soft limit far below the hard
    tight = agents.add(agents.name(2), start=False)
    tight.agent_argv = ["prlimit", "--nofile=48:48", AGENT]      # enough to run, not for members
    roomy.start()
    tight.start()
    assert tight.ctl("cluster", "join", roomy.name).returncode == 0
    agents.wait_running([roomy, tight], [roomy, tight])

    assert _limits_of(roomy.proc.pid) == (8192, 8192)
    st = roomy.status()
    assert st["open_files"]["limit"] == 8192 and 0 < st["open_files"]["used"] < 8192
    assert st["open_files"]["needed"] == 3 + 64
    assert not [a for a in st["alarms"] if a["name"] == "open_files_limit"]
    assert roomy.ctl("cluster", "health", "--no-alarms").returncode == 0

    st = tight.status()
    assert st["open_files"]["limit"] == 48
    alarm, = [a for a in st["alarms"] if a["name"] == "open_files_limit"]
    assert alarm["limit"] == 48 and alarm["needed"] == 67
    r = tight.ctl("cluster", "health", "--no-alarms")
    assert r.returncode == 1
    assert r.stdout.strip() == ("no_alarms: open_files_limit: the open files limit is 48; 2 members need about 67 "
                                "(LimitNOFILE= in the agent's systemd unit, or ulimit -n)")
