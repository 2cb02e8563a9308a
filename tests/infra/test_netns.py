"""Namespaces on a bridge: TCP, multicast, partitions (both ways, one way, isolation), cleanup."""
import socket
import sys

import pytest

from harness import netns as netns_mod
from harness.netns import Network, sweep_leftovers
from harness.procs import ProcessGroup
from harness.wait import wait_until

ECHO_SERVER = """
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.create_server((sys.argv[1], int(sys.argv[2])), family=family)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"echo:" + c.recv(100))
    c.close()
"""


def _echo(host_ip: str, port: int, timeout: float = 1.0) -> bytes:
    with socket.create_connection((host_ip, port), timeout=timeout) as c:
        c.sendall(b"hi")
        return c.recv(100)


def _reachable(src, dst_ip, port) -> bool:
    try:
        return src.call(_echo, dst_ip, port, 0.5) == b"echo:hi"
    except OSError:
        return False


def test_tcp_partition_and_heal(netns):
    net = netns(3)
    n1, n2, n3 = net
    assert [h.ip for h in net] == [str(net.subnet.network_address + i) for i in (2, 3, 4)]
    servers = {h: h.start([sys.executable, "-c", ECHO_SERVER, h.ip, "7000"], name=f"echo-{h.name}")
               for h in net}
    for h, p in servers.items():
        wait_until(lambda: "listening" in p.stdout(), 10, message=f"echo server in {h.name}")
    assert n1.call(_echo, n2.ip, 7000) == b"echo:hi"
    assert net.controller.call(_echo, n3.ip, 7000) == b"echo:hi"

    net.partition([n1], [n2, n3])
    assert not _reachable(n1, n2.ip, 7000)
    assert not _reachable(n2, n1.ip, 7000)
    assert _reachable(n2, n3.ip, 7000)
    assert _reachable(net.controller, n1.ip, 7000)

    net.heal()
    wait_until(lambda: _reachable(n1, n2.ip, 7000), 5, message="n1 -> n2 after heal")
    assert _reachable(n2, n1.ip, 7000)

    net.isolate(n3)
    assert not _reachable(net.controller, n3.ip, 7000)
    assert n3.call(_echo, n3.ip, 7000) == b"echo:hi"  # its own address still works
    net.heal(n3)
    assert _reachable(net.controller, n3.ip, 7000)


def _mcast_receiver(group: str, port: int, iface_ip: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", port))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.inet_aton(group) + socket.inet_aton(iface_ip))
    s.settimeout(0.3)
    return s


def _mcast_send(group: str, port: int, iface_ip: str, payload: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface_ip))
        s.sendto(payload, (group, port))


def _received(sock: socket.socket, payload: bytes) -> bool:
    try:
        while True:
            data, _ = sock.recvfrom(1000)
            if data == payload:
                return True
    except socket.timeout:
        return False


def test_multicast_between_namespaces_and_partition(netns):
    net = netns(3, controller=False)
    n1, n2, n3 = net
    group, port = "239.192.0.7", 4369
    # Sockets keep the namespace they were created in, so the test can read them here.
    receivers = {h: h.call(_mcast_receiver, group, port, h.ip) for h in (n2, n3)}
    try:
        def delivered_to_all(payload: bytes) -> bool:
            n1.call(_mcast_send, group, port, n1.ip, payload)
            return all(_received(s, payload) for s in receivers.values())
        # IGMP joins reach the bridge asynchronously; resend until both got it.
        wait_until(lambda: delivered_to_all(b"hello"), 10, message="multicast n1 -> n2, n3")

        net.block(n1, n2)  # one way: n1's packets no longer reach n2
        n1.call(_mcast_send, group, port, n1.ip, b"after-block")
        assert _received(receivers[n3], b"after-block")
        assert not _received(receivers[n2], b"after-block")
        net.heal()
        wait_until(lambda: delivered_to_all(b"healed"), 10, message="multicast after heal")
    finally:
        for s in receivers.values():
            s.close()


def test_one_way_block_keeps_other_direction(netns):
    net = netns(2, controller=False)
    n1, n2 = net
    net.block(n1, n2)
    assert "drop" in n2.nft_ruleset() and "ekka_test" not in n1.nft_ruleset()
    s2 = n2.call(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    s1 = n1.call(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    try:
        n1.call(s1.bind, (n1.ip, 5000))
        n2.call(s2.bind, (n2.ip, 5000))
        s1.settimeout(0.3)
        s2.settimeout(0.3)
        s2.sendto(b"2to1", (n1.ip, 5000))
        assert s1.recvfrom(100)[0] == b"2to1"
        s1.sendto(b"1to2", (n2.ip, 5000))
        with pytest.raises(socket.timeout):
            s2.recvfrom(100)
    finally:
        s1.close()
        s2.close()


def test_ipv6_and_teardown_leaves_nothing(tmp_path):
    with ProcessGroup(tmp_path / "logs") as pg:
        with Network(pg, ["a", "b"], ipv6=True) as net:
            a, b = net
            tag = net.tag
            srv = b.start([sys.executable, "-c", ECHO_SERVER, b.ip6, "7001"], name="echo6")
            wait_until(lambda: "listening" in srv.stdout(), 10, message="echo server on IPv6")
            assert a.call(_echo, b.ip6, 7001) == b"echo:hi"
            a.set_resolv(["192.0.2.53"])
            assert "192.0.2.53" in a.run("cat /etc/resolv.conf").stdout
        assert not srv.alive()
    assert not [n for n in netns_mod._netns_names() if n.startswith(tag)]
    assert not [n for n in netns_mod._link_names() if n.startswith(tag)]
    assert not (netns_mod.Path("/etc/netns") / f"{tag}-a").exists()


def test_sweeper_removes_only_dead_owners(procs):
    dead = procs.start(["true"])
    dead.wait(10)  # reaped: its PID no longer names a live process
    dead_tag = f"ekt{netns_mod._b36(dead.pid, 5)}zzz"
    live_tag = f"ekt{netns_mod._b36(__import__('os').getpid(), 5)}zzz"
    made_ns = [f"{dead_tag}-x", f"{live_tag}-x"]
    made_links = [f"{dead_tag}br", f"{live_tag}br"]
    try:
        for ns in made_ns:
            netns_mod.sh(["ip", "netns", "add", ns])
        for link in made_links:
            netns_mod.sh(["ip", "link", "add", link, "type", "bridge"])
        removed = sweep_leftovers()
        assert f"netns {dead_tag}-x" in removed and f"link {dead_tag}br" in removed
        assert f"{live_tag}-x" in netns_mod._netns_names()
        assert f"{live_tag}br" in netns_mod._link_names()
        assert f"{dead_tag}-x" not in netns_mod._netns_names()
    finally:
        for ns in made_ns:
            netns_mod.sh(["ip", "netns", "del", ns], check=False)
        for link in made_links:
            netns_mod.sh(["ip", "link", "del", link], check=False)


def test_random_loss(netns):
    net = netns(2, controller=False)
    n1, n2 = net
    net.loss(n2, 30)
    assert "numgen random mod 100 < 30 drop" in n2.nft_ruleset()
    net.loss(n2, 100)
    sender = n1.call(socket.socket, socket.AF_INET, socket.SOCK_DGRAM)
    receiver = n2.call(socket.socket, socket.AF_INET, socket.SOCK_DGRAM)
    try:
        n2.call(receiver.bind, (n2.ip, 5001))
        receiver.settimeout(0.3)
        sender.sendto(b"lost", (n2.ip, 5001))
        with pytest.raises(socket.timeout):
            receiver.recvfrom(100)
        net.heal()
        sender.sendto(b"kept", (n2.ip, 5001))
        assert receiver.recvfrom(100)[0] == b"kept"
        with pytest.raises(ValueError, match="percent: 101"):
            net.loss(n2, 101)
    finally:
        sender.close()
        receiver.close()


def test_bad_host_names_are_clear_errors(procs):
    with pytest.raises(ValueError, match=r"hosts: \['a/b'\]"):
        Network(procs, ["a/b"])
    with pytest.raises(ValueError, match="'controller' is reserved"):
        Network(procs, ["controller"])
