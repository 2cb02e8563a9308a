"""TLS connections read in small pieces (runtime/tls.py TLS_READ_SIZE: asyncio keeps its read
buffer for each connection's whole life), and a message many times that size still arrives whole."""
from __future__ import annotations

import asyncio

from ekka_agent.runtime import tls


def _cfg(f, ca) -> dict:
    return {"cluster.proto_dist": "inet_tls", "cluster.ssl.verify": "verify_peer",
            "cluster.ssl.cacertfile": str(ca), "cluster.ssl.certfile": str(f.cert), "cluster.ssl.keyfile": str(f.key)}


def test_a_large_message_crosses_a_tls_link_read_in_small_pieces(certs):
    server_ctx, client_ctx = tls.contexts(_cfg(certs.server, certs.ca_pem))
    payload = bytes(range(256)) * 4096          # 1 MiB, 64 times the read size

    async def main():
        got = asyncio.get_running_loop().create_future()

        async def serve(reader, writer):
            got.set_result(await reader.readexactly(len(payload)))
            writer.close()

        srv = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
        port = srv.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx)
        buffer = writer.transport._ssl_protocol._ssl_buffer     # what this connection holds
        writer.write(payload)
        await writer.drain()
        data = await asyncio.wait_for(got, 30)
        writer.close()
        srv.close()
        await srv.wait_closed()
        return data, len(buffer)

    data, held = asyncio.run(main())
    assert data == payload
    assert held == tls.TLS_READ_SIZE
