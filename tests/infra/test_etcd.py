"""Debian's etcd: plain and mutual TLS from etcd3gw, rejected clients, a cluster in namespaces."""
import subprocess

import pytest
import requests
from etcd3gw.client import Etcd3Client
from etcd3gw.exceptions import ConnectionFailedError


def test_plain_put_get(etcd_server):
    c = etcd_server.client()
    assert c.put("/infra/k", "v1")
    assert c.get("/infra/k") == [b"v1"]
    assert etcd_server.url.startswith("http://127.0.0.1:")


def test_mtls_put_get_and_rejections(etcd_tls_server, certs):
    c = etcd_tls_server.client()
    assert c.put("/infra/tls", "secret")
    assert c.get("/infra/tls") == [b"secret"]

    def session(cert=None) -> requests.Session:
        s = requests.Session()
        s.trust_env = False
        s.verify = str(certs.ca_pem)
        s.cert = cert
        return s

    host, port = etcd_tls_server.host, etcd_tls_server.client_port
    no_cert = Etcd3Client(host=host, port=port, protocol="https", timeout=5, session=session())
    with pytest.raises(ConnectionFailedError):
        no_cert.get("/infra/tls")
    foreign = certs.other_client
    wrong_ca = Etcd3Client(host=host, port=port, protocol="https", timeout=5,
                           session=session((str(foreign.cert), str(foreign.key))))
    with pytest.raises(ConnectionFailedError):
        wrong_ca.get("/infra/tls")


def test_etcdctl_argv(etcd_tls_server):
    r = subprocess.run(etcd_tls_server.etcdctl("put", "/infra/ctl", "x"), capture_output=True,
                       text=True, env=dict(etcd_tls_server.client_env(), ETCDCTL_API="3"))
    assert r.returncode == 0, r.stderr
    assert etcd_tls_server.client().get("/infra/ctl") == [b"x"]


def test_cluster_in_namespaces(netns, procs, tmp_path):
    from harness.etcd import start_etcd_cluster
    net = netns(3)
    members = start_etcd_cluster(procs, tmp_path / "cluster", net.hosts)
    c1 = net.controller.call(members[0].client)
    net.controller.call(c1.put, "/infra/replicated", "yes")
    c3 = net.controller.call(members[2].client)
    assert net.controller.call(c3.get, "/infra/replicated") == [b"yes"]
