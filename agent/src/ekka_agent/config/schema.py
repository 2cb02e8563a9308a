"""The config schema: every key the agent reads, its check, its default, what it means.

This table is the one place for the schema: the loader, `ekka-agent check`, the docs and the
Ansible role's rendered config are all held to it by tests.
"""
from __future__ import annotations

from collections import namedtuple

from ..naming import DEFAULT_DIST_LISTEN_MAX, DEFAULT_DIST_LISTEN_MIN
from . import types as t

REQUIRED = object()   # no default: the key must be set
UNSET = None          # optional, off when not set

Key = namedtuple("Key", "path check default doc")

SCHEMA = [
    Key("node.name", t.node_name, REQUIRED, "this node's name, name@host (host an IP address or FQDN)"),
    Key("node.cookie", t.cookie, REQUIRED, "shared secret proving membership; never sent; file://PATH reads it"),
    Key("node.data_dir", t.path, "/var/lib/ekka", "members, replicated data and the control socket"),
    Key("node.epmd", t.boolean, False, "epmd mode: register with a port mapper on 4369 (also WITH_EPMD=1)"),
    Key("node.dist_listen_min", t.port, DEFAULT_DIST_LISTEN_MIN, "epmd mode: lowest cluster port"),
    Key("node.dist_listen_max", t.port, DEFAULT_DIST_LISTEN_MAX, "epmd mode: highest cluster port"),
    Key("node.max_frame_size", t.byte_size, "64MB", "largest frame accepted on the RPC port"),
    Key("node.control_socket_mode", t.integer(0o600, 0o777), 0o660, "permissions of the control socket"),

    Key("cluster.name", t.simple_name, "ekkacl", "cluster name; peers with another name are refused"),
    Key("cluster.discovery_strategy", t.enum("manual", "static", "mcast", "dns", "etcd", "k8s"), "manual",
        "how nodes find each other"),
    Key("cluster.proto_dist", t.enum("inet_tcp", "inet6_tcp", "inet_tls"), "inet_tcp", "transport between nodes"),
    Key("cluster.ssl.certfile", t.existing_file, "", "inet_tls: this node's certificate (PEM)"),
    Key("cluster.ssl.keyfile", t.existing_file, "", "inet_tls: its private key (PEM)"),
    Key("cluster.ssl.cacertfile", t.existing_file, "", "inet_tls: CA bundle that peers' certificates must chain to"),
    Key("cluster.ssl.verify", t.enum("verify_peer", "verify_none"), "verify_peer", "inet_tls: check the peer's certificate"),
    Key("cluster.heartbeat_interval", t.duration_ms, "500ms", "how often a node tells each peer it is alive"),
    Key("cluster.failure_timeout", t.duration_ms, "2500ms", "silence after which a peer is marked down"),
    Key("cluster.connect_timeout", t.duration_ms, "2s", "TCP connect and handshake limit"),

    Key("cluster.static.seeds", t.node_list, [], "static: the nodes of the cluster"),
]

BY_PATH = {k.path: k for k in SCHEMA}

# EMQX 4 (cuttlefish) keys that mean one of ours, with a converter from the flat string.
LEGACY_KEYS = {
    "cluster.discovery": "cluster.discovery_strategy",
    "cluster.dns.type": "cluster.dns.record_type",
}
