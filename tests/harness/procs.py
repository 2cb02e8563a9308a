"""Processes a test starts: recorded by PID, logged to files, always stopped and reaped.

Each process runs in its own session, so its PID is also its process-group id. Signals go to
that group, which also reaches helpers it forked (for example `unshare --fork`), without ever
touching a process the test did not start.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Mapping, Sequence

DEFAULT_STOP_TIMEOUT = 5.0
# Every started process carries its owner's PID in this variable, so the sweeper can find
# (and only find) processes whose test run crashed before stopping them.
OWNER_ENV = "EKKA_TEST_OWNER"


class Proc:
    """One started process. `pid` is the real command's PID (`ip netns exec` execs it)."""

    def __init__(self, name: str, argv: list[str], popen: subprocess.Popen, stdout_path: Path,
                 stderr_path: Path, netns: str | None):
        self.name = name
        self.argv = argv
        self.popen = popen
        self.pid = popen.pid
        self.stdout_path = stdout_path
        self.stderr_path = stderr_path
        self.netns = netns

    def __repr__(self) -> str:
        where = f" netns={self.netns}" if self.netns else ""
        return f"<Proc {self.name} pid={self.pid}{where} rc={self.popen.returncode}>"

    def _exited(self) -> bool:
        """True once the process has exited, without reaping it.

        While it is an unreaped zombie its PID (= its process-group id) cannot be reused, so
        signalling the group stays safe until _reap() runs.
        """
        if self.popen.returncode is not None:
            return True
        try:
            return os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def _reap(self) -> int:
        if self.popen.returncode is None:
            # Helpers left in its group must not outlive the leader.
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.popen.wait()
        return self.popen.returncode

    @property
    def returncode(self) -> int | None:
        """Exit status once exited (negative = killed by that signal), else None."""
        return self._reap() if self._exited() else None

    def alive(self) -> bool:
        return not self._exited()

    def signal(self, sig: int, group: bool = True) -> None:
        """Send `sig` to the process (and by default its process group) if it still runs."""
        if self.popen.returncode is not None:
            return
        try:
            if group:
                os.killpg(self.pid, sig)
            else:
                os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def pause(self) -> None:
        """SIGSTOP: the process stays alive but stops answering (a hung node)."""
        self.signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after pause()."""
        self.signal(signal.SIGCONT)

    def kill(self) -> int:
        """SIGKILL (a crash) and reap; returns the exit status (-9)."""
        self.signal(signal.SIGKILL)
        return self._reap()

    def _wait_exit(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self._exited():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> int:
        """SIGTERM, then SIGKILL after `timeout`; always reaps. Returns the exit status."""
        if not self._exited():
            self.signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
            self.signal(signal.SIGTERM)
            if not self._wait_exit(timeout):
                self.signal(signal.SIGKILL)
        return self._reap()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the process to exit by itself; raises subprocess.TimeoutExpired."""
        if not self._wait_exit(float("inf") if timeout is None else timeout):
            raise subprocess.TimeoutExpired(self.argv, timeout)
        return self._reap()

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def output(self) -> str:
        """stdout and stderr together (for assertions on what a process printed)."""
        return self.stdout() + self.stderr()


class ProcessGroup:
    """Starts processes and stops every one of them on close (also after a failed test)."""

    def __init__(self, log_dir: Path | str):
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.procs: list[Proc] = []
        self._names: dict[str, int] = {}

    def __enter__(self) -> "ProcessGroup":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _unique(self, name: str) -> str:
        n = self._names.get(name, 0)
        self._names[name] = n + 1
        return name if n == 0 else f"{name}.{n}"

    def start(self, argv: Sequence[str], name: str | None = None, netns: str | None = None,
              env: Mapping[str, str] | None = None, extra_env: Mapping[str, str] | None = None,
              cwd: str | os.PathLike | None = None, stdin: int | None = subprocess.DEVNULL) -> Proc:
        """Start `argv` (inside `netns` via `ip netns exec` if given).

        `env` replaces the environment, `extra_env` is added to it (or to os.environ).
        stdout/stderr go to <log_dir>/<name>.out and .err.
        """
        argv = [str(a) for a in argv]
        name = self._unique(name or Path(argv[0]).name)
        full_env = dict(os.environ if env is None else env)
        if extra_env:
            full_env.update(extra_env)
        full_env[OWNER_ENV] = str(os.getpid())
        cmd = (["ip", "netns", "exec", netns] if netns else []) + argv
        out_path = self.log_dir / f"{name}.out"
        err_path = self.log_dir / f"{name}.err"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            popen = subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=err, env=full_env,
                                     cwd=cwd, start_new_session=True)
        proc = Proc(name, argv, popen, out_path, err_path, netns)
        self.procs.append(proc)
        return proc

    def stop(self, proc: Proc, timeout: float = DEFAULT_STOP_TIMEOUT) -> int:
        return proc.stop(timeout)

    def close(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        """Stop all processes: TERM to all at once, KILL whatever is left at the deadline."""
        self.stop_many(self.procs, timeout)

    @staticmethod
    def stop_many(procs: Sequence[Proc], timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        """Like Proc.stop for several processes, in parallel (one shared deadline)."""
        procs = list(procs)
        running = [p for p in procs if p.alive()]
        for p in running:
            p.signal(signal.SIGCONT)
            p.signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in running:
            p._wait_exit(max(0.0, deadline - time.monotonic()))
        for p in procs:
            p.stop(0)  # KILLs stragglers and their groups, reaps

    def __iter__(self):
        return iter(self.procs)

    def describe(self, tail_lines: int = 30) -> str:
        """Last lines of every process's logs, for failure reports."""
        parts = []
        for p in self.procs:
            parts.append(f"--- {p!r} {' '.join(p.argv)}")
            for label, path in (("stdout", p.stdout_path), ("stderr", p.stderr_path)):
                try:
                    lines = path.read_text(errors="replace").splitlines()[-tail_lines:]
                except OSError:
                    continue
                if lines:
                    parts.append(f"  [{label}] {path}")
                    parts.extend("    " + line for line in lines)
        return "\n".join(parts)


def sweep_orphans() -> list[int]:
    """SIGKILL processes a crashed test run left behind (their OWNER_ENV PID is gone)."""
    killed = []
    marker = f"{OWNER_ENV}=".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        for var in env.split(b"\0"):
            if var.startswith(marker):
                owner = int(var[len(marker):] or 0)
                if owner and not pid_alive(owner):
                    try:
                        os.kill(int(entry), signal.SIGKILL)
                        killed.append(int(entry))
                    except ProcessLookupError:
                        pass
                break
    return killed


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
