"""Node names and the ports they imply: the one place this rule lives.

The Ansible collection imports this very file (plugins/module_utils/_naming.py is a
symlink to it), so the agent and the playbooks cannot disagree. Keep it free of
third-party imports and valid on Python 3.8, since Ansible may run it on a target.
"""
from __future__ import annotations

import ipaddress
import re

DIST_BASE_PORT = 4370
RPC_BASE_PORT = 5370
EPMD_PORT = 4369
DEFAULT_DIST_LISTEN_MIN = 6369
DEFAULT_DIST_LISTEN_MAX = 6369
# rpc.port_discovery = manual: every node listens on rpc.tcp_server_port (EMQX's default 5369).
DEFAULT_RPC_TCP_SERVER_PORT = 5369
PORT_DISCOVERY = ("stateless", "manual")
# Ekka takes the offset modulo 60000 so that 5370+offset stays a valid port.
OFFSET_MODULO = 60000

_NAME_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,254}$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_TRAILING_DIGITS = re.compile(r"([0-9]+)$")


class NodeNameError(ValueError):
    """A node name that is not name@host, with the reason in the message."""


class NodeName(tuple):
    """A parsed node name: (name, host, family), family one of ipv4, ipv6, fqdn."""

    __slots__ = ()

    def __new__(cls, name, host, family):
        return tuple.__new__(cls, (name, host, family))

    name = property(lambda self: self[0])
    host = property(lambda self: self[1])
    family = property(lambda self: self[2])

    def __str__(self):
        return "%s@%s" % (self[0], self[1])


def host_family(host: str) -> str:
    """'ipv4', 'ipv6' or 'fqdn'; raises NodeNameError for anything else."""
    try:
        addr = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        addr = None
    if addr is not None:
        return "ipv4" if addr.version == 4 else "ipv6"
    if len(host) > 253 or "." not in host.rstrip("."):
        raise NodeNameError(
            "host %r is neither an IP address nor a fully qualified domain name "
            "(host.domain, such as s1.example.com)" % host
        )
    labels = host.rstrip(".").split(".")
    bad = [lbl for lbl in labels if not _LABEL.match(lbl)]
    if bad or labels[-1].isdigit():
        raise NodeNameError(
            "host %r is not a valid domain name: each label must be 1-63 letters, digits "
            "or '-', not starting or ending with '-'" % host
        )
    return "fqdn"


def parse_node(node) -> NodeName:
    """Parse 'name@host'. The message of NodeNameError says what is wrong."""
    if isinstance(node, NodeName):
        return node
    if not isinstance(node, str) or not node:
        raise NodeNameError("node name must be a non-empty string of the form name@host, got %r" % (node,))
    if node.count("@") != 1:
        raise NodeNameError("node name %r must have exactly one '@', as in name@host" % node)
    name, host = node.split("@")
    if not _NAME_PART.match(name):
        raise NodeNameError(
            "name part %r of %r must be 1-255 letters, digits, '_' or '-', not starting with '-'"
            % (name, node)
        )
    if not host:
        raise NodeNameError("node name %r has no host after '@'" % node)
    family = host_family(host)
    if family == "ipv6":
        host = str(ipaddress.ip_address(host.strip("[]")))
    return NodeName(name, host, family)


def node_offset(node) -> int:
    """Trailing digits of the name part: emqx -> 0, emqx1 and emqx-1 -> 1, emqx10 -> 10."""
    m = _TRAILING_DIGITS.search(parse_node(node).name)
    return int(m.group(1)) % OFFSET_MODULO if m else 0


def dist_port(node) -> int:
    """The cluster (distribution) port in ekka mode: 4370 + offset."""
    return DIST_BASE_PORT + node_offset(node)


def fixed_rpc_port(port_discovery: str = "stateless", tcp_server_port=DEFAULT_RPC_TCP_SERVER_PORT):
    """EMQX's rpc.port_discovery: None for stateless (the port follows the name), or, for manual,
    rpc.tcp_server_port, which every node of the cluster then listens on."""
    if port_discovery not in PORT_DISCOVERY:
        raise NodeNameError("rpc.port_discovery = %r: must be one of stateless, manual" % (port_discovery,))
    if port_discovery == "stateless":
        return None
    if isinstance(tcp_server_port, bool) or not isinstance(tcp_server_port, int) or not 1 <= tcp_server_port <= 65535:
        raise NodeNameError("rpc.tcp_server_port = %r: must be a port number from 1 to 65535" % (tcp_server_port,))
    return tcp_server_port


def rpc_port(node, fixed_port=None) -> int:
    """The RPC port, the same in both modes: 5370 + offset, or the fixed port of
    rpc.port_discovery = manual (see fixed_rpc_port)."""
    offset = node_offset(node)
    return fixed_port if fixed_port is not None else RPC_BASE_PORT + offset


def check_dist_range(dist_listen_min: int, dist_listen_max: int) -> None:
    for key, val in (("node.dist_listen_min", dist_listen_min), ("node.dist_listen_max", dist_listen_max)):
        if isinstance(val, bool) or not isinstance(val, int) or not 1024 <= val <= 65535:
            raise NodeNameError("%s = %r: must be a port number from 1024 to 65535" % (key, val))
    if dist_listen_min > dist_listen_max:
        raise NodeNameError(
            "node.dist_listen_min = %d is above node.dist_listen_max = %d: the range must not be empty"
            % (dist_listen_min, dist_listen_max)
        )


def cluster_ports(node, epmd: bool = False, dist_listen_min: int = DEFAULT_DIST_LISTEN_MIN,
                  dist_listen_max: int = DEFAULT_DIST_LISTEN_MAX, rpc_fixed_port=None) -> list:
    """Every TCP port a node listens on, as [{'purpose', 'port', 'end'}] (end == port for one port).

    ekka mode: dist 4370+offset, rpc 5370+offset.
    epmd mode: the port mapper on 4369, the dist_listen_min..max range, rpc 5370+offset.
    rpc_fixed_port (rpc.port_discovery = manual) replaces 5370+offset in both modes.
    """
    rpc = rpc_port(node, rpc_fixed_port)
    if epmd:
        check_dist_range(dist_listen_min, dist_listen_max)
        return [
            {"purpose": "epmd", "port": EPMD_PORT, "end": EPMD_PORT},
            {"purpose": "dist", "port": dist_listen_min, "end": dist_listen_max},
            {"purpose": "rpc", "port": rpc, "end": rpc},
        ]
    return [
        {"purpose": "dist", "port": dist_port(node), "end": dist_port(node)},
        {"purpose": "rpc", "port": rpc, "end": rpc},
    ]


def port_summary(node, epmd: bool = False, dist_listen_min: int = DEFAULT_DIST_LISTEN_MIN,
                 dist_listen_max: int = DEFAULT_DIST_LISTEN_MAX, rpc_fixed_port=None) -> dict:
    """What `ekka-agent ports --json` prints and the `cluster_ports` filter returns."""
    parsed = parse_node(node)
    return {
        "node": str(parsed),
        "offset": node_offset(parsed),
        "mode": "epmd" if epmd else "ekka",
        "ports": cluster_ports(parsed, epmd, dist_listen_min, dist_listen_max, rpc_fixed_port),
    }
