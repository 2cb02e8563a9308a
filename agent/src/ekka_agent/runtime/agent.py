"""The running agent: feeds the sans-IO core with what the sockets and timers bring, and carries
out the actions it returns. All decisions are the core's; this file only moves bytes and time."""
from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import time

from .. import naming
from ..control_client import socket_path
from ..core import events as ev
from ..core.node import NodeCore
from ..core.settings import NodeSettings
from . import epmd, state_file, tls
from .dispatch import step_many
from .status import decorate
from .transport import TcpTransport

log = logging.getLogger("ekka.agent")
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class StartupError(Exception):
    """A clear reason the agent cannot start (port in use, data_dir locked, ...)."""


class Agent:
    """Also the Carrier of the core's actions (runtime/dispatch.py) over its transport.

    make_transport(agent) builds the transport (default: TCP/TLS, runtime/transport.py); it
    must offer listen, connect, send, disconnect and close, and feed agent.feed its events.
    The simulator passes sim/memory_transport.py's, and an rng so a seed decides the whole run.
    """

    def __init__(self, cfg, make_transport=None, rng=None):
        self.cfg = cfg
        self.rng = rng
        self.make_transport = make_transport or _tcp_transport
        self.name = cfg["node.name"]
        self.node = naming.parse_node(self.name)
        self.rpc_fixed = naming.fixed_rpc_port(cfg["rpc.port_discovery"], cfg["rpc.tcp_server_port"])
        self.data_dir = cfg["node.data_dir"]
        self.core = None
        self.transport = None
        self.control = None
        self.waiting: dict = {}
        self.req_ids = itertools.count(1)
        self.subscribers: list = []
        self.timer = None
        self.stopping = None
        self.epmd_conn = None
        self.extras = []           # runtime helpers of components (discovery, hooks, ...)
        self._pending: list = []   # events fed, not yet through the core (feed / _drain)
        self._drain_soon = False
        self._started = False      # Start is through: until then what is fed waits (start)

    # ---------- startup ----------
    async def start(self) -> None:
        os.makedirs(self.data_dir, mode=0o750, exist_ok=True)
        try:
            self._lock = state_file.lock(self.data_dir)
        except BlockingIOError:
            raise StartupError("another agent is running on data_dir %s" % self.data_dir) from None
        loop = asyncio.get_running_loop()
        self.core = NodeCore(self.name, NodeSettings.from_config(self.cfg.as_dict()), self.rng,
                             wall_offset=time.time() - loop.time(), state=state_file.load(self.data_dir))
        self.transport = self.make_transport(self)
        await self._listen()
        from .control import ControlServer
        self.control = ControlServer(socket_path(self.data_dir), self.cfg["node.control_socket_mode"], self)
        await self.control.start()
        from .extras import build_extras
        self.extras = build_extras(self)
        for x in self.extras:
            await x.start()
        # The control socket and the listeners are open, and the extras' starts let the loop run:
        # a status asked, or a message received, meanwhile waits here to go through the core
        # after Start (which makes our own record), not before it.
        self._pending.insert(0, ev.Start())
        self._started = True
        self._drain_later()
        log.info("node %s up: cluster port %d, rpc port %d, cluster %s", self.name, self.cluster_port,
                 naming.rpc_port(self.node, self.rpc_fixed), self.cfg["cluster.name"])

    def _listen_host(self) -> str:
        if self.node.family != "fqdn":
            return self.node.host
        return "::" if self.cfg["cluster.proto_dist"] == "inet6_tcp" else "0.0.0.0"

    async def _listen(self) -> None:
        host, rpc = self._listen_host(), naming.rpc_port(self.node, self.rpc_fixed)
        if self.cfg["node.epmd"]:
            lo, hi = self.cfg["node.dist_listen_min"], self.cfg["node.dist_listen_max"]
            for port in range(lo, hi + 1):
                try:
                    await self.transport.listen(host, port, rpc)
                    break
                except OSError:
                    await self.transport.close()
                    self.transport.servers = []
            else:
                raise StartupError("no free port in node.dist_listen_min..max = %d..%d (or rpc port %d is in use)"
                                   % (lo, hi, rpc))
            self.cluster_port = port
            try:
                self.epmd_conn = await epmd.register(self.node.name, port)
            except epmd.EpmdError as e:
                raise StartupError(str(e)) from None
        else:
            self.cluster_port = naming.dist_port(self.node)
            try:
                await self.transport.listen(host, self.cluster_port, rpc)
            except OSError as e:
                raise StartupError("cannot listen on %s ports %d and %d: %s" % (host, self.cluster_port, rpc,
                                                                                 e.strerror or e)) from None

    async def _resolve(self, peer: str, channel: str):
        p = naming.parse_node(peer)
        if channel == "rpc":
            return p.host, naming.rpc_port(p, self.rpc_fixed)
        if self.cfg["node.epmd"]:
            return p.host, await epmd.port_please(p.name, p.host)
        return p.host, naming.dist_port(p)

    # ---------- the loop ----------
    def feed(self, event) -> None:
        """Queue an event; what arrives within one turn of the loop goes through the core together
        (step_many): a node learning of a hundred members at once saves its state once, not a
        hundred times, and each save waits for the disk."""
        self._pending.append(event)
        self._drain_later()

    def _drain_later(self) -> None:
        if not self._drain_soon:
            self._drain_soon = True
            asyncio.get_running_loop().call_soon(self._drain)

    def _drain(self) -> None:
        self._drain_soon = False
        if not self._started:
            return
        events, self._pending = self._pending, []
        if not events:
            return
        step_many(self.core, events, asyncio.get_running_loop().time(), self)
        self._arm_timer()

    def _arm_timer(self) -> None:
        d = self.core.next_deadline()
        if self.timer and d is not None and self.timer.when() == d:
            return      # most events leave the deadline where it was: no new timer to heap up
        if self.timer:
            self.timer.cancel()
            self.timer = None
        if d is not None:
            self.timer = asyncio.get_running_loop().call_at(d, self._timer_fired)

    def _timer_fired(self) -> None:
        self.timer = None
        self.feed(ev.Tick())

    # ---------- the Carrier of the core's actions (runtime/dispatch.py) ----------
    def send(self, peer: str, msg, channel: str) -> None:
        self.transport.send(peer, msg, channel)

    def connect(self, peer: str) -> None:
        self.transport.connect(peer)

    def disconnect(self, peer: str, reason: str, links: tuple = (), abort: bool = False) -> None:
        self.transport.disconnect(peer, links, abort)

    def reply(self, a: ev.Reply) -> None:
        fut = self.waiting.pop(a.req_id, None)
        if fut and not fut.done():
            r = {"ok": a.ok}
            if a.ok:
                r["result"] = a.result
            else:
                r.update(error=a.error, message=a.message or a.error)
                r.update(a.extra or {})
            fut.set_result(r)

    def log(self, level: str, text: str) -> None:
        log.log(_LEVELS.get(level, logging.INFO), text)

    def emit(self, event: dict) -> None:
        e = dict(event, time=time.time())
        for q in self.subscribers:
            q.put_nowait(e)
        for x in self.extras:
            x.on_emit(e)

    def persist(self, snapshot) -> None:
        state_file.save(self.data_dir, snapshot())

    def helper(self, a) -> bool:
        return any(x.on_action(a) for x in self.extras)

    # ---------- control ----------
    async def command(self, cmd: str, args: dict, timeout: float = 60.0) -> dict:
        rid = next(self.req_ids)
        fut = asyncio.get_running_loop().create_future()
        self.waiting[rid] = fut
        self.feed(ev.Command(rid, cmd, args))
        try:
            return decorate(self, cmd, await asyncio.wait_for(fut, timeout))
        except asyncio.TimeoutError:
            self.waiting.pop(rid, None)
            return {"ok": False, "error": "timeout", "message": "the agent did not finish %r in %ss" % (cmd, timeout)}

    def subscribe(self) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue()
        self.subscribers.append(q)
        return q

    def unsubscribe(self, q) -> None:
        if q in self.subscribers:
            self.subscribers.remove(q)

    # ---------- shutdown ----------
    async def stop(self) -> None:
        if self.core:
            self._pending.append(ev.Stop())
            self._drain()        # now: the goodbye goes out and the state is saved below
            state_file.save(self.data_dir, self.core.snapshot())
        if self.timer:
            self.timer.cancel()
        for x in self.extras:
            await x.stop()
        if self.control:
            await self.control.close()
        if self.transport:
            await self.transport.close()
        if self.epmd_conn:
            self.epmd_conn.close()

    async def run_forever(self) -> None:
        self.stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        try:
            await self.start()
            await self.stopping.wait()
            log.info("stopping")
        finally:
            await self.stop()


def _tcp_transport(agent: Agent) -> TcpTransport:
    cfg = agent.cfg
    t = TcpTransport(agent.name, cfg["node.cookie"], cfg["cluster.name"], agent._resolve, agent.feed,
                     rpc_max_frame=cfg["node.max_frame_size"], connect_timeout=cfg["cluster.connect_timeout"] / 1000,
                     tls=tls.contexts(cfg))
    t.previous = list(cfg["node.cookie_previous"])   # reload.py changes it later
    if agent.node.family != "fqdn":
        t.local_addr = (agent.node.host, 0)   # dial from the node's own address, so peers see and log it
    return t
