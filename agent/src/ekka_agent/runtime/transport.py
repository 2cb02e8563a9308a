"""TCP/TLS between agents: the cluster port (heartbeats, membership) and the RPC port (bulk:
data copies, replicated writes, lock calls), so a large copy never delays a heartbeat.

Shaped like memberlist's Transport: the core says connect / send / disconnect, and hears
ConnectionUp / ConnectionDown / ConnectFailed / Received. Every connection is authenticated
by the cookie handshake first; anything that fails it is logged with its address and closed.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from typing import Protocol

from ..core import events as ev
from ..core.handshake import Acceptor, Dialer, HandshakeError, read, refusal
from ..core.messages import Message, MessageError, from_wire, to_wire
from ..core.wire import CLUSTER_MAX_FRAME, FrameError, encode
from .framed import Closed, FramedReader, write_frame
from .idle_rpc import IdleRpc
from .proofs import Proofs

log = logging.getLogger("ekka.transport")
HANDSHAKE_MAX_FRAME = 4096
DIALS_AT_ONCE = 8
# ssl.SSLError is an OSError: `ssl` itself is not imported here, a node without TLS runs without it
# (openssl_use.py).
_NET_ERRORS = (OSError, asyncio.TimeoutError, Closed, FrameError, asyncio.IncompleteReadError)


class Conn:
    def __init__(self, peer: str, channel: str, outbound: bool, fr: FramedReader, writer, hs=None):
        self.peer, self.channel, self.outbound = peer, channel, outbound
        self.fr, self.writer = fr, writer
        self.hs = hs              # the finished Acceptor/Dialer: what the peer proved and announced
        self.link = 0             # a cluster link's id, given when it opens (PeerLinks._opened)
        self.opened_at = asyncio.get_running_loop().time()
        self.closed_here = False

    # Straight to the socket transport, which buffers what the kernel does not take yet and
    # keeps the order: no queue and no writer task per connection (a hundred members means a
    # hundred connections, each costing memory while idle).
    def send(self, msg: Message) -> None:
        self._write(encode(to_wire(msg)))

    def send_link(self, obj: dict) -> None:
        """A link-level message of the runtime's own (re-proof, link ping): never seen by the core."""
        self._write(encode(obj))

    def _write(self, data: bytes) -> None:
        if not self.closed_here and not self.writer.transport.is_closing():
            self.writer.write(data)

    def close(self, abort: bool = False) -> None:
        """Close after what was already written has gone out, or (abort) reset the connection:
        what the kernel still holds is dropped and the peer gets a RST."""
        self.closed_here = True
        if abort:
            sock = self.writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.writer.transport.abort()
            return
        self.writer.close()


class Transport(Protocol):
    """What the agent needs of a transport between agents (memberlist's Transport, in short).

    Events go to the on_event callback it was built with: ConnectionUp / ConnectionDown /
    ConnectFailed / Received (a decoded core/messages.py Message)."""

    async def listen(self, host: str, cluster_port: int, rpc_port: int) -> None: ...
    def connect(self, peer: str) -> None: ...
    def send(self, peer: str, msg: Message, channel: str) -> None: ...
    def disconnect(self, peer: str, links: tuple = (), abort: bool = False) -> None: ...
    async def close(self) -> None: ...


class PeerLinks:
    """The bookkeeping every transport shares, whatever carries the bytes: which connections are
    open to whom, RPC messages waiting for a dial, what peers proved (runtime/proofs.py), and the
    events the core hears. A transport adds listen(), _handshake_out() and _serve()."""

    def __init__(self, me: str, cookie: str, cluster: str, resolve, on_event, *, connect_timeout: float):
        self.me, self.cookie, self.cluster = me, cookie, cluster
        self.resolve = resolve            # async (peer, channel) -> (host, port)
        self.on_event = on_event
        self.connect_timeout = connect_timeout
        self.cluster_conns: dict[str, list] = {}    # peer -> its cluster links, oldest first
        self.links = 0                   # the last link id given (ConnectionUp.link)
        self.rpc_out: dict = {}
        self.rpc_in: dict = {}           # peer -> the RPC connection it dialled: answers go back on it
        self.rpc_pending: dict[str, list] = {}
        self.tasks: set = set()
        self.stats = {"refused": 0, "bad_frames": 0, "bad_messages": 0}
        self.previous: list = []  # node.cookie_previous: also accepted from peers (reload.py changes both)
        self.proofs = Proofs(self)
        self.idle = IdleRpc(self)        # RPC connections closed when idle (runtime/idle_rpc.py)
        self.refusals: dict = {}     # peer -> the HandshakeError of our last dial to it
        # Handshakes this node runs at once as the dialler. A node that learns of a hundred
        # members dials them a few at a time: all at once, on a busy machine, the later ones
        # would wait past connect_timeout behind the earlier and be dialled again. Made on first
        # use, inside the running loop (Python 3.9 binds a Semaphore to a loop when it is made).
        self.dial_slots = None

    def _spawn(self, coro):
        t = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)
        return t

    def _emit(self, event) -> None:
        # Never call back into the core from inside one of its own actions. on_event is read
        # when the event is delivered, so a transport that stops hearing (a crash) stops here too.
        asyncio.get_running_loop().call_soon(self._deliver, event)

    def _deliver(self, event) -> None:
        self.on_event(event)

    # ---------- actions from the core ----------
    def connect(self, peer: str) -> None:
        self._spawn(self._dial_cluster(peer))

    def send(self, peer: str, msg: Message, channel: str) -> None:
        if channel == "cluster":
            conns = self.cluster_conns.get(peer)
            if conns:
                # The newest: either one reaches the peer, but an older one may be the one a
                # fresh dial replaces (core/member_links.py refresh_link) and may be stalled.
                conns[-1].send(msg)
            return
        # Our own RPC connection, else the one the peer dialled to us: a probe or a request is
        # answered on the connection it came by, and no second handshake is needed for it.
        # (Not while our own dial to it is under way: what waits for that must go first.)
        c = self.rpc_out.get(peer)
        if c is None and peer not in self.rpc_pending:
            c = self.rpc_in.get(peer)
        if c is not None:
            self.idle.used(c)
            c.send(msg)
        elif peer in self.rpc_pending:
            self.rpc_pending[peer].append(msg)
        else:
            self.rpc_pending[peer] = [msg]
            self._spawn(self._dial_rpc(peer))

    def disconnect(self, peer: str, links: tuple = (), abort: bool = False) -> None:
        """Close every connection to peer, or only the cluster links named (ConnectionUp.link);
        `abort` resets them (core/events.py Disconnect). A named link already closed is gone
        from the list: nothing else is closed in its place."""
        if links:
            conns = self.cluster_conns.get(peer, [])
            for c in [c for c in conns if c.link in links]:
                conns.remove(c)
                c.close(abort)
            if not conns:
                self.cluster_conns.pop(peer, None)
            # Replaced because they may hold what a cut stalled (core member_links.py
            # refresh_link): RPC connections to peer from before the fresh link (or all, with
            # none left) are of the same time and may be stalled the same way, TCP holding what
            # is written on them until a retransmission up to two minutes later, or for nothing
            # if the peer restarted meanwhile.
            self._close_rpc(peer, opened_before=min((c.opened_at for c in conns), default=None))
            return
        for c in self.cluster_conns.pop(peer, []):
            c.close(abort)
        self._close_rpc(peer)

    def _close_rpc(self, peer: str, opened_before=None) -> None:
        """Close the RPC connections to peer (only those opened before `opened_before`, if
        given): what is sent to it from now on takes a new one. Closed, not reset, so that what
        they hold still goes out if it can."""
        for table in (self.rpc_out, self.rpc_in):
            c = table.get(peer)
            if c is not None and (opened_before is None or c.opened_at < opened_before):
                del table[peer]
                c.close()

    def _close_all(self) -> None:
        self.idle.stop()
        for conns in list(self.cluster_conns.values()):
            for c in conns:
                c.close()
        for c in list(self.rpc_out.values()) + list(self.rpc_in.values()):
            c.close()

    # ---------- dialling ----------
    async def _handshake_out(self, peer: str, channel: str):
        raise NotImplementedError

    async def _serve(self, conn) -> None:
        raise NotImplementedError

    async def _dial(self, peer: str, channel: str):
        if self.dial_slots is None:
            self.dial_slots = asyncio.Semaphore(DIALS_AT_ONCE)
        async with self.dial_slots:
            return await asyncio.wait_for(self._handshake_out(peer, channel), self.connect_timeout)

    async def _dial_cluster(self, peer: str) -> None:
        try:
            conn = await self._dial(peer, "cluster")
        except HandshakeError as e:
            self.stats["refused"] += 1
            self.refusals[peer] = e     # a join to this peer reports why (runtime/status.py)
            log.warning("could not connect to %s: %s", peer, e)
            return self._emit(ev.ConnectFailed(peer, e.reason))
        except _NET_ERRORS as e:
            log.debug("could not connect to %s: %s", peer, _why(e))
            return self._emit(ev.ConnectFailed(peer, _why(e)))
        await self._serve(conn)

    async def _dial_rpc(self, peer: str) -> None:
        try:
            conn = await self._dial(peer, "rpc")
        except (HandshakeError, *_NET_ERRORS) as e:
            dropped = self.rpc_pending.pop(peer, [])
            log.info("RPC to %s failed, %d message(s) dropped: %s", peer, len(dropped), _why(e))
            return
        self.rpc_out[peer] = conn
        self.idle.opened(conn)
        for msg in self.rpc_pending.pop(peer, []):
            conn.send(msg)
        await self._serve(conn)

    # ---------- a live connection ----------
    def _opened(self, conn) -> None:
        self.proofs.opened(conn)
        if conn.channel == "cluster":
            self.links += 1
            conn.link = self.links
            self.cluster_conns.setdefault(conn.peer, []).append(conn)
            self._emit(ev.ConnectionUp(conn.peer, conn.outbound, conn.link))
        elif not conn.outbound:
            self.rpc_in[conn.peer] = conn
            self.idle.opened(conn)

    def _received(self, conn, obj) -> None:
        if conn.channel == "rpc":
            self.idle.used(conn)
            if self.idle.on_message(conn, obj):
                return        # the close of an idle connection (runtime/idle_rpc.py)
        if self.proofs.on_message(conn, obj):
            return            # a re-proof after a reload (runtime/proofs.py), not a core message
        try:
            msg = from_wire(obj)
        except MessageError as e:
            # A peer with a bug or another version must not take this connection down.
            self.stats["bad_messages"] += 1
            log.warning("dropped a bad message from %s: %s", conn.peer, e)
            return
        self._emit(ev.Received(conn.peer, msg))

    def _closed(self, conn, reason: str) -> None:
        self.proofs.closed(conn)
        if conn.channel == "cluster":
            lst = self.cluster_conns.get(conn.peer, [])
            if conn in lst:
                lst.remove(conn)
                if not lst:
                    self.cluster_conns.pop(conn.peer, None)
                self._emit(ev.ConnectionDown(conn.peer, conn.link, reason))
            return
        self.idle.closed(conn)
        if self.rpc_out.get(conn.peer) is conn:
            del self.rpc_out[conn.peer]
        elif self.rpc_in.get(conn.peer) is conn:
            del self.rpc_in[conn.peer]


class TcpTransport(PeerLinks):
    def __init__(self, me: str, cookie: str, cluster: str, resolve, on_event, *, rpc_max_frame: int,
                 connect_timeout: float, tls=(None, None)):
        super().__init__(me, cookie, cluster, resolve, on_event, connect_timeout=connect_timeout)
        self.rpc_max_frame = rpc_max_frame
        self.server_tls, self.client_tls = tls
        self.servers: list = []
        self.local_addr = None   # (ip, 0): dial from the node's own address, so peers see and log it

    # ---------- lifecycle ----------
    async def listen(self, host: str, cluster_port: int, rpc_port: int) -> None:
        for port, chan in ((cluster_port, "cluster"), (rpc_port, "rpc")):
            srv = await asyncio.start_server(lambda r, w, c=chan: self._spawn(self._accept(r, w, c)),
                                             host, port, ssl=self.server_tls, reuse_address=True)
            self.servers.append(srv)

    async def close(self) -> None:
        for s in self.servers:
            s.close()
        self._close_all()
        await asyncio.sleep(0)  # let the transports flush their goodbyes
        for t in list(self.tasks):
            t.cancel()
        for s in self.servers:
            await s.wait_closed()

    # ---------- accepting ----------
    async def _accept(self, reader, writer, channel: str) -> None:
        addr = writer.get_extra_info("peername")
        fr = FramedReader(reader, HANDSHAKE_MAX_FRAME)
        acc = Acceptor(self.me, self.cookie, self.cluster, channel, previous=self.previous)
        try:
            write_frame(writer, to_wire(acc.start()))
            auth = await asyncio.wait_for(fr.next(), self.connect_timeout)
            write_frame(writer, to_wire(acc.receive(read(auth, acc.EXPECTS))))
            await writer.drain()
        except HandshakeError as e:
            self.stats["refused"] += 1
            log.warning("refused %s connection from %s: %s", channel, _fmt(addr), e)
            try:
                write_frame(writer, to_wire(refusal(self.me, self.cluster, e)))
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
                auth = d.receive_hello(read(await fr.next(), d.HELLO))
            except HandshakeError as e:
                write_frame(writer, to_wire(d.refusal(e)))
                await asyncio.wait_for(writer.drain(), 1)
                raise
            write_frame(writer, to_wire(auth))
            await writer.drain()
            d.receive_ok(read(await fr.next(), d.ANSWER))
        except BaseException:
            writer.close()
            raise
        fr.decoder.max_size = CLUSTER_MAX_FRAME if channel == "cluster" else self.rpc_max_frame
        return Conn(peer, channel, True, fr, writer, hs=d)

    async def _serve(self, conn: Conn) -> None:
        self._opened(conn)
        reason = "closed by peer"
        try:
            while True:
                self._received(conn, await conn.fr.next())
        except FrameError as e:
            self.stats["bad_frames"] += 1
            reason = str(e)
            log.warning("closed the %s connection with %s: %s", conn.channel, conn.peer, e)
        except _NET_ERRORS as e:
            reason = _why(e)
        finally:
            conn.close()
            self._closed(conn, reason)


def _fmt(addr) -> str:
    if isinstance(addr, tuple):
        return "%s:%s" % (addr[0], addr[1])
    return str(addr)


def _why(e: BaseException) -> str:
    if isinstance(e, asyncio.TimeoutError):
        return "timed out"
    return str(e) or type(e).__name__
