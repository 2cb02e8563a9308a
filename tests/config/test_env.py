"""Environment overrides of every kind of value, through `ekka-agent check --effective`: a scalar is
taken byte for byte, a list key takes commas or an array, EMQX_ is read as EMQX reads it and
EKKA_ wins; what cannot be read is one line naming the variable."""
from __future__ import annotations

import pytest

from helpers import PREFIX, effective, expected, run_check

BASE = 'node { name = "emqx@10.0.0.1", cookie = "file-cookie-9" }\n'
NODE = {"node.name": "emqx@10.0.0.1", "node.cookie": "file-cookie-9"}

READ = [
    ("cookie with '#'", {"EKKA_NODE__COOKIE": "Kq7vX2pL#m9RtZ4wB"}, {"node.cookie": "Kq7vX2pL#m9RtZ4wB"}),
    ("cookie with leading zeros", {"EMQX_NODE__COOKIE": "000123"}, {"node.cookie": "000123"}),
    ("cookie like a float", {"EKKA_NODE__COOKIE": "1e400"}, {"node.cookie": "1e400"}),
    ("cookie 'true'", {"EKKA_NODE__COOKIE": "true"}, {"node.cookie": "true"}),
    ("cookie with '//' and '${'", {"EKKA_NODE__COOKIE": "a//b${c}d"}, {"node.cookie": "a//b${c}d"}),
    ("string with leading zeros", {"EKKA_CLUSTER__NAME": "000123"}, {"cluster.name": "000123"}),
    ("string 'true'", {"EKKA_CLUSTER__NAME": "true"}, {"cluster.name": "true"}),
    ("boolean 'true'", {"EKKA_CLUSTER__AUTOHEAL": "off"}, {"cluster.autoheal": False}),
    ("integer with leading zeros", {"EKKA_CLUSTER__MCAST__TTL": "007"}, {"cluster.mcast.ttl": 7}),
    ("duration, EMQX's forms", {"EMQX_CLUSTER__AUTOCLEAN": "24H", "EKKA_CLUSTER__AUTOHEAL_WINDOW": "1h30m"},
     {"cluster.autoclean": 86400000, "cluster.autoheal_window": 5400000}),
    ("etcd servers, comma form", {"EMQX_CLUSTER__ETCD__SERVER": "http://h1.example.com:2379,http://h2.example.com:2379"},
     {"cluster.etcd.server": ["http://h1.example.com:2379", "http://h2.example.com:2379"]}),
    ("dns servers, comma form", {"EKKA_CLUSTER__DNS__SERVERS": "127.0.0.1:5353, 10.0.0.53"},
     {"cluster.dns.servers": ["127.0.0.1:5353", "10.0.0.53"]}),
    ("seeds, comma form", {"EMQX_CLUSTER__STATIC__SEEDS": "emqx@10.0.0.1,emqx@10.0.0.2"},
     {"cluster.static.seeds": ["emqx@10.0.0.1", "emqx@10.0.0.2"]}),
    ("seeds, JSON array", {"EMQX_CLUSTER__STATIC__SEEDS": '["emqx@10.0.0.1", "emqx@10.0.0.2"]'},
     {"cluster.static.seeds": ["emqx@10.0.0.1", "emqx@10.0.0.2"]}),
    ("seeds, HOCON array unquoted", {"EMQX_CLUSTER__STATIC__SEEDS": "[emqx@10.0.0.1, emqx@10.0.0.2]"},
     {"cluster.static.seeds": ["emqx@10.0.0.1", "emqx@10.0.0.2"]}),
    ("seeds, empty", {"EKKA_CLUSTER__STATIC__SEEDS": ""}, {}),
    ("ports, comma form", {"EKKA_CLUSTER__MCAST__PORTS": "4369,4370"}, {"cluster.mcast.ports": [4369, 4370]}),
    ("a section as a HOCON object", {"EKKA_CLUSTER__STATIC": "{seeds = [emqx@10.0.0.3]}"},
     {"cluster.static.seeds": ["emqx@10.0.0.3"]}),
    ("EMQX 5 names", {"EMQX_NODE__NAME": "emqx@10.0.0.7", "EMQX_CLUSTER__DISCOVERY_STRATEGY": "static",
                      "EMQX_CLUSTER__STATIC__SEEDS": "emqx@10.0.0.7"},
     {"node.name": "emqx@10.0.0.7", "cluster.discovery_strategy": "static", "cluster.static.seeds": ["emqx@10.0.0.7"]}),
    ("EMQX 4 alias", {"EMQX_CLUSTER__DISCOVERY": "dns", "EMQX_CLUSTER__DNS__TYPE": "srv"},
     {"cluster.discovery_strategy": "dns", "cluster.dns.record_type": "srv"}),
    ("EMQX 4 start-script names", {"EMQX_NODE_NAME": "emqx@10.0.0.8", "EMQX_NODE_COOKIE": "legacy-cookie-1"},
     {"node.name": "emqx@10.0.0.8", "node.cookie": "legacy-cookie-1"}),
    ("EKKA_ wins over EMQX_", {"EMQX_NODE__COOKIE": "from-emqx-1", "EKKA_NODE__COOKIE": "from-ekka-1",
                                "EMQX_CLUSTER__NAME": "emqxcl", "EKKA_CLUSTER__NAME": "ekkaname"},
     {"node.cookie": "from-ekka-1", "cluster.name": "ekkaname"}),
    ("the __ form wins over EMQX 4's", {"EMQX_NODE_COOKIE": "legacy-cookie-1", "EMQX_NODE__COOKIE": "new-cookie-1"},
     {"node.cookie": "new-cookie-1"}),
    ("rpc manual port", {"EMQX_RPC__PORT_DISCOVERY": "manual", "EMQX_RPC__TCP_SERVER_PORT": "6001"},
     {"rpc.port_discovery": "manual", "rpc.tcp_server_port": 6001}),
    ("the http section", {"EKKA_HTTP__LISTEN": "127.0.0.1:8081", "EKKA_HTTP__TOKEN_FILE": "/etc/ekka/token"},
     {"http.listen": ["127.0.0.1", 8081], "http.token_file": "/etc/ekka/token"}),
]


@pytest.mark.parametrize("env,want", [c[1:] for c in READ], ids=[c[0] for c in READ])
def test_environment_value_is_read_as_written(tmp_path, env, want):
    conf = tmp_path / "emqx.conf"
    conf.write_text(BASE)
    got, notes = effective(conf, env)
    assert got == expected(dict(NODE, **want))
    assert notes[0] == "environment: " + ", ".join(_order(env))


def _order(env):
    """The order the variables apply in: EMQX 4's names, then EMQX_, then EKKA_, each by name."""
    rank = lambda v: (0 if "__" not in v else 1 if v.startswith("EMQX_") else 2, v)  # noqa: E731
    return sorted(env, key=rank)


REFUSED = [
    ("empty cookie", {"EKKA_NODE__COOKIE": ""},
     "node.cookie = <hidden> (from EKKA_NODE__COOKIE): must be 1 to 255 bytes (it is 0)"),
    ("cookie with a space", {"EMQX_NODE__COOKIE": "two words"},
     "node.cookie = <hidden> (from EMQX_NODE__COOKIE): must be no quotes, backslashes or whitespace"),
    ("sample cookie", {"EMQX_NODE__COOKIE": "emqx50elixir"},
     "node.cookie = <hidden> (from EMQX_NODE__COOKIE): must be a secret of your own: this is a well-known sample "
     "cookie (published in EMQX or Ekka examples), so anyone could join"),
    ("empty name", {"EKKA_CLUSTER__NAME": ""},
     "cluster.name = '' (from EKKA_CLUSTER__NAME): must be 1-64 letters, digits, '.', '_' or '-'"),
    ("bad array", {"EKKA_CLUSTER__STATIC__SEEDS": "[emqx@10.0.0.1"},
     "EKKA_CLUSTER__STATIC__SEEDS: not a valid array: missing ']': an array is not closed"),
    ("bad duration", {"EMQX_CLUSTER__AUTOCLEAN": "soon"},
     "cluster.autoclean = 'soon' (from EMQX_CLUSTER__AUTOCLEAN): must be a duration such as 500ms, 30s, 5m, "
     "24h, 1h30m or 1w"),
    ("unknown cluster key", {"EKKA_CLUSTER__AUTOHEEL": "true"},
     "cluster.autoheel: unknown key; known cluster keys: see `ekka-agent check --keys`"),
    ("unknown http key", {"EKKA_HTTP__LISTN": "127.0.0.1:8081"},
     "http.listn: unknown key; known http keys: see `ekka-agent check --keys`"),
    ("replicant", {"EMQX_NODE__ROLE": "replicant"},
     "node.role = 'replicant' (from EMQX_NODE__ROLE): refused: replicant nodes are not supported yet: every "
     "ekka node is a core node (remove the key or set core)"),
]


@pytest.mark.parametrize("env,line", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_environment_value_that_cannot_be_read_names_the_variable(tmp_path, env, line):
    conf = tmp_path / "emqx.conf"
    conf.write_text(BASE)
    r = run_check(conf, env)
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert r.stderr.splitlines() == [PREFIX + line]


def test_other_emqx_variables_are_listed_once_as_ignored(tmp_path):
    conf = tmp_path / "emqx.conf"
    conf.write_text(BASE)
    r = run_check(conf, {"EMQX_LISTENERS__TCP__DEFAULT__BIND": "0.0.0.0:1883", "EMQX_DASHBOARD__DEFAULT_PASSWORD": "x",
                         "EMQX_LOG_DIR": "/var/log/emqx"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1:] == [
        "ignored (no effect on clustering): EMQX_DASHBOARD__DEFAULT_PASSWORD, EMQX_LISTENERS__TCP__DEFAULT__BIND"]
