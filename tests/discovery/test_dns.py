"""dns discovery against a real dnsmasq: A records on loopback, SRV and AAAA between network
namespaces, and the config rule that a/aaaa need name@IP of that family."""
from __future__ import annotations

import json
import subprocess

from harness.agents import AGENT

from .helpers import FAST, disc_status, wait_one_cluster


def dns_extra(name: str, rtype: str, server: str) -> str:
    return FAST + ('cluster { discovery_strategy = dns, dns { name = "%s", record_type = %s, servers = [%s] } }\n'
                   % (name, rtype, json.dumps(server)))


def test_a_records_on_loopback(agents, dnsmasq):
    ips = [agents.ip(i) for i in (1, 2, 3)]
    dns = dnsmasq(a={"ekka.test": ips})
    extra = dns_extra("ekka.test", "a", "%s:%d" % (dns.address, dns.port))
    nodes = [agents.add("ekka@" + ip, extra=extra, start=False) for ip in ips]
    for n in nodes:
        n.start(wait=False)
    for n in nodes:
        n.wait_ready()
    wait_one_cluster(nodes)
    st = disc_status(nodes[0])
    assert st["discovered"] == sorted("ekka@" + ip for ip in ips)
    assert st["strategy_info"]["records"] == sorted(ips)


def test_srv_records_between_namespaces(agents, dnsmasq, netns):
    net = netns(3)
    ctl = net.controller
    names = {"s%d.ekka.test" % i: h.ip for i, h in enumerate(net, 1)}
    dns = dnsmasq(listen=ctl.ip, netns=ctl.ns, a={n: [ip] for n, ip in names.items()},
                  srv=[("_ekka._tcp.ekka.test", n, 4370) for n in names])
    extra = dns_extra("_ekka._tcp.ekka.test", "srv", "%s:%d" % (dns.address, dns.port))
    nodes = []
    for h, n in zip(net, names):
        h.set_hosts(names)   # the agents reach ekka@sN.ekka.test through /etc/hosts in their netns
        nodes.append(agents.add("ekka@" + n, host=h, extra=extra, start=False))
    for n in nodes:
        n.start(wait=False)
    for n in nodes:
        n.wait_ready()
    wait_one_cluster(nodes)
    assert disc_status(nodes[1])["discovered"] == sorted("ekka@" + n for n in names)


def test_aaaa_records_between_namespaces(agents, dnsmasq, netns):
    net = netns(2, ipv6=True)
    ctl = net.controller
    dns = dnsmasq(listen=ctl.ip, netns=ctl.ns, aaaa={"ekka6.test": [h.ip6 for h in net]})
    extra = dns_extra("ekka6.test", "aaaa", "%s:%d" % (dns.address, dns.port))
    extra += "cluster { proto_dist = inet6_tcp }\n"
    nodes = [agents.add("ekka@" + h.ip6, host=h, extra=extra, start=False) for h in net]
    for n in nodes:
        n.start(wait=False)
    for n in nodes:
        n.wait_ready()
    wait_one_cluster(nodes)


def test_a_record_type_needs_an_ip_node_name(agents, tmp_path):
    conf = tmp_path / "e.conf"
    conf.write_text(agents.config_text("ekka@s1.example.com", tmp_path / "d",
                                       dns_extra("ekka.test", "a", "127.0.0.1:53")))
    r = subprocess.run([AGENT, "check", "-c", str(conf)], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "node.name = 'ekka@s1.example.com': must be name@<IPv4 address>" in r.stderr
    conf.write_text(agents.config_text("ekka@127.0.0.1", tmp_path / "d",
                                       dns_extra("ekka6.test", "aaaa", "127.0.0.1:53")))
    r = subprocess.run([AGENT, "check", "-c", str(conf)], capture_output=True, text=True)
    assert r.returncode == 2 and "must be name@<IPv6 address>" in r.stderr
