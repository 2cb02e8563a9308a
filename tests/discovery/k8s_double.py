"""A stand-in for the Kubernetes API server (none can run here): HTTPS with a test CA, checks the
bearer token, serves EndpointSlice and Endpoints documents built with the official `kubernetes`
client's models and serialized by its ApiClient, so their JSON has the real API's shape."""
from __future__ import annotations

import json
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kubernetes import client as k

API = k.ApiClient()


def endpoint_slice(service: str, namespace: str, ready: list, not_ready: list = ()) -> dict:
    eps = [k.V1Endpoint(addresses=[ip], conditions=k.V1EndpointConditions(ready=True, serving=True),
                        hostname="pod-%d" % i) for i, ip in enumerate(ready)]
    eps += [k.V1Endpoint(addresses=[ip], conditions=k.V1EndpointConditions(ready=False, serving=False))
            for ip in not_ready]
    sl = k.V1EndpointSlice(
        api_version="discovery.k8s.io/v1", kind="EndpointSlice", address_type="IPv4", endpoints=eps,
        metadata=k.V1ObjectMeta(name=service + "-abcde", namespace=namespace,
                                labels={"kubernetes.io/service-name": service}),
        ports=[k.DiscoveryV1EndpointPort(name="dist", port=4370, protocol="TCP")])
    lst = k.V1EndpointSliceList(api_version="discovery.k8s.io/v1", kind="EndpointSliceList", items=[sl],
                                metadata=k.V1ListMeta(resource_version="1"))
    return API.sanitize_for_serialization(lst)


def endpoints(service: str, namespace: str, ready: list, not_ready: list = ()) -> dict:
    ss = k.V1EndpointSubset(addresses=[k.V1EndpointAddress(ip=ip, hostname="pod-%d" % i) for i, ip in enumerate(ready)],
                            not_ready_addresses=[k.V1EndpointAddress(ip=ip) for ip in not_ready] or None,
                            ports=[k.CoreV1EndpointPort(name="dist", port=4370, protocol="TCP")])
    ep = k.V1Endpoints(api_version="v1", kind="Endpoints", subsets=[ss],
                       metadata=k.V1ObjectMeta(name=service, namespace=namespace))
    return API.sanitize_for_serialization(ep)


class FakeApiServer:
    def __init__(self, cert, token: str, namespace: str = "default", service: str = "ekka"):
        self.token, self.namespace, self.service = token, namespace, service
        self.slices: dict | None = None      # None: the EndpointSlice API answers 404 (older cluster)
        self.endpoints: dict | None = None
        self.requests: list = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                owner.requests.append((self.path, self.headers.get("Authorization")))
                if self.headers.get("Authorization") != "Bearer " + owner.token:
                    return self.reply(401, {"kind": "Status", "code": 401, "reason": "Unauthorized"})
                u = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(u.query)
                ns = owner.namespace
                if u.path == "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices" % ns and owner.slices:
                    if q.get("labelSelector") == ["kubernetes.io/service-name=%s" % owner.service]:
                        return self.reply(200, owner.slices)
                    return self.reply(200, {"kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1",
                                            "items": [], "metadata": {}})
                if u.path == "/api/v1/namespaces/%s/endpoints/%s" % (ns, owner.service) and owner.endpoints:
                    return self.reply(200, owner.endpoints)
                self.reply(404, {"kind": "Status", "code": 404, "reason": "NotFound"})

            def reply(self, code, doc):
                body = json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert.cert), str(cert.key))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = "https://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
