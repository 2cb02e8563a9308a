"""Config rules of discovery that tie keys together; config/load.py lists this among its cross-checks."""
from __future__ import annotations

from ..naming import parse_node


def discovery_checks(v: dict) -> list:
    s = v["cluster.discovery_strategy"]
    out = []
    host = parse_node(v["node.name"])
    if s == "dns" and v["cluster.dns.record_type"] in ("a", "aaaa"):
        rt = v["cluster.dns.record_type"]
        fam = "ipv4" if rt == "a" else "ipv6"
        if host.family != fam:
            out.append("node.name = %r: must be name@<%s address> for cluster.discovery_strategy = dns with "
                       "record_type = %s (each %s record becomes app@address)"
                       % (v["node.name"], "IPv4" if rt == "a" else "IPv6", rt, rt.upper()))
    if s == "dns":
        from .dns import split_server
        for srv in v["cluster.dns.servers"]:
            try:
                split_server(srv)
            except ValueError:
                out.append("cluster.dns.servers = %r: must be host or host:port, such as 127.0.0.1:5353" % srv)
    if s == "mcast" and v["cluster.mcast.iface"] == "0.0.0.0" and host.family != "ipv4":
        out.append("cluster.mcast.iface = '0.0.0.0': must be set to this node's IPv4 interface address when "
                   "node.name %r has no IPv4 host (multicast is never sent without an interface)" % v["node.name"])
    if s == "etcd":
        from ..etcd_url import EXAMPLE, parse_endpoint
        if not v["cluster.etcd.server"]:
            out.append("cluster.etcd.server = []: must name at least one endpoint, such as %s" % EXAMPLE)
        for server in v["cluster.etcd.server"]:
            try:
                parse_endpoint(server)
            except ValueError as e:
                out.append("cluster.etcd.server: %s" % e)
        if bool(v["cluster.etcd.ssl.certfile"]) != bool(v["cluster.etcd.ssl.keyfile"]):
            out.append("cluster.etcd.ssl: certfile and keyfile must be set together")
    if s == "k8s" and not v["cluster.k8s.apiserver"].startswith("https://"):
        out.append("cluster.k8s.apiserver = %r: must be an https:// URL (the API server is always verified)"
                   % v["cluster.k8s.apiserver"])
    if v["cluster.autocluster.retry_min"] <= 0 or v["cluster.autocluster.retry_max"] < v["cluster.autocluster.retry_min"]:
        out.append("cluster.autocluster.retry_max = %dms: must be at least retry_min (%dms), which must be above 0"
                   % (v["cluster.autocluster.retry_max"], v["cluster.autocluster.retry_min"]))
    if v["cluster.autocluster.interval"] <= 0 or v["cluster.autocluster.probe_timeout"] <= 0:
        out.append("cluster.autocluster.interval and probe_timeout must be above 0")
    return out
