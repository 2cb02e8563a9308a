"""Epmd mode: register this node with the Erlang port mapper on 4369 (the real protocol, so
Debian's `epmd -names` lists it) and ask peers' mappers for their ports.

The registration lives as long as its TCP connection, as it does for an Erlang node.
"""
from __future__ import annotations

import asyncio
import struct

from ..naming import EPMD_PORT

ALIVE2_REQ, ALIVE2_RESP, ALIVE2_X_RESP = 120, 121, 118
PORT_PLEASE2_REQ, PORT2_RESP = 122, 119
NODE_TYPE_NORMAL, PROTO_TCP = 77, 0


class EpmdError(Exception):
    pass


def _req(body: bytes) -> bytes:
    return struct.pack(">H", len(body)) + body


async def register(name: str, port: int, host: str = "127.0.0.1"):
    """Register; returns the writer whose connection holds the registration open."""
    try:
        reader, writer = await asyncio.open_connection(host, EPMD_PORT)
    except OSError:
        import shutil   # here: it loads bz2 and lzma, and only a node starting epmd needs it
        if not shutil.which("epmd"):
            raise EpmdError("epmd mode needs a port mapper on %s:%d and none answers; install epmd "
                            "(Debian: erlang-base) or start one" % (host, EPMD_PORT)) from None
        # As `erl` does: start the system's epmd daemon when none runs.
        proc = await asyncio.create_subprocess_exec("epmd", "-daemon")
        await proc.wait()
        for _ in range(50):
            try:
                reader, writer = await asyncio.open_connection(host, EPMD_PORT)
                break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            raise EpmdError("started epmd but nothing answers on %s:%d" % (host, EPMD_PORT)) from None
    n = name.encode()
    writer.write(_req(struct.pack(">BHBBHHH", ALIVE2_REQ, port, NODE_TYPE_NORMAL, PROTO_TCP, 6, 5, len(n))
                      + n + struct.pack(">H", 0)))
    await writer.drain()
    head = await reader.readexactly(2)
    if head[0] not in (ALIVE2_RESP, ALIVE2_X_RESP) or head[1] != 0:
        writer.close()
        raise EpmdError("epmd refused to register %r (is a node of that name already running?)" % name)
    await reader.readexactly(4 if head[0] == ALIVE2_X_RESP else 2)
    return writer


async def port_please(name: str, host: str, timeout: float = 2.0) -> int:
    async def ask():
        reader, writer = await asyncio.open_connection(host, EPMD_PORT)
        try:
            writer.write(_req(bytes([PORT_PLEASE2_REQ]) + name.encode()))
            await writer.drain()
            head = await reader.readexactly(2)
            if head[0] != PORT2_RESP or head[1] != 0:
                raise EpmdError("epmd on %s does not know %r" % (host, name))
            return struct.unpack(">H", await reader.readexactly(2))[0]
        finally:
            writer.close()
    return await asyncio.wait_for(ask(), timeout)
