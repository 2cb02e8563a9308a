"""What the runtime adds to the core's status: each member's cookie fingerprint and protocol as its
open connections proved them, and the sections of runtime helpers (config reloads, ...)."""
from __future__ import annotations


def decorate(agent, st: dict) -> dict:
    t = agent.transport
    proved = t.proofs.by_peer()
    protocols = t.proofs.protocols()
    for m in st.get("members", []):
        n = m["node"]
        if n == agent.name:
            continue
        if n in proved:
            m["cookie"] = proved[n][0] if len(proved[n]) == 1 else proved[n]
        if n in protocols:
            m["protocol"] = protocols[n]
    for x in agent.extras:
        if hasattr(x, "status"):
            x.status(st)
    return st
