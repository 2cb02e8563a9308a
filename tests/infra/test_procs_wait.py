"""ProcessGroup and wait_until: start, signal, stop by PID, logs, and clear timeouts."""
import os
import signal
import subprocess
import sys

import pytest

from harness.procs import OWNER_ENV, ProcessGroup, sweep_orphans
from harness.wait import wait_until


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_logs_and_exit_status(procs):
    p = procs.start([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"],
                    name="printer")
    assert p.wait(10) == 3
    assert p.stdout() == "out\n" and p.stderr() == "err\n"
    assert p.stdout_path.parent == procs.log_dir


def test_pause_resume_kill(procs):
    p = procs.start(["sleep", "60"])
    wait_until(lambda: _state(p.pid) in "SR", 5, message="sleep running")
    p.pause()
    wait_until(lambda: _state(p.pid) == "T", 5, message="sleep stopped by SIGSTOP")
    p.resume()
    wait_until(lambda: _state(p.pid) != "T", 5, message="sleep continued by SIGCONT")
    assert p.kill() == -signal.SIGKILL
    assert not p.alive()


def test_stop_escalates_and_close_kills_children(tmp_path):
    group = ProcessGroup(tmp_path / "logs")
    # Ignores SIGTERM, so stop() must fall back to SIGKILL after its deadline.
    stubborn = group.start([sys.executable, "-c",
                            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                            "print('ready', flush=True); time.sleep(60)"], name="stubborn")
    wait_until(lambda: "ready" in stubborn.stdout(), 10, message="stubborn started")
    assert stubborn.stop(timeout=0.5) == -signal.SIGKILL
    # A forked child in the same process group goes away with its parent on close().
    parent = group.start(["sh", "-c", "sleep 60 & echo $! ; wait"], name="parent")
    child = int(wait_until(lambda: parent.stdout().strip(), 10, message="child pid printed"))
    group.close()
    assert not parent.alive()

    def child_dead() -> bool:
        try:
            return _state(child) == "Z"  # killed, waiting for init to reap it
        except FileNotFoundError:
            return True
    wait_until(child_dead, 5, message=f"forked child {child} killed")


def test_wait_until_reports_last_value_and_exception():
    assert wait_until(lambda: 42, 1) == 42
    with pytest.raises(AssertionError, match=r"the answer .*last value: 0"):
        wait_until(lambda: 0, 0.1, 0.01, "the answer")
    def boom():
        raise ConnectionRefusedError("nope")
    with pytest.raises(AssertionError, match=r"server up .*ConnectionRefusedError: nope"):
        wait_until(boom, 0.1, 0.01, "server up")


def test_sweep_orphans_kills_only_processes_of_dead_owners(procs):
    dead_owner = procs.start(["true"])
    dead_owner.wait(10)
    mine = procs.start(["sleep", "60"])
    # Stands in for a process a crashed run left behind.
    orphan = subprocess.Popen(["sleep", "60"], env=dict(os.environ, **{OWNER_ENV: str(dead_owner.pid)}))
    try:
        wait_until(lambda: OWNER_ENV.encode() in open(f"/proc/{orphan.pid}/environ", "rb").read(),
                   5, message="orphan exec'd")
        killed = sweep_orphans()
        assert orphan.wait(5) == -signal.SIGKILL
        assert orphan.pid in killed
        assert mine.alive()
    finally:
        orphan.kill()
        orphan.wait()
