"""`ekka-agent check`: every bad value gets one clear line (key, value, what is allowed) and exit 2."""
from __future__ import annotations

import json
import subprocess

import pytest
from harness.agents import AGENT

GOOD = 'node { name = "ekka1@127.0.0.1", cookie = "s3cret-cookie", data_dir = "/tmp/x" }\n'


def check(tmp_path, text, env=None, *extra):
    f = tmp_path / "ekka.conf"
    f.write_text(text)
    return subprocess.run([AGENT, "check", "-c", str(f), *extra], capture_output=True, text=True,
                          env=dict({"PATH": "/usr/bin:/bin"}, **(env or {})))


def test_good_config(tmp_path):
    r = check(tmp_path, GOOD + "cluster { discovery_strategy = static, static.seeds = [\"ekka1@127.0.0.1\"] }")
    assert (r.returncode, r.stdout.strip()) == (0, "config OK: node ekka1@127.0.0.1, cluster ekkacl, discovery static")


BAD = [
    ('node { cookie = "s3cret-cookie" }', "node.name: missing"),
    ('node { name = "ekka1", cookie = "s3cret-cookie" }', "node.name = 'ekka1': must be node name 'ekka1' must have exactly one '@'"),
    ('node { name = "ekka1@localhost", cookie = "s3cret-cookie" }', "neither an IP address nor a fully qualified domain name"),
    ('node { name = "-x@127.0.0.1", cookie = "s3cret-cookie" }', "not starting with '-'"),
    ('node { name = "e@1.2.3.4.5", cookie = "s3cret-cookie" }', "is not a valid domain name"),
    ('node { name = "ekka1@127.0.0.1" }', "node.cookie: missing"),
    ('node { name = "ekka1@127.0.0.1", cookie = "emqxsecretcookie" }', "well-known sample cookie"),
    ('node { name = "ekka1@127.0.0.1", cookie = "has space" }', "no quotes, backslashes or whitespace"),
    ('node { name = "ekka1@127.0.0.1", cookie = "%s" }' % ("x" * 256), "1 to 255 bytes"),
    (GOOD + "cluster.proto_dist = inet_udp", "cluster.proto_dist = 'inet_udp': must be one of inet_tcp, inet6_tcp, inet_tls"),
    (GOOD + "cluster.discovery_strategy = zeroconf", "cluster.discovery_strategy = 'zeroconf': must be one of manual"),
    (GOOD + 'cluster.probe_interval = "soon"', "cluster.probe_interval = 'soon': must be a duration"),
    (GOOD + 'cluster.heartbeat_interval = "soon"',
     "cluster.probe_interval = 'soon' (written as cluster.heartbeat_interval): must be a duration"),
    (GOOD + "cluster.static.seeds = [\"a@b\"]", "cluster.static.seeds = ['a@b']: must be host 'b' is neither"),
    (GOOD + "cluster.autoheel = true", "cluster.autoheel: unknown key"),
    (GOOD + "cluster.proto_dist = inet_tls", "cluster.ssl.certfile = '': must be set when cluster.proto_dist = inet_tls"),
    (GOOD + "cluster.proto_dist = inet6_tcp", "node.name 'ekka1@127.0.0.1' has an IPv4 host"),
    (GOOD + "node { epmd = true, dist_listen_min = 7000, dist_listen_max = 6000 }", "node.dist_listen_min = 7000 is above"),
    (GOOD + "node.dist_listen_min = 99999", "node.dist_listen_min = '99999': must be an integer from 1 to 65535"),
    (GOOD + 'cluster { probe_interval = 3s, failure_timeout = 1s }', "must be longer than cluster.probe_interval"),
    ("node { name = ", "ekka.conf: line 1: expected a value, found the end of the file"),
    (GOOD + "node.control_socket_mode = 0400", "node.control_socket_mode = '0400': must be an octal mode from 0600"),
]


@pytest.mark.parametrize("text,expect", BAD, ids=[b[1][:40] for b in BAD])
def test_bad_config(tmp_path, text, expect):
    r = check(tmp_path, text)
    assert r.returncode == 2, r.stdout
    assert expect in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert all(line.startswith("ekka-agent: ") for line in r.stderr.splitlines())


def test_problems_are_all_listed_one_per_line(tmp_path):
    r = check(tmp_path, 'node { name = "x", cookie = "ekka" }\ncluster { proto_dist = x, name = "a b" }')
    assert r.returncode == 2
    assert len(r.stderr.splitlines()) == 4, r.stderr


def test_missing_file(tmp_path):
    r = subprocess.run([AGENT, "check", "-c", str(tmp_path / "nope.conf")], capture_output=True, text=True)
    assert r.returncode == 2 and "cannot read the config file" in r.stderr and "Traceback" not in r.stderr


def test_environment_overrides_with_double_underscore(tmp_path):
    r = check(tmp_path, GOOD, {"EKKA_NODE__NAME": "ekka7@10.0.0.7", "EKKA_CLUSTER__DISCOVERY_STRATEGY": "static",
                               "EKKA_CLUSTER__NAME": "prod"})
    assert r.stdout.splitlines() == ["config OK: node ekka7@10.0.0.7, cluster prod, discovery static",
                                     "environment: EKKA_CLUSTER__DISCOVERY_STRATEGY, EKKA_CLUSTER__NAME, EKKA_NODE__NAME"]


def test_emqx4_flat_form_is_read(tmp_path):
    text = ("## an EMQX 4 emqx.conf\nnode.name = emqx1@10.0.0.1\nnode.cookie = my-own-cookie-9\n"
            "cluster.name = emqxcl\ncluster.discovery = static\ncluster.static.seeds = emqx1@10.0.0.1,emqx2@10.0.0.2\n")
    r = check(tmp_path, text)
    assert r.stdout.strip() == "config OK: node emqx1@10.0.0.1, cluster emqxcl, discovery static", r.stderr


def test_cookie_from_a_file(tmp_path):
    (tmp_path / "cookie").write_text("file-held-cookie\n")
    r = check(tmp_path, 'node { name = "e@10.0.0.1", cookie = "file://%s" }' % (tmp_path / "cookie"))
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("name,mode,ports", [
    ("emqx@10.0.0.1", "ekka", [("dist", 4370, 4370), ("rpc", 5370, 5370)]),
    ("emqx1@10.0.0.1", "ekka", [("dist", 4371, 4371), ("rpc", 5371, 5371)]),
    ("emqx-1@s1.example.com", "ekka", [("dist", 4371, 4371), ("rpc", 5371, 5371)]),
    ("emqx10@::1", "ekka", [("dist", 4380, 4380), ("rpc", 5380, 5380)]),
    ("emqx2@10.0.0.1", "epmd", [("epmd", 4369, 4369), ("dist", 6369, 7369), ("rpc", 5372, 5372)]),
])
def test_ports_command(tmp_path, name, mode, ports):
    text = 'node { name = "%s", cookie = "s3cret-cookie" }\n' % name
    if ":" in name:
        text += "cluster.proto_dist = inet6_tcp\n"
    if mode == "epmd":
        text += "node { epmd = true, dist_listen_min = 6369, dist_listen_max = 7369 }\n"
    f = tmp_path / "e.conf"
    f.write_text(text)
    out = json.loads(subprocess.run([AGENT, "ports", "-c", str(f), "--json"], capture_output=True, text=True,
                                    check=True).stdout)
    assert out["node"] == name and out["mode"] == mode
    assert [(p["purpose"], p["port"], p["end"]) for p in out["ports"]] == ports


def test_with_epmd_environment_switches_mode(tmp_path):
    f = tmp_path / "e.conf"
    f.write_text('node { name = "emqx@10.0.0.1", cookie = "s3cret-cookie" }\n')
    r = subprocess.run([AGENT, "ports", "-c", str(f)], capture_output=True, text=True, env={"WITH_EPMD": "1"})
    assert "mode:   epmd" in r.stdout and "tcp/4369" in r.stdout


def test_cookie_with_hash_from_the_environment_is_not_cut(agents):
    """EKKA_NODE__COOKIE='Kq7vX2pL#m9RtZ4wB' is that whole secret: the node cannot join one holding
    the cookie cut at the '#', and does join one holding the whole cookie."""
    from ekka_agent.config.cookie import fingerprint
    whole, cut = "Kq7vX2pL#m9RtZ4wB", "Kq7vX2pL"
    holder_of_cut = agents.add(agents.name(1), cookie=cut)
    from_env = agents.add(agents.name(2), env={"EKKA_NODE__COOKIE": whole})
    holder_of_whole = agents.add(agents.name(3), cookie=whole)
    st = json.loads(from_env.ctl("cluster", "status", "--json").stdout)
    assert st["cookie_fingerprint"] == fingerprint(whole) != fingerprint(cut)
    r = from_env.ctl("cluster", "join", holder_of_cut.name)
    assert (r.returncode, r.stdout.strip()) == (1, "Failed to join the cluster: {bad_cookie,'%s'}" % holder_of_cut.name)
    assert from_env.ctl("cluster", "join", holder_of_whole.name).returncode == 0
    agents.wait_running([from_env, holder_of_whole], [from_env, holder_of_whole])
    assert holder_of_cut.running() == [holder_of_cut.name]


def test_ports_with_rpc_port_discovery_manual(tmp_path):
    """EMQX's rpc.port_discovery = manual: the RPC port is rpc.tcp_server_port, whatever the name."""
    f = tmp_path / "emqx.conf"
    f.write_text('node { name = "emqx7@10.0.0.7", cookie = "s3cret-cookie" }\n'
                 "rpc { port_discovery = manual, tcp_server_port = 5369 }\n")
    out = json.loads(subprocess.run([AGENT, "ports", "-c", str(f), "--json"], capture_output=True, text=True,
                                    check=True).stdout)
    assert [(p["purpose"], p["port"]) for p in out["ports"]] == [("dist", 4377), ("rpc", 5369)]


def test_rpc_port_discovery_manual_nodes_cluster_on_the_fixed_port(agents):
    """Two nodes with rpc.port_discovery = manual listen for RPC on rpc.tcp_server_port (each on its
    own address) and reach each other there: they join and replicate a write."""
    import socket
    extra = "rpc { port_discovery = manual, tcp_server_port = 5369 }"
    n1, n2 = (agents.add(agents.name(i), extra=extra) for i in (1, 2))
    with socket.create_connection((agents.ip(1), 5369), timeout=5):
        pass
    assert n2.ctl("cluster", "join", n1.name).returncode == 0
    agents.wait_running([n1, n2], [n1, n2])
    assert n1.call("kv_put", key="k", value="v")["acked"] == [n2.name]     # replicated over RPC
