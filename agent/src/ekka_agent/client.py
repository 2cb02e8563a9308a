"""Python client for the agent's lock service, over the local control socket.

    from ekka_agent.client import Lock

    with Lock("/etc/ekka/ekka.conf", "billing-job", strategy="quorum", lease=15, wait=5) as token:
        ...   # token: the fencing token; pass it to whatever the lock guards

The lock is renewed in a background thread (every lease/3) while the block runs and released
when it ends. If a renewal fails, `lock.lost` is set and `on_lost(lock)` is called: from then
on the lease may run out and someone else may get the lock. `lock.valid()` tells whether the
lease is still surely ours (the time of the last good acquire or renewal, plus the lease).

LockClient gives the single calls: acquire / renew / release / list.
"""
from __future__ import annotations

import os
import random
import secrets
import socket
import stat
import threading
import time

from .control_client import AgentUnreachable, ControlClient, ControlError, socket_path

__all__ = ["Lock", "LockClient", "LockError", "NotAcquired", "AgentUnreachable"]

# Errors worth another try while the caller is willing to wait.
RETRYABLE = frozenset({"locked", "no_quorum", "view_mismatch", "timeout", "lost", "node_down",
                       "etcd_unavailable", "not_member", "recovering", "draining", "not_leader"})


class LockError(Exception):
    """The agent refused or failed a lock call; .error is its short reason (e.g. locked)."""

    def __init__(self, error: str, message: str = "", reply: dict | None = None):
        self.error, self.reply = error, reply or {}
        super().__init__("%s: %s" % (error, message) if message else error)


class NotAcquired(LockError):
    """acquire() gave up: the lock is held elsewhere or not enough voters answered in time."""


def default_owner() -> str:
    return "py-%s-%d-%s" % (socket.gethostname(), os.getpid(), secrets.token_hex(4))


def resolve_socket(target) -> str:
    """A config file, a data_dir, the control socket itself, or a loaded Config."""
    if isinstance(target, ControlClient):
        return target.path
    if hasattr(target, "__getitem__") and not isinstance(target, (str, bytes, os.PathLike)):
        return socket_path(target["node.data_dir"])
    path = os.fspath(target)
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = 0
    if stat.S_ISSOCK(mode):
        return path
    if stat.S_ISDIR(mode):
        return socket_path(path)
    from .config import load_config
    return socket_path(load_config(path)["node.data_dir"])


class LockClient:
    def __init__(self, target, owner: str | None = None, timeout: float = 30.0):
        self.control = ControlClient(resolve_socket(target), timeout=timeout)
        self.owner = owner or default_owner()

    def _call(self, cmd: str, **args):
        args = {k: v for k, v in args.items() if v is not None}
        try:
            return self.control.call(cmd, **args)
        except ControlError as e:
            raise LockError(e.error, e.reply.get("message") or "", e.reply) from None

    def acquire(self, resource: str, strategy: str | None = None, lease: float | None = None,
                wait: float = 0.0, owner: str | None = None) -> dict:
        """Take the lock, retrying for up to `wait` seconds. Returns {token, strategy, lease,
        nodes, acquired_at, valid_until} (times on time.monotonic()); raises NotAcquired."""
        deadline = time.monotonic() + (wait or 0.0)
        pause = 0.02
        while True:
            t0 = time.monotonic()
            try:
                r = self._call("lock_acquire", resource=resource, owner=owner or self.owner,
                               strategy=strategy, lease=lease)
            except LockError as e:
                if e.error not in RETRYABLE or time.monotonic() + pause > deadline:
                    raise NotAcquired(e.error, str(e).split(": ", 1)[-1], e.reply) from None
                time.sleep(pause * (0.5 + random.random()))
                pause = min(0.5, pause * 2)
                continue
            r["acquired_at"] = time.monotonic()
            r["valid_until"] = t0 + r["lease"]   # counted from before we asked: on the safe side
            return r

    def renew(self, resource: str, strategy: str | None = None, lease: float | None = None,
              owner: str | None = None) -> dict:
        t0 = time.monotonic()
        r = self._call("lock_renew", resource=resource, owner=owner or self.owner, strategy=strategy, lease=lease)
        r["valid_until"] = t0 + r["lease"]
        return r

    def release(self, resource: str, strategy: str | None = None, owner: str | None = None) -> bool:
        """True when some node (or etcd) held the lock for this owner and freed it."""
        return bool(self._call("lock_release", resource=resource, owner=owner or self.owner,
                               strategy=strategy)["released"])

    def list(self) -> list:
        return self._call("lock_list")["locks"]


class Lock:
    """A held lock as a context manager; see the module docstring."""

    def __init__(self, target, resource: str, strategy: str | None = None, lease: float | None = None,
                 wait: float = 0.0, owner: str | None = None, renew: bool = True, on_lost=None):
        self.client = target if isinstance(target, LockClient) else LockClient(target, owner)
        self.owner = owner or self.client.owner
        self.resource, self.strategy, self.lease, self.wait = resource, strategy, lease, wait
        self.renew_enabled, self.on_lost = renew, on_lost
        self.token = None
        self.grant: dict | None = None
        self.valid_until = 0.0
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = None

    def valid(self) -> bool:
        return self.grant is not None and not self.lost.is_set() and time.monotonic() < self.valid_until

    def acquire(self):
        self.grant = self.client.acquire(self.resource, self.strategy, self.lease, self.wait, self.owner)
        self.token, self.valid_until = self.grant["token"], self.grant["valid_until"]
        self.strategy = self.grant["strategy"]
        self.lease = self.grant["lease"]
        if self.renew_enabled:
            self._stop.clear()
            self._thread = threading.Thread(target=self._renew_loop, name="lock-renew:%s" % self.resource,
                                            daemon=True)
            self._thread.start()
        return self.token

    def release(self) -> bool:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.grant is None:
            return False
        self.grant = None
        try:
            return self.client.release(self.resource, self.strategy, self.owner)
        except (LockError, AgentUnreachable):
            return False   # the lease frees it

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def _renew_loop(self) -> None:
        every = self.lease / 3
        while not self._stop.wait(every):
            try:
                r = self.client.renew(self.resource, self.strategy, self.lease, self.owner)
                self.valid_until = r["valid_until"]
                every = self.lease / 3
                continue
            except LockError as e:
                if e.error == "lost":
                    return self._lose()
            except (AgentUnreachable, OSError, ValueError):
                pass
            if time.monotonic() >= self.valid_until:
                return self._lose()
            every = min(every, 0.2)   # transient trouble: try again soon

    def _lose(self) -> None:
        self.lost.set()
        if self.on_lost is not None:
            self.on_lost(self)
