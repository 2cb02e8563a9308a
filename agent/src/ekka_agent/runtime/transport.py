"""TCP/TLS between agents: the cluster port (heartbeats, membership) and the RPC port (bulk:
data copies, replicated writes, lock calls), so a large copy never delays a heartbeat.

Shaped like memberlist's Transport: the core says connect / send / disconnect, and hears
ConnectionUp / ConnectionDown / ConnectFailed / Received. Every connection is authenticated
by the cookie handshake first; anything that fails it is logged with its address and closed.
"""
from __future__ import annotations

import asyncio
import logging
import ssl

from ..core import events as ev
from ..core.handshake import Acceptor, Dialer, HandshakeError
from ..core.wire import CLUSTER_MAX_FRAME, FrameError, encode
from .framed import Closed, FramedReader, write_frame
from .proofs import Proofs

log = logging.getLogger("ekka.transport")
HANDSHAKE_MAX_FRAME = 4096
_NET_ERRORS = (OSError, asyncio.TimeoutError, Closed, FrameError, ssl.SSLError, asyncio.IncompleteReadError)


class Conn:
    def __init__(self, peer: str, channel: str, outbound: bool, fr: FramedReader, writer, hs=None):
        self.peer, self.channel, self.outbound = peer, channel, outbound
        self.fr, self.writer = fr, writer
        self.hs = hs              # the finished Acceptor/Dialer: what the peer proved and announced
        self.closed_here = False
        self.q: asyncio.Queue = asyncio.Queue()
        self.task = None

    def send(self, msg: dict) -> None:
        self.q.put_nowait(encode(msg))

    async def write_loop(self) -> None:
        try:
            while True:
                data = await self.q.get()
                if data is None:
                    break
                self.writer.write(data)
                await self.writer.drain()
        except _NET_ERRORS:
            pass
        finally:
            self.writer.close()

    def close(self) -> None:
        self.closed_here = True
        self.q.put_nowait(None)


class Transport:
    def __init__(self, me: str, cookie: str, cluster: str, resolve, on_event, *, rpc_max_frame: int,
                 connect_timeout: float, tls=(None, None)):
        self.me, self.cookie, self.cluster = me, cookie, cluster
        self.resolve = resolve            # async (peer, channel) -> (host, port)
        self.on_event = on_event
        self.rpc_max_frame = rpc_max_frame
        self.connect_timeout = connect_timeout
        self.server_tls, self.client_tls = tls
        self.cluster_conns: dict[str, list[Conn]] = {}
        self.rpc_out: dict[str, Conn] = {}
        self.rpc_pending: dict[str, list] = {}
        self.servers: list = []
        self.tasks: set = set()
        self.stats = {"refused": 0, "bad_frames": 0}
        self.local_addr = None   # (ip, 0): dial from the node's own address, so peers see and log it
        self.previous: list = []  # node.cookie_previous: also accepted from peers (reload.py changes both)
        self.proofs = Proofs(self)

    # ---------- lifecycle ----------
    async def listen(self, host: str, cluster_port: int, rpc_port: int) -> None:
        for port, chan in ((cluster_port, "cluster"), (rpc_port, "rpc")):
            srv = await asyncio.start_server(lambda r, w, c=chan: self._spawn(self._accept(r, w, c)),
                                             host, port, ssl=self.server_tls, reuse_address=True)
            self.servers.append(srv)

    async def close(self) -> None:
        for s in self.servers:
            s.close()
        for conns in list(self.cluster_conns.values()):
            for c in conns:
                c.close()
        for c in list(self.rpc_out.values()):
            c.close()
        await asyncio.sleep(0)  # let write loops flush their goodbyes
        for t in list(self.tasks):
            t.cancel()
        for s in self.servers:
            await s.wait_closed()

    def _spawn(self, coro):
        t = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)
        return t

    def _emit(self, event) -> None:
        # Never call back into the core from inside one of its own actions.
        asyncio.get_running_loop().call_soon(self.on_event, event)

    # ---------- actions from the core ----------
    def connect(self, peer: str) -> None:
        self._spawn(self._dial_cluster(peer))

    def send(self, peer: str, msg: dict, channel: str) -> None:
        if channel == "cluster":
            conns = self.cluster_conns.get(peer)
            if conns:
                # Prefer the connection we dialled; either one reaches the peer.
                conns = sorted(conns, key=lambda c: not c.outbound)
                conns[0].send(msg)
            return
        c = self.rpc_out.get(peer)
        if c is not None:
            c.send(msg)
        elif peer in self.rpc_pending:
            self.rpc_pending[peer].append(msg)
        else:
            self.rpc_pending[peer] = [msg]
            self._spawn(self._dial_rpc(peer))

    def disconnect(self, peer: str) -> None:
        for c in self.cluster_conns.pop(peer, []):
            c.close()
        c = self.rpc_out.pop(peer, None)
        if c:
            c.close()

    # ---------- accepting ----------
    async def _accept(self, reader, writer, channel: str) -> None:
        addr = writer.get_extra_info("peername")
        fr = FramedReader(reader, HANDSHAKE_MAX_FRAME)
        acc = Acceptor(self.me, self.cookie, self.cluster, channel, previous=self.previous)
        try:
            write_frame(writer, acc.start())
            auth = await asyncio.wait_for(fr.next(), self.connect_timeout)
            write_frame(writer, acc.receive(auth))
            await writer.drain()
        except HandshakeError as e:
            self.stats["refused"] += 1
            log.warning("refused %s connection from %s: %s", channel, _fmt(addr), e)
            try:
                write_frame(writer, {"t": "refuse", "reason": e.reason})
                await asyncio.wait_for(writer.drain(), 1)
            except _NET_ERRORS:
                pass
            writer.close()
            return
        except _NET_ERRORS as e:
            log.info("dropped %s connection from %s during the handshake: %s", channel, _fmt(addr), _why(e))
            writer.close()
            return
        fr.decoder.max_size = CLUSTER_MAX_FRAME if channel == "cluster" else self.rpc_max_frame
        await self._serve(Conn(acc.peer, channel, False, fr, writer, hs=acc))

    # ---------- dialling ----------
    async def _handshake_out(self, peer: str, channel: str) -> Conn:
        host, port = await self.resolve(peer, channel)
        reader, writer = await asyncio.open_connection(host, port, ssl=self.client_tls, local_addr=self.local_addr)
        try:
            fr = FramedReader(reader, HANDSHAKE_MAX_FRAME)
            d = Dialer(self.me, self.cookie, self.cluster, channel, expect=peer, previous=self.previous)
            try:
                auth = d.receive_hello(await fr.next())
            except HandshakeError as e:
                write_frame(writer, d.refusal(e))
                await asyncio.wait_for(writer.drain(), 1)
                raise
            write_frame(writer, auth)
            await writer.drain()
            d.receive_ok(await fr.next())
        except BaseException:
            writer.close()
            raise
        fr.decoder.max_size = CLUSTER_MAX_FRAME if channel == "cluster" else self.rpc_max_frame
        return Conn(peer, channel, True, fr, writer, hs=d)

    async def _dial_cluster(self, peer: str) -> None:
        try:
            conn = await asyncio.wait_for(self._handshake_out(peer, "cluster"), self.connect_timeout)
        except HandshakeError as e:
            self.stats["refused"] += 1
            log.warning("could not connect to %s: %s", peer, e)
            return self._emit(ev.ConnectFailed(peer, e.reason))
        except _NET_ERRORS as e:
            log.debug("could not connect to %s: %s", peer, _why(e))
            return self._emit(ev.ConnectFailed(peer, _why(e)))
        await self._serve(conn)

    async def _dial_rpc(self, peer: str) -> None:
        try:
            conn = await asyncio.wait_for(self._handshake_out(peer, "rpc"), self.connect_timeout)
        except (HandshakeError, *_NET_ERRORS) as e:
            dropped = self.rpc_pending.pop(peer, [])
            log.info("RPC to %s failed, %d message(s) dropped: %s", peer, len(dropped), _why(e))
            return
        self.rpc_out[peer] = conn
        for msg in self.rpc_pending.pop(peer, []):
            conn.send(msg)
        await self._serve(conn)

    # ---------- a live connection ----------
    async def _serve(self, conn: Conn) -> None:
        conn.task = self._spawn(conn.write_loop())
        self.proofs.opened(conn)
        if conn.channel == "cluster":
            self.cluster_conns.setdefault(conn.peer, []).append(conn)
            self._emit(ev.ConnectionUp(conn.peer, conn.outbound))
        reason = "closed by peer"
        try:
            while True:
                msg = await conn.fr.next()
                if not self.proofs.on_message(conn, msg):
                    self._emit(ev.Received(conn.peer, msg))
        except FrameError as e:
            self.stats["bad_frames"] += 1
            reason = str(e)
            log.warning("closed the %s connection with %s: %s", conn.channel, conn.peer, e)
        except _NET_ERRORS as e:
            reason = _why(e)
        finally:
            conn.close()
            self.proofs.closed(conn)
            if conn.channel == "cluster":
                lst = self.cluster_conns.get(conn.peer, [])
                if conn in lst:
                    lst.remove(conn)
                    if not lst:
                        self.cluster_conns.pop(conn.peer, None)
                    self._emit(ev.ConnectionDown(conn.peer, reason))
            elif self.rpc_out.get(conn.peer) is conn:
                del self.rpc_out[conn.peer]


def _fmt(addr) -> str:
    if isinstance(addr, tuple):
        return "%s:%s" % (addr[0], addr[1])
    return str(addr)


def _why(e: BaseException) -> str:
    if isinstance(e, asyncio.TimeoutError):
        return "timed out"
    return str(e) or type(e).__name__
