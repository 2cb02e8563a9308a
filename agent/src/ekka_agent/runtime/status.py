"""What the runtime adds to the core's replies.

status: each member's cookie fingerprint, protocol and agent version as its open connections
proved and announced them, a warning while versions differ, and the sections of runtime helpers
(config reloads, certificates, ...).
join: a join that failed because the target refused our handshake (or we refused its) says why
instead of node_down: bad_cookie (nothing about the cookie), cluster_name_mismatch with the
other cluster's name, incompatible_version with both sides' versions.
"""
from __future__ import annotations

from ..config.cookie import fingerprint
from ..core import versions

JOIN_ERRORS = {"bad_cookie": "bad_cookie", "cluster_name": "cluster_name_mismatch",
               "incompatible_version": "incompatible_version"}


def decorate(agent, cmd: str, reply: dict) -> dict:
    if cmd == "status" and reply.get("ok"):
        _status(agent, reply["result"])
    elif cmd == "join" and not reply.get("ok") and reply.get("error") == "node_down":
        _join_refused(agent, reply)
    return reply


def _join_refused(agent, reply: dict) -> None:
    e = agent.transport.refusals.pop(reply.get("node"), None)
    if e is None or e.reason not in JOIN_ERRORS:
        return
    reply["error"] = JOIN_ERRORS[e.reason]
    reply["message"] = str(e) if e.reason != "bad_cookie" else "%s and this node hold different cookies" % e.peer
    if e.reason == "cluster_name":
        reply["detail"] = [str(e.detail.get("name"))]
    elif e.reason == "incompatible_version":
        reply["detail"] = [e.detail["theirs"], e.detail["ours"]]


def _status(agent, st: dict) -> None:
    t = agent.transport
    proved, peers = t.proofs.by_peer(), t.proofs.versions()
    mine = versions.agent_version()
    st["cookie_fingerprint"] = fingerprint(t.cookie)     # the cookie this node proves with now
    for m in st.get("members", []):
        n = m["node"]
        if n == agent.name:
            m.update(agent_version=mine, protocol=versions.PROTOCOL)
            continue
        if n in proved:
            m["cookie"] = proved[n][0] if len(proved[n]) == 1 else proved[n]
        if n in peers:
            m.update(agent_version=peers[n][1], protocol=peers[n][0])
    running = {m["node"]: m.get("agent_version") for m in st.get("members", []) if m.get("agent_version")}
    if len(set(running.values())) > 1:
        by = {}
        for n, v in sorted(running.items()):
            by.setdefault(v, []).append(n)
        st.setdefault("warnings", []).append(
            {"name": "mixed_versions", "message": "members run different agent versions: %s"
             % "; ".join("%s on %s" % (v, ", ".join(ns)) for v, ns in sorted(by.items())), "versions": running})
    for x in agent.extras:
        x.status(st)
