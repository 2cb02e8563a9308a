"""The config schema: every key the agent reads, its check, its default, what it means.

This table is the one place for the schema: the loader, `ekka-agent check`, the docs and the
Ansible role's rendered config are all held to it by tests.
"""
from __future__ import annotations

from collections import namedtuple

from ..naming import DEFAULT_DIST_LISTEN_MAX, DEFAULT_DIST_LISTEN_MIN
from ..core.http_config import listen_address
from ..etcd_url import etcd_urls
from ..strategies import DISCOVERY_STRATEGIES, LOCK_STRATEGIES
from . import types as t
from .cookie import cookie_list

REQUIRED = object()   # no default: the key must be set
UNSET = None          # optional, off when not set

Key = namedtuple("Key", "path check default doc")

SCHEMA = [
    Key("node.name", t.node_name, REQUIRED, "this node's name, name@host (host an IP address or FQDN)"),
    Key("node.cookie", t.cookie, REQUIRED, "shared secret proving membership; never sent; file://PATH reads it"),
    Key("node.cookie_previous", cookie_list, [], "cookies also accepted from peers during a rotation (never sent)"),
    Key("node.data_dir", t.path, "/var/lib/ekka", "members, replicated data and the control socket"),
    Key("node.epmd", t.boolean, False, "epmd mode: register with a port mapper on 4369 (also WITH_EPMD=1)"),
    Key("node.dist_listen_min", t.port, DEFAULT_DIST_LISTEN_MIN, "epmd mode: lowest cluster port"),
    Key("node.dist_listen_max", t.port, DEFAULT_DIST_LISTEN_MAX, "epmd mode: highest cluster port"),
    Key("node.max_frame_size", t.byte_size, "64MB", "largest frame accepted on the RPC port"),
    Key("node.control_socket_mode", t.file_mode, "0660", "permissions of the control socket (octal)"),

    Key("http.listen", listen_address, UNSET, "HTTP /status, /ready, /metrics, /api/v1 endpoint, e.g. 127.0.0.1:8081 (unset = off)"),
    Key("http.ssl.enable", t.boolean, False, "http: serve HTTPS (with http.ssl.certfile/keyfile, else cluster.ssl's)"),
    Key("http.ssl.certfile", t.existing_file, "", "http: the endpoint's own certificate (PEM)"),
    Key("http.ssl.keyfile", t.existing_file, "", "http: its private key (PEM)"),
    Key("http.token_file", t.path, "", "http: file with the bearer token POST actions need (unset = POST refused)"),

    Key("cluster.name", t.simple_name, "ekkacl", "cluster name; peers with another name are refused"),
    Key("cluster.discovery_strategy", t.enum(*DISCOVERY_STRATEGIES), "manual",
        "how nodes find each other"),
    Key("cluster.proto_dist", t.enum("inet_tcp", "inet6_tcp", "inet_tls"), "inet_tcp", "transport between nodes"),
    Key("cluster.ssl.certfile", t.existing_file, "", "inet_tls: this node's certificate (PEM)"),
    Key("cluster.ssl.keyfile", t.existing_file, "", "inet_tls: its private key (PEM)"),
    Key("cluster.ssl.cacertfile", t.existing_file, "", "inet_tls: CA bundle that peers' certificates must chain to"),
    Key("cluster.ssl.expiry_warning", t.duration_ms, "30d", "inet_tls: alarm when a certificate or CA ends sooner"),
    Key("cluster.ssl.verify", t.enum("verify_peer", "verify_none"), "verify_peer", "inet_tls: check the peer's certificate"),
    Key("cluster.failure_detector", t.enum("swim", "mesh"), "swim",
        "swim: each node probes one member per probe_interval, news spreads by gossip; "
        "mesh: every node heartbeats every peer (the previous release's way)"),
    Key("cluster.probe_interval", t.duration_ms, "500ms",
        "swim: one member probed this often; mesh: every peer heartbeated this often (was cluster.heartbeat_interval)"),
    Key("cluster.failure_timeout", t.duration_ms, "2500ms",
        "mesh: silence after which a peer is marked down; swim: the shortest suspicion is 0.2 x this"),
    Key("cluster.connect_timeout", t.duration_ms, "2s", "TCP connect and handshake limit"),
    Key("rpc.port_discovery", t.enum("stateless", "manual"), "stateless",
        "stateless: RPC port 5370 + node offset; manual: rpc.tcp_server_port on every node"),
    Key("rpc.tcp_server_port", t.port, 5369, "the RPC port of every node when rpc.port_discovery = manual"),

    Key("cluster.static.seeds", t.node_list, [], "static: the nodes of the cluster"),

    # partitions, autoclean, events (issue 4; docs/partitions.md)
    Key("cluster.autoheal", t.boolean, True, "heal partitions: nodes outside the largest clique rejoin it"),
    Key("cluster.autoheal_delay", t.duration_ms, "1s", "wait after a partition report before gathering views"),
    Key("cluster.autoheal_max_heals", t.integer(1, 1000), 5, "heal-loop breaker: heal rounds allowed per window"),
    Key("cluster.autoheal_window", t.duration_ms, "10m", "heal-loop breaker: the window"),
    Key("cluster.autoclean", t.duration_ms, UNSET, "remove members down longer than this (unset = off)"),
    Key("cluster.autoclean_min_members", t.integer(1, 100000), 1, "autoclean never leaves fewer members"),
    Key("cluster.hooks", t.hooks, [], "commands run per membership/partition event: [{event, command, timeout}]"),

    # ---- discovery and autocluster (core/autocluster.py, discovery/) ----
    Key("cluster.bootstrap_expect", t.integer(0, 100000), 0,
        "nodes that must be seen before the first cluster forms (0 = no wait)"),
    Key("cluster.autocluster.interval", t.duration_ms, "5s", "how often discovery looks again once in one cluster"),
    Key("cluster.autocluster.retry_min", t.duration_ms, "500ms", "first retry delay of discovery (then doubled, jittered)"),
    Key("cluster.autocluster.retry_max", t.duration_ms, "5s", "longest retry delay of discovery"),
    Key("cluster.autocluster.probe_timeout", t.duration_ms, "2s", "wait for a discovered node to answer its probe"),
    Key("cluster.mcast.addr", t.multicast_v4, "239.192.0.1", "mcast: the multicast group"),
    Key("cluster.mcast.ports", t.port_list, [4369, 4370], "mcast: UDP ports; this node binds the first free one"),
    Key("cluster.mcast.iface", t.ip_address, "0.0.0.0", "mcast: interface address (0.0.0.0 = this node's IP)"),
    Key("cluster.mcast.ttl", t.integer(0, 255), 255, "mcast: multicast TTL"),
    Key("cluster.mcast.loop", t.boolean, True, "mcast: receive our own group's packets on this host"),
    Key("cluster.mcast.wait", t.duration_ms, "500ms", "mcast: how long one discovery listens for pongs"),
    Key("cluster.dns.name", t.string, "localhost", "dns: the name to look up"),
    Key("cluster.dns.record_type", t.enum("a", "aaaa", "srv"), "a", "dns: a, aaaa or srv"),
    Key("cluster.dns.app", t.string, "", "dns: node name part of discovered nodes (default: this node's)"),
    Key("cluster.dns.servers", t.string_list, [], "dns: name servers as host or host:port (default: system)"),
    Key("cluster.etcd.server", t.string_list, [], "etcd: endpoints, such as http://h1:2379,http://h2:2379"),
    Key("cluster.etcd.prefix", t.simple_name, "emqxcl", "etcd: key prefix"),
    Key("cluster.etcd.node_ttl", t.duration_ms, "1m", "etcd: lease of this node's registration"),
    Key("cluster.etcd.ssl.certfile", t.existing_file, "", "etcd: client certificate (PEM)"),
    Key("cluster.etcd.ssl.keyfile", t.existing_file, "", "etcd: client key (PEM)"),
    Key("cluster.etcd.ssl.cacertfile", t.existing_file, "", "etcd: CA bundle for the server certificate"),
    Key("cluster.k8s.apiserver", t.string, "https://kubernetes.default.svc:443", "k8s: API server URL (https)"),
    Key("cluster.k8s.service_name", t.string, "ekka", "k8s: the service whose endpoints are the nodes"),
    Key("cluster.k8s.address_type", t.enum("ip", "dns", "hostname"), "ip", "k8s: how an endpoint becomes a host"),
    Key("cluster.k8s.app_name", t.string, "", "k8s: node name part (default: this node's)"),
    Key("cluster.k8s.namespace", t.string, "default", "k8s: namespace of the service"),
    Key("cluster.k8s.suffix", t.string, "pod.local", "k8s: domain suffix for dns and hostname address types"),
    Key("cluster.k8s.include_not_ready", t.boolean, False, "k8s: also take endpoints that are not ready"),
    Key("cluster.k8s.token_file", t.path, "/var/run/secrets/kubernetes.io/serviceaccount/token",
        "k8s: service-account bearer token"),
    Key("cluster.k8s.cacertfile", t.path, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
        "k8s: CA bundle for the API server"),

    # ---- distributed locks (core/locks.py, runtime/etcd_locks.py, docs/locks.md) ----
    Key("cluster.locks.default_strategy", t.enum(*LOCK_STRATEGIES), "quorum",
        "lock strategy when a client names none"),
    Key("cluster.locks.default_lease", t.duration_ms, "15s", "lock lease when a client names none"),
    Key("cluster.locks.max_lease", t.duration_ms, "1h", "longest lease a client may ask for"),
    Key("cluster.locks.request_timeout", t.duration_ms, "5s", "wait for voters (and etcd) on one lock call"),
    Key("cluster.locks.etcd.server", etcd_urls, [], "etcd strategy: endpoints (default: cluster.etcd.server)"),
    Key("cluster.locks.etcd.prefix", t.simple_name, "ekka-locks", "etcd strategy: key prefix"),
    Key("cluster.locks.etcd.ssl.certfile", t.existing_file, "", "etcd strategy: client certificate (PEM)"),
    Key("cluster.locks.etcd.ssl.keyfile", t.existing_file, "", "etcd strategy: client key (PEM)"),
    Key("cluster.locks.etcd.ssl.cacertfile", t.existing_file, "", "etcd strategy: CA bundle for etcd's certificate"),
]

BY_PATH = {k.path: k for k in SCHEMA}

# Keys that take a list: from the environment, a comma-separated value or an array.
LIST_KEYS = frozenset(k.path for k in SCHEMA
                      if k.check in (t.node_list, t.string_list, t.port_list, etcd_urls, t.hooks, cookie_list))
# Keys holding file paths: EMQX expands ${VAR} in these even inside quotes (${EMQX_ETC_DIR}/certs/...).
PATH_KEYS = frozenset(k.path for k in SCHEMA if k.check in (t.path, t.existing_file))
