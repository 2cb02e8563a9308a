"""The local control socket: one JSON request per line, one JSON reply per line.

Only the agent's user and group can open it (mode from node.control_socket_mode); ekka-ctl
and the Ansible modules speak to it through control_client.py.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os

log = logging.getLogger("ekka.control")
MAX_LINE = 1024 * 1024


class ControlServer:
    def __init__(self, path: str, mode: int, agent):
        self.path, self.mode, self.agent = path, mode, agent
        self.server = None

    async def start(self) -> None:
        if os.path.exists(self.path):
            os.unlink(self.path)   # stale: we hold the data_dir lock, so no live agent owns it
        old = os.umask(0o077)
        try:
            self.server = await asyncio.start_unix_server(self._client, self.path, limit=MAX_LINE)
        finally:
            os.umask(old)
        os.chmod(self.path, self.mode)

    async def close(self) -> None:
        if self.server:
            self.server.close()
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    async def _client(self, reader, writer) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                try:
                    req = json.loads(line)
                    cmd, args = req["cmd"], req.get("args") or {}
                    if not isinstance(cmd, str) or not isinstance(args, dict):
                        raise ValueError
                except (ValueError, KeyError, TypeError):
                    await self._write(writer, {"ok": False, "error": "bad_request",
                                               "message": 'expected {"cmd": NAME, "args": {...}}'})
                    continue
                if cmd == "events":
                    await self._stream_events(writer)
                    break
                reply = await self.agent.command(cmd, args)
                await self._write(writer, reply)
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()

    async def _stream_events(self, writer) -> None:
        q = self.agent.subscribe()
        try:
            # The reply says the subscription is in place: from here on no event is missed.
            await self._write(writer, {"ok": True, "result": "subscribed"})
            while True:
                await self._write(writer, await q.get())
        finally:
            self.agent.unsubscribe(q)

    @staticmethod
    async def _write(writer, obj) -> None:
        writer.write((json.dumps(obj) + "\n").encode())
        await writer.drain()
