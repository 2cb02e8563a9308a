"""Which peers this agent can talk to: protocol versions exchanged in the handshake.

Each side announces its protocol `v` and the oldest it still speaks `vmin`, plus its agent version.
Two nodes can form a cluster when their ranges overlap. The first release (0.1.0, protocol 1)
announced no range and no agent version: its hello carries v=1 and its auth nothing, so an absent
value means protocol 1, and protocol 1 means that release.
"""
from __future__ import annotations

PROTOCOL = 3          # 2: the dialer states its version; Reproof after a reload. 3: idle RPC close
MIN_PROTOCOL = 1      # 0.1.0 still handshakes with us (a rolling upgrade from it keeps one cluster)
FIRST_RELEASE = "0.1.0"


def agent_version() -> str:
    from .. import __version__
    return __version__


def announce() -> dict:
    """The version fields of our handshake messages (core/messages.py Hello, Auth, Refuse)."""
    return {"protocol": PROTOCOL, "protocol_min": MIN_PROTOCOL, "agent": agent_version()}


def peer_versions(msg) -> tuple:
    """(vmin, v, agent) a peer announced in its Hello, Auth or Refuse."""
    v = msg.protocol
    vmin = v if msg.protocol_min is None else msg.protocol_min
    agent = msg.agent
    if agent is None:
        agent = FIRST_RELEASE if v == 1 else "unknown"
    return vmin, v, agent


def compatible(vmin: int, v: int) -> bool:
    return max(vmin, MIN_PROTOCOL) <= min(v, PROTOCOL)


def describe(vmin: int, v: int, agent: str) -> str:
    return "agent %s, protocol %s" % (agent, v if vmin == v else "%d-%d" % (vmin, v))


def ours() -> str:
    return describe(MIN_PROTOCOL, PROTOCOL, agent_version())

