"""A cluster connection the core resets (core/events.py Disconnect.abort) is reset on the wire:
what the kernel still held for the peer is dropped and the peer reads a RST, not an orderly
end after stale data. Real sockets on loopback."""
from __future__ import annotations

import asyncio

from ekka_agent.core import events as ev
from ekka_agent.core.messages import Heartbeat
from ekka_agent.runtime.transport import Conn, TcpTransport


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


# ---------------------------------------------------------------- a link replaced while it closes

A, B = "a@127.0.0.1", "b@127.0.0.1"


async def _until(cond, what: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "timed out waiting for " + what
        await asyncio.sleep(0.005)


async def _replaced_while_closing() -> dict:
    """Two real transports on loopback, b's core a step behind its transport: a reset the old
    link and b's transport read it, but b's core, which has not read that close yet, asks for
    its old link to be reset in favour of the fresh one (both ends were replacing it)."""
    events = {A: [], B: []}
    ports = {}

    async def resolve(peer, channel):
        return "127.0.0.1", ports[peer]

    ts = {n: TcpTransport(n, "cookie", "c", resolve, events[n].append, rpc_max_frame=1 << 20, connect_timeout=5)
          for n in (A, B)}
    try:
        for n, t in ts.items():
            await t.listen("127.0.0.1", 0, 0)
            ports[n] = t.servers[0].sockets[0].getsockname()[1]
        ups = lambda n: [e for e in events[n] if isinstance(e, ev.ConnectionUp)]  # noqa: E731
        for k in (1, 2):         # the old link, then the fresh one; b dials both
            ts[B].connect(A)
            await _until(lambda: len(ups(A)) == k and len(ups(B)) == k, "link %d" % k)
        ts[A].disconnect(B, links=(ups(A)[0].link,), abort=True)
        downs = lambda n: [e for e in events[n] if isinstance(e, ev.ConnectionDown)]  # noqa: E731
        await _until(lambda: downs(B), "b to read the reset")
        ts[B].disconnect(A, links=(ups(B)[0].link,), abort=True)     # the old one, closed already
        ts[B].send(A, Heartbeat("c", 0, first=False, swim=True, ranges=True), "cluster")
        await _until(lambda: any(isinstance(e, ev.Received) for e in events[A]), "a message over the fresh link")
        return {"b_down": downs(B), "a_down": downs(A), "b_old": ups(B)[0].link,
                "b_links": len(ts[B].cluster_conns.get(A, [])),
                "a_links": len(ts[A].cluster_conns.get(B, []))}
    finally:
        for t in ts.values():
            await t.close()


def test_a_link_replaced_while_it_closes_leaves_the_fresh_one_open():
    got = asyncio.run(_replaced_while_closing())
    assert [(d.reason.startswith("[Errno 104]"), d.link) for d in got["b_down"]] == [(True, got["b_old"])]
    assert got["a_down"] == [] and got["b_links"] == got["a_links"] == 1
