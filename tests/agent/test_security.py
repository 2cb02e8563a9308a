"""Only nodes holding the cookie, in the same cluster, with a trusted certificate get in; and
nothing a stranger sends takes a node down."""
from __future__ import annotations

import socket
import struct

from harness.wait import wait_until


def test_wrong_cookie_is_refused_and_logged(agents):
    n1 = agents.add(agents.name(1))
    intruder = agents.add(agents.name(2), cookie="another-secret-cookie")
    r = intruder.ctl("cluster", "join", n1.name)
    assert (r.returncode, r.stdout.strip()) == (1, "Failed to join the cluster: {bad_cookie,'%s'}" % n1.name)
    wait_until(lambda: "does not hold our cookie" in n1.proc.stderr(), 5, message="n1 to log the refusal")
    assert agents.ip(2) in n1.proc.stderr()          # with the peer's address
    assert n1.running() == [n1.name]
    assert "emqxsecret" not in intruder.proc.stderr()


def test_another_clusters_name_is_refused(agents):
    n1 = agents.add(agents.name(1))
    other = agents.add(agents.name(2), cluster="othercl")
    r = other.ctl("cluster", "join", n1.name)
    assert (r.returncode, r.stdout.strip()) == (1, "Failed to join the cluster: {cluster_name_mismatch,'%s',"
                                                   "\"testcl\"}" % n1.name)
    wait_until(lambda: "is in cluster 'othercl', not 'testcl'" in n1.proc.stderr() + other.proc.stderr(), 5,
               message="the cluster-name refusal in a log")


def _tls(files) -> str:
    return ('cluster { proto_dist = inet_tls\n ssl { certfile = "%s", keyfile = "%s", cacertfile = "%s" } }'
            % (files.cert, files.key, files.ca))


def test_tls_cluster_and_a_peer_from_another_ca_is_refused(agents, certs):
    ids = [agents.ip(i) for i in (1, 2, 3)]
    good = [certs.issue("node%d" % i, ids[i - 1]) for i in (1, 2)]
    n1 = agents.add(agents.name(1), extra=_tls(good[0]))
    n2 = agents.add(agents.name(2), extra=_tls(good[1]))
    assert n2.ctl("cluster", "join", n1.name).returncode == 0
    agents.wait_running([n1, n2], [n1, n2])
    assert n1.ctl("kv", "put", "over", "tls").returncode == 0
    wait_until(lambda: n2.ctl("kv", "get", "over").stdout.strip() == "tls", 5, message="a write over TLS")

    rogue_files = certs.issue("rogue", ids[2], ca=certs.other_ca)
    # The rogue trusts our CA (it may have stolen the bundle) but its own cert is from another CA.
    rogue_cfg = _tls(rogue_files).replace(str(rogue_files.ca), str(certs.ca_pem))
    rogue = agents.add(agents.name(3), extra=rogue_cfg)
    r = rogue.ctl("cluster", "join", n1.name)
    assert r.returncode == 1 and "node_down" in r.stdout
    assert n1.running() == sorted([n1.name, n2.name])


def test_plain_tcp_peer_cannot_reach_a_tls_node(agents, certs):
    n1 = agents.add(agents.name(1), extra=_tls(certs.issue("n1", agents.ip(1))))
    plain = agents.add(agents.name(2))
    assert plain.ctl("cluster", "join", n1.name).returncode == 1


def test_garbage_on_the_cluster_and_rpc_ports_leaves_the_node_serving(agents):
    n1, n2 = agents.add(agents.name(1)), agents.add(agents.name(2))
    for port in (4371, 5371):
        for junk in (b"\x00\x00\x00\x05hello", b"GET / HTTP/1.1\r\n\r\n", struct.pack(">I", 2**31) + b"x" * 64,
                     b"\xff" * 10000):
            with socket.create_connection((agents.ip(1), port), timeout=5) as s:
                s.sendall(junk)
                s.settimeout(5)
                try:
                    while s.recv(4096):
                        pass
                except (ConnectionResetError, socket.timeout):
                    pass
    assert n2.ctl("cluster", "join", n1.name).returncode == 0
    agents.wait_running([n1, n2], [n1, n2])
    assert n1.proc.alive()


def test_oversized_frame_after_handshake_closes_only_that_connection(agents):
    """A member that sends a frame over the limit loses that connection, not the node."""
    from ekka_agent.core.handshake import Dialer, read
    from ekka_agent.core.messages import to_wire
    from ekka_agent.core.wire import FrameDecoder, encode
    n1 = agents.add(agents.name(1))
    s = socket.create_connection((agents.ip(1), 4371), timeout=5)
    dec = FrameDecoder(4096)
    hello = None
    while hello is None:
        msgs = dec.feed(s.recv(4096))
        hello = msgs[0] if msgs else None
    d = Dialer(agents.name(7), agents.cookie, "testcl", "cluster", expect=n1.name)
    s.sendall(encode(to_wire(d.receive_hello(read(hello, d.HELLO)))))
    ok = []
    while not ok:
        ok = dec.feed(s.recv(4096))
    d.receive_ok(read(ok[0], d.ANSWER))
    s.sendall(struct.pack(">I", 50 * 1024 * 1024))
    s.settimeout(5)
    while s.recv(65536):                # whatever the node had sent, then its close
        pass
    s.close()
    assert n1.status()["node"] == n1.name
    wait_until(lambda: "over the limit" in n1.proc.stderr(), 5, message="the oversized frame logged")
