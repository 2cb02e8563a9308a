"""A cluster connection the core resets (core/events.py Disconnect.abort) is reset on the wire:
what the kernel still held for the peer is dropped and the peer reads a RST, not an orderly
end after stale data. Real sockets on loopback."""
from __future__ import annotations

import asyncio

from ekka_agent.runtime.transport import Conn


async def _what_the_peer_reads(abort: bool) -> str:
    got: asyncio.Future = asyncio.get_running_loop().create_future()

    async def serve(reader, writer):
        try:
            while await reader.read(65536):
                pass
            got.set_result("end")
        except ConnectionResetError:
            got.set_result("reset")
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = Conn("peer", "cluster", True, None, writer)
    conn.send_link({"kind": "x", "pad": "y" * 100000})
    conn.close(abort)
    try:
        return await asyncio.wait_for(got, 10)
    finally:
        server.close()
        await server.wait_closed()


def test_abort_resets_and_close_ends_in_order():
    assert asyncio.run(_what_the_peer_reads(abort=True)) == "reset"
    assert asyncio.run(_what_the_peer_reads(abort=False)) == "end"
