"""free_port(s): distinct, bindable, also inside a namespace."""
import socket

import pytest

from harness.ports import free_port, free_ports


def test_free_ports_are_distinct_and_bindable():
    ports = free_ports(5, "127.0.0.1", "both")
    assert len(set(ports)) == 5
    for p in ports:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            with socket.socket(socket.AF_INET, kind) as s:
                s.bind(("127.0.0.1", p))
    assert free_port("::1", "udp") not in ports


def test_free_port_inside_netns(netns):
    net = netns(1, controller=False)
    h = net[0]
    port = free_port(h.ip, "tcp", netns=h.ns)
    sock = h.call(socket.create_server, (h.ip, port))
    sock.close()


def test_bad_proto_is_a_clear_error():
    with pytest.raises(ValueError, match="proto: 'sctp'"):
        free_port(proto="sctp")
