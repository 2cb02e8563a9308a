"""Free TCP/UDP ports on a given address, optionally inside a network namespace.

Ports are drawn at random from below the kernel's ephemeral range, so they do not collide with
the source ports of outgoing connections, and a port is never handed out twice by one process.
Another process can still take a port between the check and its use; the range is large enough
that concurrent test runs rarely meet.
"""
from __future__ import annotations

import random
import socket
import threading
from typing import Iterable

from .netns import in_netns

PORT_RANGE = (20000, 32000)  # below net.ipv4.ip_local_port_range (32768-60999)
_handed_out: set[tuple[str, int]] = set()
_lock = threading.Lock()


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _can_bind(host: str, port: int, kinds: Iterable[int]) -> bool:
    for kind in kinds:
        s = socket.socket(_family(host), kind)
        try:
            s.bind((host, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_port(host: str = "127.0.0.1", proto: str = "tcp", netns: str | None = None) -> int:
    """One port free for `proto` ("tcp", "udp" or "both") on `host` (in `netns` if given)."""
    return free_ports(1, host, proto, netns)[0]


def free_ports(count: int, host: str = "127.0.0.1", proto: str = "tcp",
               netns: str | None = None) -> list[int]:
    """`count` distinct free ports; see free_port."""
    kinds = {"tcp": [socket.SOCK_STREAM], "udp": [socket.SOCK_DGRAM],
             "both": [socket.SOCK_STREAM, socket.SOCK_DGRAM]}.get(proto)
    if kinds is None:
        raise ValueError(f"proto: {proto!r}: allowed are 'tcp', 'udp', 'both'")

    def pick() -> list[int]:
        found: list[int] = []
        for _ in range(2000):
            port = random.randint(*PORT_RANGE)
            with _lock:
                if (host, port) in _handed_out or port in found:
                    continue
            if _can_bind(host, port, kinds):
                found.append(port)
                if len(found) == count:
                    return found
        raise RuntimeError(f"no {count} free {proto} ports on {host} in {PORT_RANGE}")

    ports = in_netns(netns, pick) if netns else pick()
    with _lock:
        _handed_out.update((host, p) for p in ports)
    return ports
