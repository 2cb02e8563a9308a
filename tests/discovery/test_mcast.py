"""mcast discovery with real UDP multicast: on loopback (root namespace, interface set to each
node's 127.x address) and between network namespaces on a bridge. Packets carry an HMAC from the
cookie, never the cookie or a plain hash of it; forged and foreign packets are dropped and counted."""
from __future__ import annotations

import hashlib
import secrets
import socket

from harness.ports import free_port
from harness.wait import wait_until

from ekka_agent.discovery.mcast import derive_key, pack

from .helpers import FAST, disc_status, wait_one_cluster


def group_and_port():
    # A group and port of this test alone, so concurrent runs never hear each other.
    return "239.192.%d.%d" % (secrets.randbelow(250) + 1, secrets.randbelow(250) + 1), free_port("127.0.0.1", "udp")


def mcast_extra(group: str, port: int) -> str:
    return FAST + 'cluster { discovery_strategy = mcast, mcast { addr = "%s", ports = [%d], ttl = 1, wait = 300ms } }\n' % (
        group, port)


def listener(group: str, port: int, iface: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((group, port))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + socket.inet_aton(iface))
    s.settimeout(10)
    return s


def sender(iface: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface))  # never INADDR_ANY
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    return s


def test_loopback_autocluster_and_packet_checks(agents):
    group, port = group_and_port()
    names = [agents.name(i) for i in (1, 2, 3)]
    lst = listener(group, port, agents.ip(9))
    try:
        nodes = [agents.add(n, extra=mcast_extra(group, port), start=False) for n in names]
        for n in nodes:
            n.start(wait=False)
        for n in nodes:
            n.wait_ready()
        wait_one_cluster(nodes)
        data, _ = lst.recvfrom(4096)
    finally:
        lst.close()
    cookie = agents.cookie.encode()
    assert cookie not in data and hashlib.sha256(cookie).hexdigest().encode() not in data
    assert hashlib.sha256(cookie).digest() not in data
    assert b'"cluster":"testcl"' in data

    # forged (right cluster name, wrong key) and foreign (other cluster name) packets
    out = sender(agents.ip(9))
    try:
        ghost = agents.name(50)
        out.sendto(pack(derive_key("not-the-cookie", "testcl"), "ping", ghost, "testcl"), (group, port))
        out.sendto(pack(derive_key(agents.cookie, "othercl"), "ping", ghost, "othercl"), (group, port))
        out.sendto(b"garbage", (group, port))
    finally:
        out.close()

    def counted():
        p = disc_status(nodes[0])["strategy_info"]["packets"]
        return p if p["forged"] >= 1 and p["foreign"] >= 1 and p["corrupt"] >= 1 else None
    wait_until(counted, 10, message="forged/foreign/corrupt packets counted")
    st = disc_status(nodes[0])
    assert ghost not in st["discovered"] and st["discovered"] == names
    assert st["strategy_info"]["interface"] == agents.ip(1)


def test_between_namespaces(agents, netns):
    net = netns(3)
    group, port = "239.192.%d.%d" % (secrets.randbelow(250) + 1, secrets.randbelow(250) + 1), 4369
    nodes = [agents.add("ekka@" + h.ip, host=h, extra=mcast_extra(group, port), start=False) for h in net]
    for n in nodes:
        n.start(wait=False)
    for n in nodes:
        n.wait_ready()
    wait_one_cluster(nodes)
    assert disc_status(nodes[2])["discovered"] == sorted(n.name for n in nodes)
