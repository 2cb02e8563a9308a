"""k8s: the endpoints of a Kubernetes service are the nodes (Ekka's ekka_cluster_k8s).

Reads EndpointSlices (discovery.k8s.io/v1, label kubernetes.io/service-name=<service>) and
falls back to the v1 Endpoints object when slices are not served (404) or not allowed (403).
Ready endpoints only (a pod that is not ready yet is not a cluster member: joining it early
would make a member that fails its first probes), unless k8s.include_not_ready. HTTPS is
always verified, against the service-account CA when that file exists; the bearer token comes
from the service-account token file. The standard library does the HTTPS (urllib + ssl) with
proxies from the environment ignored.

Node names (Ekka's table): ip -> app@ip; dns -> app@a-b-c-d.<namespace>.<suffix>;
hostname -> app@<hostname>.<service>.<namespace>.<suffix>; with an empty suffix the part
after the address or hostname is left out.
"""
from __future__ import annotations

import asyncio
import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request

from .base import BaseStrategy, DiscoveryError

TIMEOUT = 5.0


def endpoint_hosts(doc: dict, kind: str, include_not_ready: bool) -> list:
    """[(ip, hostname or None)] of the (ready) endpoints in an EndpointSliceList or Endpoints."""
    out = []
    if kind == "slices":
        for sl in doc.get("items") or []:
            for ep in sl.get("endpoints") or []:
                ready = (ep.get("conditions") or {}).get("ready")
                # The API says an unknown (null) ready condition is to be read as ready.
                if ready is False and not include_not_ready:
                    continue
                for addr in (ep.get("addresses") or [])[:1]:
                    out.append((addr, ep.get("hostname")))
    else:
        for ss in doc.get("subsets") or []:
            addrs = list(ss.get("addresses") or [])
            if include_not_ready:
                addrs += ss.get("notReadyAddresses") or []
            out += [(a.get("ip"), a.get("hostname")) for a in addrs if a.get("ip")]
    return out


def node_host(ip: str, hostname, address_type: str, service: str, namespace: str, suffix: str):
    if address_type == "ip":
        return ip
    if address_type == "dns":
        base = ip.replace(".", "-").replace(":", "-")
        return "%s.%s.%s" % (base, namespace, suffix) if suffix else base
    if not hostname:
        return None
    return "%s.%s.%s.%s" % (hostname, service, namespace, suffix) if suffix else hostname


class Strategy(BaseStrategy):
    name = "k8s"

    def __init__(self, cfg):
        super().__init__(cfg)
        k = lambda s: cfg["cluster.k8s." + s]  # noqa: E731
        self.apiserver = k("apiserver").rstrip("/")
        self.service = k("service_name")
        self.namespace = k("namespace")
        self.address_type = k("address_type")
        self.suffix = k("suffix")
        self.app = k("app_name") or self.app
        self.include_not_ready = k("include_not_ready")
        self.token_file = k("token_file")
        self.cacertfile = k("cacertfile")
        self.opener = None

    def _token(self) -> str:
        try:
            with open(self.token_file, encoding="utf-8") as f:
                tok = f.read().strip()
        except OSError as e:
            raise DiscoveryError("k8s: cannot read the service-account token %s: %s (set cluster.k8s.token_file)"
                                 % (self.token_file, e.strerror)) from None
        if not tok:
            raise DiscoveryError("k8s: the service-account token file %s is empty" % self.token_file)
        return tok

    def _open(self):
        if self.opener is None:
            ctx = ssl.create_default_context(cafile=self.cacertfile if os.path.isfile(self.cacertfile) else None)
            self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                      urllib.request.HTTPSHandler(context=ctx))
        return self.opener

    def _get(self, path: str, token: str):
        """(status, parsed JSON or None)."""
        req = urllib.request.Request(self.apiserver + path, headers={
            "Authorization": "Bearer " + token, "Accept": "application/json"})
        try:
            with self._open().open(req, timeout=TIMEOUT) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, None
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", e)
            raise DiscoveryError("k8s: GET %s%s: %s" % (self.apiserver, path, reason)) from None

    def _lookup(self):
        token = self._token()
        ns = urllib.parse.quote(self.namespace, safe="")
        sel = urllib.parse.quote("kubernetes.io/service-name=" + self.service, safe="")
        path = "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices?labelSelector=%s" % (ns, sel)
        code, doc = self._get(path, token)
        if code == 200 and doc.get("items"):
            return "slices", doc
        if code not in (200, 403, 404):
            raise DiscoveryError("k8s: GET %s%s: HTTP %d%s" % (self.apiserver, path, code, _hint(code)))
        path = "/api/v1/namespaces/%s/endpoints/%s" % (ns, urllib.parse.quote(self.service, safe=""))
        code2, doc2 = self._get(path, token)
        if code2 == 200:
            return "endpoints", doc2
        if code2 == 404 and code == 200:
            return "slices", doc   # the service exists with no endpoints yet
        raise DiscoveryError("k8s: GET %s%s: HTTP %d%s" % (self.apiserver, path, code2, _hint(code2)))

    async def discover(self) -> list:
        kind, doc = await asyncio.to_thread(self._lookup)
        hosts = endpoint_hosts(doc, kind, self.include_not_ready)
        self.info = {"source": "EndpointSlice" if kind == "slices" else "Endpoints",
                     "addresses": sorted({ip for ip, _ in hosts})}
        names = set()
        for ip, hn in hosts:
            h = node_host(ip, hn, self.address_type, self.service, self.namespace, self.suffix)
            n = self.node_of(self.app, h) if h else None
            if n:
                names.add(n)
        return sorted(names)


def _hint(code: int) -> str:
    return {401: " (unauthorized: check the service-account token)",
            403: " (forbidden: the service account needs get/list on endpoints and endpointslices)",
            404: " (no such service or namespace)"}.get(code, "")
