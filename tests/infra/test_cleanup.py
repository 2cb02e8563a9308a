"""Cleanup guarantees, checked on a real inner pytest run: after a failing test and a timed-out
test nothing of it is left; after the run is SIGKILLed the sweeper removes what it left."""
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from harness import netns as netns_mod
from harness.procs import OWNER_ENV, pid_alive
from harness.wait import wait_until

TESTS_DIR = Path(__file__).resolve().parents[1]

INNER = textwrap.dedent('''
    import time
    from pathlib import Path

    def _setup(netns, etcd_server, dnsmasq):
        net = netns(2)
        net[0].start(["sleep", "300"])
        net.partition([net[0]], [net[1]])
        dnsmasq(a={"x.test": ["10.0.0.1"]})
        return net

    def test_fails(netns, etcd_server, dnsmasq):
        _setup(netns, etcd_server, dnsmasq)
        assert False, "inner failure"

    def test_times_out(netns, etcd_server, dnsmasq):
        _setup(netns, etcd_server, dnsmasq)
        time.sleep(60)

    def test_crashes(netns, etcd_server, dnsmasq, tmp_path):
        _setup(netns, etcd_server, dnsmasq)
        Path("{ready}").write_text("ready")
        time.sleep(60)
''')


def _inner(tmp_path: Path, select: str) -> subprocess.Popen:
    ready = tmp_path / "ready"
    (tmp_path / "test_inner.py").write_text(INNER.replace("{ready}", str(ready)))
    env = dict(os.environ, PYTHONPATH=str(TESTS_DIR))
    # tests/conftest.py as a plugin gives the inner run the same fixtures.
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-c", "/dev/null", "-q", "-p",
         "no:cacheprovider", "--timeout", "5", "--basetemp", str(tmp_path / "base"),
         f"{tmp_path / 'test_inner.py'}::{select}"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _leftovers(pid: int) -> list[str]:
    tag = f"ekt{netns_mod._b36(pid, 5)}"
    found = [n for n in netns_mod._netns_names() + netns_mod._link_names() if n.startswith(tag)]
    marker = f"{OWNER_ENV}={pid}".encode()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            env = open(f"/proc/{entry}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        if marker in env:
            state = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[0]
            if state != "Z":
                found.append(f"process {entry}")
    return found


def test_failed_and_timed_out_tests_leave_nothing(tmp_path):
    for select, expect in (("test_fails", "inner failure"), ("test_times_out", "Timeout")):
        (tmp_path / select).mkdir()
        p = _inner(tmp_path / select, select)
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 1, out
        assert expect in out, out
        assert "etcd-etcd1" in out, "process logs are printed for a failed test:\n" + out
        assert _leftovers(p.pid) == []


def test_sweeper_cleans_up_after_a_killed_run(tmp_path):
    p = _inner(tmp_path, "test_crashes")
    try:
        wait_until(lambda: (tmp_path / "ready").exists() or p.poll() is not None, 30,
                   message="inner run set up")
        assert p.poll() is None, p.communicate()[0]
        assert _leftovers(p.pid)  # namespaces, bridge and processes exist
        p.send_signal(signal.SIGKILL)
        p.wait()
        assert not pid_alive(p.pid)
        netns_mod.sweep_leftovers()
        wait_until(lambda: _leftovers(p.pid) == [], 10, message="leftovers swept")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
