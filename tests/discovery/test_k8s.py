"""k8s discovery against an HTTPS stand-in for the API server (k8s_double.py): EndpointSlices,
the fallback to v1 Endpoints, ready-only addresses, Ekka's node-name table, the bearer token and
the CA check, and a missing token as a clear error."""
from __future__ import annotations

import json

from harness.wait import wait_until

from ekka_agent.discovery.k8s import endpoint_hosts, node_host

from .helpers import FAST, disc_status, wait_one_cluster
from .k8s_double import FakeApiServer, endpoint_slice, endpoints


def k8s_extra(url: str, token_file, cacert, more: str = "") -> str:
    return FAST + ('cluster { discovery_strategy = k8s, k8s { apiserver = "%s", service_name = ekka, '
                   'namespace = default, token_file = %s, cacertfile = %s %s } }\n'
                   % (url, json.dumps(str(token_file)), json.dumps(str(cacert)), more))


def test_endpoint_slices_ready_only(agents, certs, tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cr3t-token\n")
    ips = [agents.ip(i) for i in (1, 2, 3)]
    with FakeApiServer(certs.server, "s3cr3t-token") as api:
        api.slices = endpoint_slice("ekka", "default", ips, not_ready=[agents.ip(4)])
        nodes = agents.start_all(["ekka@" + ip for ip in ips], k8s_extra(api.url, token, certs.ca_pem))
        wait_one_cluster(nodes)
        st = disc_status(nodes[0])
        assert st["discovered"] == sorted("ekka@" + ip for ip in ips)     # the not-ready pod is left out
        assert st["strategy_info"]["source"] == "EndpointSlice"
        assert all(auth == "Bearer s3cr3t-token" for _, auth in api.requests)


def test_endpoints_fallback_and_token_errors(agents, certs, tmp_path):
    token = tmp_path / "token"
    token.write_text("tok-1")
    ips = [agents.ip(i) for i in (1, 2)]
    with FakeApiServer(certs.server, "tok-1") as api:
        api.endpoints = endpoints("ekka", "default", ips)
        nodes = agents.start_all(["ekka@" + ip for ip in ips], k8s_extra(api.url, token, certs.ca_pem))
        wait_one_cluster(nodes)
        assert disc_status(nodes[1])["strategy_info"]["source"] == "Endpoints"
        # a wrong token: HTTP 401 with a hint, retried, never a crash
        token.write_text("wrong")
        st = wait_until(lambda: (lambda s: s if "401" in s["error"] else None)(disc_status(nodes[0])), 15,
                        message="a 401 reported")
        assert "check the service-account token" in st["error"]
        token.unlink()
        st = wait_until(lambda: (lambda s: s if "token" in s["error"] and "cannot read" in s["error"] else None)(
            disc_status(nodes[0])), 15, message="the missing token reported")
        assert st["error"].endswith("cannot read the service-account token %s: No such file or directory "
                                    "(set cluster.k8s.token_file)" % token)
        assert all(n.proc.alive() for n in nodes)


def test_api_server_certificate_is_verified(agents, certs, tmp_path):
    token = tmp_path / "token"
    token.write_text("tok")
    with FakeApiServer(certs.server, "tok") as api:
        api.endpoints = endpoints("ekka", "default", [agents.ip(1)])
        n = agents.add(agents.name(1), extra=k8s_extra(api.url, token, certs.other_ca_pem))
        st = wait_until(lambda: (lambda s: s if s["error"] else None)(disc_status(n)), 15, message="a TLS error")
        assert "CERTIFICATE_VERIFY_FAILED" in st["error"] and api.requests == []


def test_node_name_table_and_documents():
    ep = endpoints("ekka", "ns1", ["10.0.0.1", "10.0.0.2"], not_ready=["10.0.0.3"])
    assert endpoint_hosts(ep, "endpoints", False) == [("10.0.0.1", "pod-0"), ("10.0.0.2", "pod-1")]
    assert len(endpoint_hosts(ep, "endpoints", True)) == 3
    sl = endpoint_slice("ekka", "ns1", ["10.0.0.1"], not_ready=["10.0.0.3"])
    assert endpoint_hosts(sl, "slices", False) == [("10.0.0.1", "pod-0")]
    assert endpoint_hosts(sl, "slices", True)[1] == ("10.0.0.3", None)
    assert node_host("10.0.0.1", "pod-0", "ip", "ekka", "ns1", "pod.local") == "10.0.0.1"
    assert node_host("10.0.0.1", "pod-0", "dns", "ekka", "ns1", "pod.local") == "10-0-0-1.ns1.pod.local"
    assert node_host("10.0.0.1", "pod-0", "dns", "ekka", "ns1", "") == "10-0-0-1"
    assert node_host("10.0.0.1", "pod-0", "hostname", "ekka", "ns1", "svc.cluster.local") == \
        "pod-0.ekka.ns1.svc.cluster.local"
    assert node_host("10.0.0.1", "pod-0", "hostname", "ekka", "ns1", "") == "pod-0"
    assert node_host("10.0.0.1", None, "hostname", "ekka", "ns1", "x") is None
