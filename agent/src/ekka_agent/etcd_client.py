"""The one etcd v3 client, for discovery (discovery/etcd.py) and the etcd lock strategy
(runtime/etcd_locks.py): etcd's JSON gateway through etcd3gw (python-etcd3 does not import with
current protobuf), blocking, so callers run it in worker threads.

- Endpoints are tried in turn: one that cannot be reached (refused, timed out, a TLS failure)
  passes the call to the next, and the one that answered is used first next time. When none
  answers, EtcdUnavailable names each endpoint and why; an error etcd itself answered is
  EtcdError, not retried elsewhere.
- requests sessions are built with trust_env=False, so REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE or
  proxies in the environment cannot replace the configured CA (with trust_env, requests lets
  the environment's bundle win over a session's own verify setting). A CA or a
  client certificate configured means https, even if an endpoint was written http://.
- Each thread keeps its own sessions (requests sessions are not thread-safe).
"""
from __future__ import annotations

import base64
import threading

from .etcd_url import Endpoint, parse_endpoint


class EtcdError(Exception):
    """etcd answered, with an error."""


class EtcdUnavailable(ConnectionError):
    """No endpoint could be reached; the text names each one and why."""


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def unb64(s: str) -> str:
    return base64.b64decode(s).decode(errors="replace")


def prefix_end(prefix: str) -> str:
    """The range end that makes a range request cover every key starting with prefix."""
    b = bytearray(prefix.encode())
    b[-1] += 1
    return base64.b64encode(bytes(b)).decode()


class EtcdClient:
    def __init__(self, servers, ssl: dict | None = None, timeout: float = 5.0):
        ssl = {k: v for k, v in (ssl or {}).items() if v}
        tls = bool(ssl.get("cacertfile") or ssl.get("certfile"))
        self.endpoints = [e if isinstance(e, Endpoint) else parse_endpoint(e) for e in servers]
        if tls:
            self.endpoints = [e._replace(scheme="https") for e in self.endpoints]
        self.ssl = ssl
        self.timeout = timeout
        self.current = 0
        self.local = threading.local()

    def _client(self, index: int):
        cache = getattr(self.local, "clients", None)
        if cache is None:
            cache = self.local.clients = {}
        if index not in cache:
            import requests
            from etcd3gw.client import Etcd3Client
            e = self.endpoints[index]
            s = requests.Session()
            s.trust_env = False
            if e.scheme == "https":
                s.verify = self.ssl.get("cacertfile") or True
                if self.ssl.get("certfile") and self.ssl.get("keyfile"):
                    s.cert = (self.ssl["certfile"], self.ssl["keyfile"])
            cache[index] = Etcd3Client(host=e.host, port=e.port, protocol=e.scheme, timeout=self.timeout,
                                       api_path="/v3/", session=s)
        return cache[index]

    def post(self, path: str, body: dict) -> dict:
        """POST to the v3 gateway at the first endpoint that answers; remember it for the next call."""
        from etcd3gw import exceptions as ex
        errors = []
        n = len(self.endpoints)
        for i in range(n):
            idx = (self.current + i) % n
            c = self._client(idx)
            try:
                r = c.post(c.get_url(path), json=body)
            except (ex.ConnectionFailedError, ex.ConnectionTimeoutError) as e:
                errors.append("%s: %s" % (self.endpoints[idx].url, _short(e)))
                continue
            except Exception as e:  # etcd answered, with an error: another endpoint would say the same
                raise EtcdError("%s: %s" % (self.endpoints[idx].url, _short(e))) from None
            self.current = idx
            return r
        raise EtcdUnavailable("; ".join(errors))

    # ---- the calls both users make ----
    def grant(self, ttl: int) -> tuple[int, int]:
        """A new lease: (its id, the TTL etcd granted)."""
        r = self.post("/lease/grant", {"TTL": ttl})
        return int(r["ID"]), int(r.get("TTL") or ttl)

    def keepalive(self, lease_id: int) -> int:
        """The lease's TTL from now, or <= 0 when etcd no longer has it."""
        return int(self.post("/lease/keepalive", {"ID": lease_id}).get("result", {}).get("TTL") or 0)

    def granted_ttl(self, lease_id: int) -> int:
        return int(self.post("/kv/lease/timetolive", {"ID": lease_id}).get("grantedTTL") or 0)

    def revoke(self, lease_id: int) -> None:
        self.post("/kv/lease/revoke", {"ID": lease_id})

    def put(self, key: str, value: str, lease: int = 0) -> None:
        body = {"key": b64(key), "value": b64(value)}
        if lease:
            body["lease"] = lease
        self.post("/kv/put", body)

    def get(self, key: str):
        """The key's kv record (value still base64) or None."""
        kvs = self.post("/kv/range", {"key": b64(key)}).get("kvs") or []
        return kvs[0] if kvs else None

    def values_under(self, prefix: str) -> list:
        """The values of every key under prefix, decoded."""
        kvs = self.post("/kv/range", {"key": b64(prefix), "range_end": prefix_end(prefix)}).get("kvs") or []
        return [unb64(kv.get("value", "")) for kv in kvs]

    def delete(self, key: str) -> None:
        self.post("/kv/deleterange", {"key": b64(key)})

    def txn(self, compare: list, success: list, failure: list = ()) -> dict:
        body = {"compare": compare, "success": success}
        if failure:
            body["failure"] = list(failure)
        return self.post("/kv/txn", body)


def _short(e: Exception) -> str:
    s = (str(e).strip() or str(getattr(e, "detail_text", "") or "").strip()  # etcd3gw keeps its text there
         or e.__class__.__name__)
    if "Connection refused" in s:
        return "connection refused"
    if "CERTIFICATE_VERIFY_FAILED" in s:
        return "TLS: certificate verify failed"
    if "SSLError" in s or "SSL" in s.split(":")[0]:
        return "TLS: " + s.splitlines()[0][-160:]
    if "timed out" in s.lower():
        return "timed out"
    return s.splitlines()[0][:200]
