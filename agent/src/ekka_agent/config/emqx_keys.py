"""Every node.*, cluster.* and rpc.* key EMQX 4 and 5 define, and what the agent does with it.

    honoured  the agent reads it under the same name (it is in schema.py)
    renamed   the agent reads it as its own key `ours` (an alias; `ours` wins when both are set)
    checked   some values are honoured, others refused: `rule(value)` returns the refusal or None
    refused   any value is refused, with `note` saying why
    ignored   it does not change how nodes cluster; `check` lists it once as ignored

A key ending in '.*' covers every key under it. docs/config.md prints this table (a test holds
the two together); `cluster.heartbeat_interval` is the one name where EMQX 5.8 and our old key
collide, so it is read as `cluster.probe_interval` with a warning.
"""
from __future__ import annotations

from collections import namedtuple

Row = namedtuple("Row", "key emqx action ours note rule")


def _row(key, emqx, action, ours=None, note="", rule=None):
    return Row(key, emqx, action, ours, note, rule)


def _role(v) -> str | None:
    s = str(v).strip().lower()
    if s == "core":
        return None
    if s == "replicant":
        return ("replicant nodes are not supported yet: every ekka node is a core node "
                "(remove the key or set core)")
    return "one of core, replicant (and replicant is not supported yet)"


def _rpc_driver(v) -> str | None:
    s = str(v).strip().lower()
    if s == "tcp":
        return None
    if s == "ssl":
        return ("RPC over its own TLS settings is not supported: set cluster.proto_dist = inet_tls "
                "with cluster.ssl.* to encrypt node-to-node traffic")
    return "one of tcp, ssl (and ssl is not supported)"


def _etcd_verify(v) -> str | None:
    s = str(v).strip().lower()
    if s == "verify_peer":
        return None
    if s == "verify_none":
        return "verify_none is not supported: the agent always verifies etcd's certificate"
    return "one of verify_peer, verify_none (and verify_none is not supported)"


def _ipv6_only(v) -> str | None:
    if str(v).strip().lower() in ("false", "off", "no", "0"):
        return None
    return "true is not supported: the RPC port follows cluster.proto_dist (use inet6_tcp for IPv6)"


_VM = "Erlang VM tuning; the agent is not an Erlang node"
_BROKER = "EMQX broker internals; no effect on membership"
_GENRPC = "gen_rpc tuning; the agent's RPC channel has its own fixed settings"
_TLS = "TLS tuning: the system's defaults are used"

TABLE = [
    # ---- node.* ----
    _row("node.name", "4,5", "honoured"),
    _row("node.cookie", "4,5", "honoured", note="required here; EMQX 4 and 5.0 ship a sample default"),
    _row("node.data_dir", "4,5", "honoured", note="default /var/lib/ekka (EMQX: data)"),
    _row("node.dist_listen_min", "4,5", "honoured", note="epmd mode only"),
    _row("node.dist_listen_max", "4,5", "honoured", note="epmd mode only"),
    _row("node.dist_net_ticktime", "4,5", "renamed", "cluster.failure_timeout",
         "Erlang's tick: a peer silent this long is down; a bare number is seconds"),
    _row("node.ssl_dist_optfile", "4", "refused",
         note="an Erlang term file is not read: set cluster.ssl.certfile, keyfile and cacertfile"),
    _row("node.role", "5", "checked", note="core is what every node is; replicant is refused", rule=_role),
    _row("node.db_role", "5", "checked", note="EMQX 5.0's name of node.role", rule=_role),
    _row("node.db_backend", "5", "ignored", note="storage backend of EMQX's database"),
    _row("node.heartbeat", "4", "ignored", note="Erlang's heart monitor; use systemd's restart"),
    _row("node.async_threads", "4", "ignored", note=_VM),
    _row("node.process_limit", "4,5", "ignored", note=_VM),
    _row("node.max_ports", "4,5", "ignored", note=_VM),
    _row("node.dist_buffer_size", "4,5", "ignored", note=_VM),
    _row("node.max_ets_tables", "4,5", "ignored", note=_VM),
    _row("node.global_gc_interval", "4,5", "ignored", note=_VM),
    _row("node.fullsweep_after", "4", "ignored", note=_VM),
    _row("node.crash_dump", "4", "ignored", note=_VM),
    _row("node.crash_dump_file", "5", "ignored", note=_VM),
    _row("node.crash_dump_seconds", "5", "ignored", note=_VM),
    _row("node.crash_dump_bytes", "5", "ignored", note=_VM),
    _row("node.backtrace_depth", "5", "ignored", note=_VM),
    _row("node.applications", "5", "ignored", note=_BROKER),
    _row("node.etc_dir", "5", "ignored", note="EMQX's etc directory"),
    _row("node.config_files", "5", "ignored", note="EMQX's list of config files; give the agent -c FILE"),
    _row("node.cluster_call.*", "5", "ignored", note="EMQX's config replication"),
    _row("node.rpc_module", "5", "ignored", note=_BROKER),
    _row("node.tlog_push_mode", "5", "ignored", note=_BROKER),
    _row("node.default_shard_transport", "5", "ignored", note=_BROKER),
    _row("node.shard_transports", "5", "ignored", note=_BROKER),
    _row("node.broker_pool_size", "5", "ignored", note=_BROKER),
    _row("node.generic_pool_size", "5", "ignored", note=_BROKER),
    _row("node.channel_cleanup_batch_size", "5", "ignored", note=_BROKER),
    _row("node.default_bootstrap_batch_size", "5", "ignored", note=_BROKER),

    # ---- cluster.* ----
    _row("cluster.name", "4,5", "honoured", note="default ekkacl (EMQX: emqxcl)"),
    _row("cluster.discovery", "4", "renamed", "cluster.discovery_strategy", "EMQX 4's name"),
    _row("cluster.discovery_strategy", "5", "honoured", note="singleton (EMQX 5.8) is refused"),
    _row("cluster.core_nodes", "5", "ignored", note="only replicants use it, and they are refused"),
    _row("cluster.autoclean", "4,5", "honoured", note="default off (EMQX 5: 24h)"),
    _row("cluster.autoheal", "4,5", "honoured"),
    _row("cluster.proto_dist", "4,5", "honoured", note="inet6_tls is refused"),
    _row("cluster.heartbeat_interval", "5", "renamed", "cluster.probe_interval",
         "EMQX 5.8 uses this name for durable timers; this agent's old failure-detector key, read with a warning"),
    _row("cluster.static.seeds", "4,5", "honoured"),
    _row("cluster.mcast.addr", "4,5", "honoured"),
    _row("cluster.mcast.ports", "4,5", "honoured"),
    _row("cluster.mcast.iface", "4,5", "honoured"),
    _row("cluster.mcast.ttl", "4,5", "honoured"),
    _row("cluster.mcast.loop", "4,5", "honoured"),
    _row("cluster.mcast.sndbuf", "4,5", "ignored", note="socket buffer; EMQX does not pass it on either"),
    _row("cluster.mcast.recbuf", "4,5", "ignored", note="socket buffer; EMQX does not pass it on either"),
    _row("cluster.mcast.buffer", "4,5", "ignored", note="socket buffer; EMQX does not pass it on either"),
    _row("cluster.dns.name", "4,5", "honoured"),
    _row("cluster.dns.app", "4", "honoured"),
    _row("cluster.dns.type", "4", "renamed", "cluster.dns.record_type", "EMQX 4's name"),
    _row("cluster.dns.record_type", "5", "honoured"),
    _row("cluster.etcd.server", "4,5", "honoured", note="a comma-separated list or an array"),
    _row("cluster.etcd.prefix", "4,5", "honoured"),
    _row("cluster.etcd.node_ttl", "4,5", "honoured"),
    _row("cluster.etcd.ssl.certfile", "4,5", "honoured", note="EMQX 5: alias of ssl_options"),
    _row("cluster.etcd.ssl.keyfile", "4,5", "honoured", note="EMQX 5: alias of ssl_options"),
    _row("cluster.etcd.ssl.cacertfile", "4,5", "honoured", note="EMQX 5: alias of ssl_options"),
    _row("cluster.etcd.ssl_options.certfile", "5", "renamed", "cluster.etcd.ssl.certfile", "EMQX 5's canonical name"),
    _row("cluster.etcd.ssl_options.keyfile", "5", "renamed", "cluster.etcd.ssl.keyfile", "EMQX 5's canonical name"),
    _row("cluster.etcd.ssl_options.cacertfile", "5", "renamed", "cluster.etcd.ssl.cacertfile",
         "EMQX 5's canonical name"),
    _row("cluster.etcd.ssl_options.verify", "5", "checked", note="verify_peer; verify_none is refused",
         rule=_etcd_verify),
    _row("cluster.etcd.ssl.verify", "5", "checked", note="verify_peer; verify_none is refused", rule=_etcd_verify),
    _row("cluster.etcd.ssl_options.enable", "5", "ignored", note="TLS is used when a server URL is https://"),
    _row("cluster.etcd.ssl.enable", "5", "ignored", note="TLS is used when a server URL is https://"),
    _row("cluster.etcd.ssl_options.*", "5", "ignored", note=_TLS),
    _row("cluster.etcd.ssl.*", "5", "ignored", note=_TLS),
    _row("cluster.k8s.apiserver", "4,5", "honoured", note="https only (EMQX's default is an http URL)"),
    _row("cluster.k8s.service_name", "4,5", "honoured", note="default ekka (EMQX: emqx)"),
    _row("cluster.k8s.address_type", "4,5", "honoured"),
    _row("cluster.k8s.app_name", "4", "honoured"),
    _row("cluster.k8s.namespace", "4,5", "honoured"),
    _row("cluster.k8s.suffix", "4,5", "honoured"),
    _row("cluster.links", "5", "ignored", note="cluster linking joins separate clusters for MQTT, not membership"),
    _row("cluster.quic_lb_mode", "5", "ignored", note=_BROKER),

    # ---- rpc.* ----
    _row("rpc.port_discovery", "4,5", "honoured",
         note="stateless: 5370 + node offset; manual: rpc.tcp_server_port on every node"),
    _row("rpc.tcp_server_port", "4,5", "honoured", note="the RPC port when rpc.port_discovery = manual"),
    _row("rpc.server_port", "5", "renamed", "rpc.tcp_server_port", "EMQX 5's later name"),
    _row("rpc.driver", "5", "checked", note="tcp; ssl is refused", rule=_rpc_driver),
    _row("rpc.protocol", "5", "checked", note="tcp; ssl is refused", rule=_rpc_driver),
    _row("rpc.connect_timeout", "4,5", "renamed", "cluster.connect_timeout", "one limit for every connection"),
    _row("rpc.ipv6_only", "5", "checked", note="false; the RPC port follows cluster.proto_dist", rule=_ipv6_only),
    _row("rpc.ssl_server_port", "4,5", "ignored", note="only used with rpc.driver = ssl, which is refused"),
    _row("rpc.listen_address", "5", "ignored", note="the RPC port listens on the node name's address"),
    _row("rpc.mode", "4,5", "ignored", note=_GENRPC),
    _row("rpc.async_batch_size", "4,5", "ignored", note=_GENRPC),
    _row("rpc.tcp_client_num", "4,5", "ignored", note=_GENRPC),
    _row("rpc.client_num", "5", "ignored", note=_GENRPC),
    _row("rpc.send_timeout", "4,5", "ignored", note=_GENRPC),
    _row("rpc.authentication_timeout", "4,5", "ignored", note=_GENRPC),
    _row("rpc.call_receive_timeout", "4,5", "ignored", note=_GENRPC),
    _row("rpc.socket_keepalive_idle", "4,5", "ignored", note=_GENRPC),
    _row("rpc.socket_keepalive_interval", "4,5", "ignored", note=_GENRPC),
    _row("rpc.socket_keepalive_count", "4,5", "ignored", note=_GENRPC),
    _row("rpc.socket_sndbuf", "4,5", "ignored", note=_GENRPC),
    _row("rpc.socket_recbuf", "4,5", "ignored", note=_GENRPC),
    _row("rpc.socket_buffer", "4,5", "ignored", note=_GENRPC),
    _row("rpc.insecure_fallback", "5", "ignored", note=_GENRPC),
    _row("rpc.certfile", "5", "ignored", note="only used with rpc.driver = ssl, which is refused"),
    _row("rpc.keyfile", "5", "ignored", note="only used with rpc.driver = ssl, which is refused"),
    _row("rpc.cacertfile", "5", "ignored", note="only used with rpc.driver = ssl, which is refused"),
    _row("rpc.ciphers", "5", "ignored", note="only used with rpc.driver = ssl, which is refused"),
    _row("rpc.tls_versions", "5", "ignored", note="only used with rpc.driver = ssl, which is refused"),
]

BY_KEY = {r.key: r for r in TABLE if not r.key.endswith(".*")}
_WILDCARDS = sorted((r for r in TABLE if r.key.endswith(".*")), key=lambda r: -len(r.key))
ROOTS = ("node", "cluster", "rpc")


def row_for(key: str):
    """The table's row for a key, the longest '.*' row covering it, or None."""
    if key in BY_KEY:
        return BY_KEY[key]
    for r in _WILDCARDS:
        if key.startswith(r.key[:-1]):
            return r
    return None


RENAMES = {r.key: r.ours for r in TABLE if r.action == "renamed"}
