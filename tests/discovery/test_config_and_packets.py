"""Discovery config rules (clear errors, exit 2, no traceback) and the mcast packet format."""
from __future__ import annotations

import subprocess

import pytest

from harness.agents import AGENT

from ekka_agent.config import ConfigError, load_config
from ekka_agent.discovery.dns import split_server
from ekka_agent.discovery.mcast import derive_key, pack, unpack
from ekka_agent.etcd_url import Endpoint, parse_endpoint

BASE = 'node { name = "%s", cookie = "k-5f2a9c" }\n'


def problems(text: str, name: str = "ekka@10.0.0.1") -> list:
    try:
        load_config(None, environ={}, text=BASE % name + text)
    except ConfigError as e:
        return e.problems
    return []


@pytest.mark.parametrize("name,text,expect", [
    ("ekka@s1.example.com", "cluster { discovery_strategy = mcast }",
     "cluster.mcast.iface = '0.0.0.0': must be set to this node's IPv4 interface address"),
    ("ekka@10.0.0.1", "cluster { discovery_strategy = etcd }",
     "cluster.etcd.server = []: must name at least one endpoint"),
    ("ekka@10.0.0.1", 'cluster { discovery_strategy = etcd, etcd.server = "ftp://x:1" }',
     "cluster.etcd.server: 'ftp://x:1' is not an etcd endpoint such as http://127.0.0.1:2379"),
    ("ekka@10.0.0.1", 'cluster { discovery_strategy = k8s, k8s.apiserver = "http://k:80" }',
     "cluster.k8s.apiserver = 'http://k:80': must be an https:// URL"),
    ("ekka@10.0.0.1", 'cluster { mcast.addr = "10.1.1.1" }',
     "cluster.mcast.addr = '10.1.1.1': must be an IPv4 multicast address"),
    ("ekka@10.0.0.1", "cluster { dns.record_type = mx }", "cluster.dns.record_type = 'mx': must be one of a, aaaa, srv"),
    ("ekka@10.0.0.1", "cluster { autocluster { retry_min = 2s, retry_max = 1s } }",
     "cluster.autocluster.retry_max = 1000ms: must be at least retry_min (2000ms)"),
])
def test_config_errors(name, text, expect):
    got = problems(text, name)
    assert any(p.startswith(expect) for p in got), got


def test_valid_configs_and_emqx4_forms():
    assert problems('cluster { discovery_strategy = etcd, etcd { server = "http://a:2379,https://b:2379" } }') == []
    assert problems('cluster { discovery_strategy = mcast, mcast { ports = "4369,4370" } }') == []
    assert problems('cluster { discovery_strategy = dns, dns { name = x.test, record_type = srv } }',
                    "ekka@s1.example.com") == []


def test_check_command_says_what_is_wrong(tmp_path):
    conf = tmp_path / "e.conf"
    conf.write_text(BASE % "ekka@10.0.0.1" + "cluster { discovery_strategy = etcd }\n")
    r = subprocess.run([AGENT, "check", "-c", str(conf)], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "cluster.etcd.server = []" in r.stderr


def test_servers_parsing():
    assert split_server("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert split_server("[::1]:5353") == ("::1", 5353) and split_server("::1") == ("::1", 53)
    # The one etcd endpoint rule (etcd_url.py), for discovery and the lock strategy alike.
    assert [parse_endpoint(s) for s in ("h1:2379", "https://h2")] == [("http", "h1", 2379), ("https", "h2", 2379)]
    assert Endpoint("https", "::1", 2379).url == "https://[::1]:2379" == parse_endpoint("https://[::1]").url


def test_mcast_packets():
    key = derive_key("cookie-1", "cl")
    p = pack(key, "ping", "a@10.0.0.1", "cl")
    assert unpack(key, "cl", p)[0]["node"] == "a@10.0.0.1"
    assert b"cookie-1" not in p
    assert unpack(derive_key("cookie-2", "cl"), "cl", p) == (None, "forged")
    assert unpack(key, "other", p) == (None, "foreign")
    assert unpack(key, "cl", p[:-1] + b"x") == (None, "corrupt")       # body no longer JSON
    tampered = p.replace(b"a@10.0.0.1", b"b@10.0.0.1")
    assert unpack(key, "cl", tampered) == (None, "forged")
    assert unpack(key, "cl", b"junk") == (None, "corrupt")
