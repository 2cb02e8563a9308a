"""Client for the agent's local control socket: one JSON object per line each way.

Shared by ekka-ctl and the Ansible modules (plugins/module_utils/_control_client.py is a
symlink to this file), so it uses only the standard library and stays valid on Python 3.8.
"""
from __future__ import annotations

import json
import os
import socket

SOCKET_NAME = "ekka.sock"


class ControlError(Exception):
    """The agent answered with an error; .reply holds the whole reply."""

    def __init__(self, reply):
        self.reply = reply
        self.error = reply.get("error", "error")
        super().__init__(reply.get("message") or self.error)


class AgentUnreachable(Exception):
    """No agent answers on the control socket."""


def socket_path(data_dir: str) -> str:
    return os.path.join(data_dir, SOCKET_NAME)


class ControlClient:
    def __init__(self, path: str, timeout: float = 30.0):
        self.path = path
        self.timeout = timeout

    def _connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.path)
        except OSError as e:
            s.close()
            raise AgentUnreachable("no agent on %s: %s" % (self.path, e.strerror or e))
        return s

    def call_raw(self, cmd: str, **args) -> dict:
        """Send one request and return the reply object, whether ok or not."""
        s = self._connect()
        try:
            s.sendall((json.dumps({"cmd": cmd, "args": args}) + "\n").encode())
            f = s.makefile("rb")
            line = f.readline()
        except socket.timeout:
            raise AgentUnreachable("the agent on %s did not answer %r in %ss" % (self.path, cmd, self.timeout))
        finally:
            s.close()
        if not line:
            raise AgentUnreachable("the agent on %s closed the connection" % self.path)
        return json.loads(line.decode())

    def call(self, cmd: str, **args):
        """Send one request; return its result or raise ControlError."""
        reply = self.call_raw(cmd, **args)
        if not reply.get("ok"):
            raise ControlError(reply)
        return reply.get("result")

    def stream(self, cmd: str, ready=None, **args):
        """Yield each JSON object the agent sends after its reply, until it closes (for `events`).

        `ready()` is called once the agent's reply says the stream is in place.
        """
        s = self._connect()
        s.settimeout(None)
        try:
            s.sendall((json.dumps({"cmd": cmd, "args": args}) + "\n").encode())
            lines = s.makefile("rb")
            reply = json.loads(lines.readline().decode() or "{}")
            if not reply.get("ok"):
                raise ControlError(reply)
            if ready:
                ready()
            for line in lines:
                yield json.loads(line.decode())
        finally:
            s.close()
