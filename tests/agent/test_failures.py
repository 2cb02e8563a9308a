"""Crashes, restarts and silent peers: detection and recovery with real processes."""
from __future__ import annotations

from harness.wait import wait_until


def _three(agents):
    n1, n2, n3 = (agents.add(agents.name(i)) for i in (1, 2, 3))
    for n in (n2, n3):
        assert n.ctl("cluster", "join", n1.name).returncode == 0
    agents.wait_running([n1, n2, n3], [n1, n2, n3])
    return n1, n2, n3


def test_kill_9_then_restart_comes_back_with_its_data(agents):
    n1, n2, n3 = _three(agents)
    assert n1.ctl("kv", "put", "colour", "blue").returncode == 0
    wait_until(lambda: n3.ctl("kv", "get", "colour").stdout.strip() == "blue", 5, message="the write on n3")
    n3.kill()
    wait_until(lambda: n1.status()["stopped_nodes"] == [n3.name], 5, message="a reset connection to mark n3 down")
    assert n2.ctl("kv", "put", "shape", "round").returncode == 0   # written while n3 is away
    n3.start()
    agents.wait_running([n1, n2, n3], [n1, n2, n3])
    assert n3.ctl("kv", "get", "colour").stdout.strip() == "blue"
    wait_until(lambda: n3.ctl("kv", "get", "shape").stdout.strip() == "round", 10,
               message="n3 to catch up on the write it missed")


def test_sigstop_marks_down_then_sigcont_marks_up(agents):
    n1, n2, n3 = _three(agents)
    n2.pause()
    wait_until(lambda: n1.status()["stopped_nodes"] == [n2.name] and n3.status()["stopped_nodes"] == [n2.name],
               15, message="the silent node to be marked down")
    n2.resume()
    agents.wait_running([n1, n2, n3], [n1, n2, n3])


def test_sigterm_stops_cleanly_and_restart_keeps_membership(agents):
    n1, n2, n3 = _three(agents)
    assert n2.stop() == 0
    wait_until(lambda: n1.status()["stopped_nodes"] == [n2.name], 5, message="n2 down after SIGTERM")
    n2.start()
    agents.wait_running([n1, n2, n3], [n1, n2, n3])


def test_whole_cluster_restart(agents):
    n1, n2, n3 = _three(agents)
    assert n1.ctl("kv", "put", "k", "v").returncode == 0
    for n in (n1, n2, n3):
        n.kill()
    for n in (n3, n2, n1):
        n.start()
    agents.wait_running([n1, n2, n3], [n1, n2, n3])
    assert all(n.ctl("kv", "get", "k").stdout.strip() == "v" for n in (n1, n2, n3))
