# -*- coding: utf-8 -*-
# Copyright: ekka.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node names, ports and seed lists for templates and firewall rules.

The port rule itself lives in module_utils/_naming.py, which is the agent's own
ekka_agent/naming.py, so playbooks and the agent cannot disagree.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.ekka.cluster.plugins.module_utils._naming import (
    DEFAULT_DIST_LISTEN_MAX,
    DEFAULT_DIST_LISTEN_MIN,
    DEFAULT_RPC_TCP_SERVER_PORT,
    NodeNameError,
    dist_port,
    fixed_rpc_port,
    node_offset,
    parse_node,
    port_summary,
    rpc_port,
)


def _wrap(fn, node, *args):
    try:
        return fn(node, *args)
    except NodeNameError as e:
        raise AnsibleFilterError("ekka.cluster.%s: %s" % (fn.__name__, e))


def _bool(value, what):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("yes", "true", "1", "no", "false", "0"):
        return value.lower() in ("yes", "true", "1")
    raise AnsibleFilterError("ekka.cluster.%s: epmd = %r: must be a boolean" % (what, value))


def _port(value, key):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise AnsibleFilterError(
            "ekka.cluster.cluster_ports: %s = %r: must be a port number from 1024 to 65535" % (key, value))


def filter_node_offset(node):
    """'ekka3@10.0.0.1' -> 3 (the trailing digits of the name part, else 0)."""
    return _wrap(node_offset, node)


def filter_dist_port(node):
    """The distribution port in ekka mode, 4370 + offset."""
    return _wrap(dist_port, node)


def _fixed_rpc(port_discovery, tcp_server_port, what):
    try:
        return fixed_rpc_port(str(port_discovery), _port(tcp_server_port, "rpc.tcp_server_port"))
    except NodeNameError as e:
        raise AnsibleFilterError("ekka.cluster.%s: %s" % (what, e))


def filter_rpc_port(node, port_discovery="stateless", tcp_server_port=DEFAULT_RPC_TCP_SERVER_PORT):
    """The RPC port: 5370 + offset, or tcp_server_port when port_discovery is manual."""
    return _wrap(rpc_port, node, _fixed_rpc(port_discovery, tcp_server_port, "rpc_port"))


def filter_cluster_ports(node, epmd=False, dist_listen_min=DEFAULT_DIST_LISTEN_MIN,
                         dist_listen_max=DEFAULT_DIST_LISTEN_MAX, port_discovery="stateless",
                         tcp_server_port=DEFAULT_RPC_TCP_SERVER_PORT):
    """{node, offset, mode, ports: [{purpose, port, end}]}: every TCP port the node listens on."""
    epmd = _bool(epmd, "cluster_ports")
    lo = _port(dist_listen_min, "node.dist_listen_min")
    hi = _port(dist_listen_max, "node.dist_listen_max")
    fixed = _fixed_rpc(port_discovery, tcp_server_port, "cluster_ports")
    try:
        return port_summary(node, epmd, lo, hi, fixed)
    except NodeNameError as e:
        raise AnsibleFilterError("ekka.cluster.cluster_ports: %s" % e)


def filter_node_name(host, hostvars, what="node_name"):
    """A host's node name from its inventory variables alone: ekka_node_name, or
    <ekka_app><ekka_node_offset>@<ekka_node_address | ansible_host | inventory_hostname>.

    The node role's default for ekka_node_name is this filter, so a host's own name and
    the name its peers compute for it come from the same variables.
    """
    hv = hostvars.get(host) if isinstance(hostvars, Mapping) or hasattr(hostvars, "get") else None
    if hv is None:
        raise AnsibleFilterError("ekka.cluster.%s: host %r is not in hostvars" % (what, host))
    name = hv.get("ekka_node_name")
    if not name:
        app = hv.get("ekka_app", "ekka")
        offset = hv.get("ekka_node_offset")
        addr = hv.get("ekka_node_address") or hv.get("ansible_host") or host
        name = "%s%s@%s" % (app, "" if offset in (None, "") else offset, addr)
    try:
        return str(parse_node(str(name)))
    except NodeNameError as e:
        raise AnsibleFilterError("ekka.cluster.%s: host %s: ekka_node_name: %s" % (what, host, e))


def filter_static_seeds(hosts, hostvars, exclude_absent=True):
    """Node names of every host in a group (groups['ekka']), in inventory order.

    Built from inventory variables (hostvars), never from gathered facts, so the list is
    the whole group even under --limit. Hosts with ekka_state == 'absent' are left out.
    """
    if isinstance(hosts, str) or not hasattr(hosts, "__iter__"):
        raise AnsibleFilterError(
            "ekka.cluster.static_seeds: expects a list of inventory hosts such as groups['ekka'], got %r"
            % (hosts,))
    seeds = []
    for host in hosts:
        hv = hostvars.get(host) if hasattr(hostvars, "get") else None
        if exclude_absent and hv is not None and hv.get("ekka_state", "present") == "absent":
            continue
        name = filter_node_name(host, hostvars, "static_seeds")
        if name not in seeds:
            seeds.append(name)
    return seeds


def filter_peer_addresses(hosts, hostvars):
    """The IP addresses of a group's present hosts, for firewall rules: ekka_firewall_address,
    else the host part of the node name when it is an IP, else ansible_host."""
    out = []
    for host in hosts:
        hv = hostvars.get(host) if hasattr(hostvars, "get") else None
        if hv is None:
            raise AnsibleFilterError("ekka.cluster.peer_addresses: host %r is not in hostvars" % (host,))
        if hv.get("ekka_state", "present") == "absent":
            continue
        candidates = [hv.get("ekka_firewall_address"), parse_node(filter_node_name(host, hostvars, "peer_addresses")).host,
                      hv.get("ansible_host")]
        addr = None
        for c in candidates:
            if not c:
                continue
            try:
                addr = str(ipaddress.ip_address(str(c).strip("[]")))
                break
            except ValueError:
                continue
        if addr is None:
            raise AnsibleFilterError(
                "ekka.cluster.peer_addresses: host %s: no IP address for firewall rules: set "
                "ekka_firewall_address (the node name's host and ansible_host are not IP addresses)" % host)
        if addr not in out:
            out.append(addr)
    return out


class FilterModule(object):
    def filters(self):
        return {
            "node_offset": filter_node_offset,
            "dist_port": filter_dist_port,
            "rpc_port": filter_rpc_port,
            "cluster_ports": filter_cluster_ports,
            "static_seeds": filter_static_seeds,
            "node_name": filter_node_name,
            "peer_addresses": filter_peer_addresses,
        }
