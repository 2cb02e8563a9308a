"""Hook commands per membership/partition event, like Serf's event handlers (cluster.hooks).

Each matching hook runs with EKKA_EVENT, EKKA_NODE, EKKA_CLUSTER and EKKA_SELF set and the
event as JSON on stdin; it is killed (its whole process group) after its timeout, and its exit
status is logged. Events are handled one at a time in order, so hooks see them as they happened.
"""
from __future__ import annotations

import asyncio
import fnmatch
import json
import logging
import os
import signal

from .conflicts import ConflictLog
from .extras import Extra

log = logging.getLogger("ekka.hooks")
QUEUE_MAX = 1000


def extras(agent) -> list:
    out = [ConflictLog(agent)]
    if agent.cfg.get("cluster.hooks"):
        out.append(HookRunner(agent, agent.cfg["cluster.hooks"]))
    return out


class HookRunner(Extra):
    def __init__(self, agent, hooks: list):
        self.agent = agent
        self.hooks = hooks
        self.queue: asyncio.Queue = asyncio.Queue(QUEUE_MAX)
        self.task = None
        self.proc = None

    async def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._worker())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
        self._kill()

    def on_emit(self, event: dict) -> None:
        hooks = [h for h in self.hooks if fnmatch.fnmatchcase(event.get("event", ""), h["event"])]
        if not hooks:
            return
        try:
            self.queue.put_nowait((event, hooks))
        except asyncio.QueueFull:
            log.warning("hooks: %d events waiting; dropped %s for %s", QUEUE_MAX, event.get("event"), event.get("node"))

    async def _worker(self) -> None:
        while True:
            event, hooks = await self.queue.get()
            for h in hooks:
                await self._run(h, event)

    async def _run(self, h: dict, event: dict) -> None:
        env = dict(os.environ, EKKA_EVENT=str(event.get("event", "")), EKKA_NODE=str(event.get("node", "")),
                   EKKA_CLUSTER=str(event.get("cluster", "")), EKKA_SELF=self.agent.name)
        cmd = h["command"]
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, env=env, start_new_session=True)
        except OSError as e:
            log.error("hook %s for %s could not start: %s", cmd[0], event.get("event"), e.strerror or e)
            return
        try:
            out, _ = await asyncio.wait_for(self.proc.communicate(json.dumps(event).encode() + b"\n"),
                                            h["timeout_ms"] / 1000)
        except asyncio.TimeoutError:
            self._kill()
            await self.proc.wait()
            log.warning("hook %s for %s %s: killed after its timeout of %dms", cmd[0], event.get("event"),
                        event.get("node"), h["timeout_ms"])
            return
        finally:
            if self.proc.returncode is None:
                self._kill()
        rc = self.proc.returncode
        tail = out.decode(errors="replace").strip().splitlines()[-1:] if out else []
        (log.info if rc == 0 else log.warning)("hook %s for %s %s exited %d%s", cmd[0], event.get("event"),
                                               event.get("node"), rc, (": " + tail[0][:200]) if tail else "")
        self.proc = None

    def _kill(self) -> None:
        p = self.proc
        if p is not None and p.returncode is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
