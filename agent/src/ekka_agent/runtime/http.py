"""The HTTP endpoint (http.listen; off by default): for load balancers, Prometheus and scripts.

    GET  /status          200 when this node runs in its cluster, else 503 with Retry-After
    GET  /ready           200 when ready for traffic (health.ready), else 503 with Retry-After
    GET  /metrics         Prometheus text format (metrics.py)
    GET  /api/v1/cluster  the object `ekka-ctl cluster status --json` prints
    POST /api/v1/join {"node": N} | /api/v1/leave | /api/v1/force-leave {"node": N}
         /api/v1/drain | /api/v1/revive      only with `Authorization: Bearer TOKEN` (http.token_file)

HTTP/1.1 with one request per connection: the few requests a monitor makes need no more, and it
keeps this small enough to need no web framework.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging

from .. import health
from .extras import Extra

log = logging.getLogger("ekka.http")
RETRY_AFTER = "5"
MAX_HEADER, MAX_BODY, READ_TIMEOUT = 16 * 1024, 64 * 1024, 10
ACTIONS = {"join": ("join", True), "leave": ("leave", False), "force-leave": ("force_leave", True),
           "drain": ("drain", False), "revive": ("revive", False)}
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large", 503: "Service Unavailable"}


class HttpEndpoint(Extra):
    def __init__(self, agent, metrics):
        self.agent, self.metrics = agent, metrics
        self.server = None
        self.token = None

    async def start(self) -> None:
        cfg = self.agent.cfg
        self.on_reload(cfg)
        host, port = cfg["http.listen"]
        from .agent import StartupError
        try:
            ctx = _context(cfg)
        except (OSError, ValueError) as e:
            raise StartupError("http.ssl.enable = true: cannot load the certificate and key: %s" % e) from None
        try:
            self.server = await asyncio.start_server(self._client, host, port, ssl=ctx,
                                                     limit=MAX_HEADER, reuse_address=True)
        except OSError as e:
            raise StartupError("http.listen = %s:%d: cannot listen: %s" % (host, port, e.strerror or e)) from None
        log.info("HTTP endpoint on %s:%d%s", host, port, " (TLS)" if cfg["http.ssl.enable"] else "")

    async def stop(self) -> None:
        if self.server:
            self.server.close()

    def on_reload(self, cfg) -> None:
        self.token = None
        path = cfg["http.token_file"]
        if path:
            try:
                with open(path, encoding="utf-8") as f:
                    self.token = f.read().strip() or None
            except OSError as e:
                log.error("http.token_file = %s: cannot read it (%s); POST actions are refused", path, e.strerror)
            if path and self.token is None:
                log.error("http.token_file = %s holds no token; POST actions are refused", path)

    # ---------- one request ----------
    async def _client(self, reader, writer) -> None:
        try:
            code, headers, body = await asyncio.wait_for(self._request(reader), READ_TIMEOUT * 2)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError,
                ValueError):      # OSError: ssl.SSLError among others (ssl is imported only for HTTPS)
            writer.close()
            return
        head = ["HTTP/1.1 %d %s" % (code, _REASONS.get(code, "Error")), "Content-Length: %d" % len(body),
                "Connection: close"] + ["%s: %s" % kv for kv in headers.items()]
        try:
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def _request(self, reader):
        line = await asyncio.wait_for(reader.readline(), READ_TIMEOUT)
        parts = line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return _json(400, {"error": "bad_request", "message": "not an HTTP request line"})
        method, target = parts[0], parts[1].split("?", 1)[0]
        hdrs = {}
        while True:
            h = await asyncio.wait_for(reader.readline(), READ_TIMEOUT)
            if h in (b"\r\n", b"\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            hdrs[k.strip().lower()] = v.strip()
            if len(hdrs) > 100:
                return _json(400, {"error": "bad_request", "message": "too many headers"})
        n = int(hdrs.get("content-length") or 0)
        if n > MAX_BODY:
            return _json(413, {"error": "too_large", "message": "a body of at most %d bytes" % MAX_BODY})
        body = await asyncio.wait_for(reader.readexactly(n), READ_TIMEOUT) if n else b""
        return await self.route(method, target, hdrs, body)

    async def route(self, method: str, path: str, hdrs: dict, body: bytes):
        if path.startswith("/api/v1/") and path[len("/api/v1/"):] in ACTIONS:
            if method != "POST":
                return _json(405, {"error": "method_not_allowed", "message": "use POST"}, {"Allow": "POST"})
            return await self._action(path[len("/api/v1/"):], hdrs, body)
        if path not in ("/status", "/ready", "/metrics", "/api/v1/cluster"):
            return _json(404, {"error": "not_found", "message": "no such path: %s" % path})
        if method != "GET":
            return _json(405, {"error": "method_not_allowed", "message": "use GET"}, {"Allow": "GET"})
        if path == "/metrics":
            return 200, {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}, await self.metrics.scrape()
        st = (await self.agent.command("status", {}))["result"]
        if path == "/api/v1/cluster":
            return _json(200, st)
        c = health.running(st) if path == "/status" else health.ready(st)
        if c["ok"]:
            return _json(200, {"node": st["node"], "status": c["check"], "reason": c["reason"]})
        return _json(503, {"node": st["node"], "status": "not_" + c["check"], "reason": c["reason"]},
                     {"Retry-After": RETRY_AFTER})

    async def _action(self, name: str, hdrs: dict, body: bytes):
        if self.token is None:
            return _json(403, {"error": "forbidden", "message": "POST actions need http.token_file in the config"})
        given = hdrs.get("authorization", "")
        if not (given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), self.token.encode())):
            return _json(401, {"error": "unauthorized", "message": "a valid Authorization: Bearer token is required"},
                         {"WWW-Authenticate": "Bearer"})
        cmd, wants_node = ACTIONS[name]
        args = {}
        if wants_node:
            try:
                args = {"node": json.loads(body or b"{}")["node"]}
            except (ValueError, KeyError, TypeError):
                return _json(400, {"error": "bad_request", "message": 'a JSON body {"node": "name@host"}'})
        r = await self.agent.command(cmd, args)
        if r.get("ok"):
            return _json(200, {"ok": True, "result": r.get("result")})
        code = 404 if r.get("error") == "unknown_command" else 400 if r.get("error") == "bad_argument" else 409
        return _json(code, r)


def _json(code: int, obj, headers=None):
    return code, dict({"Content-Type": "application/json"}, **(headers or {})), (json.dumps(obj) + "\n").encode()


def _context(cfg):
    if not cfg["http.ssl.enable"]:
        return None
    cert = cfg["http.ssl.certfile"] or cfg["cluster.ssl.certfile"]
    key = cfg["http.ssl.keyfile"] or cfg["cluster.ssl.keyfile"]
    if not cert or not key:
        raise ValueError("set http.ssl.certfile and http.ssl.keyfile, or the cluster's (cluster.ssl.*)")
    import ssl
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def extras(agent) -> list:
    if not agent.cfg["http.listen"]:
        return []
    from .metrics import Metrics
    m = Metrics(agent)
    return [m, HttpEndpoint(agent, m)]
