"""Health verdicts from what the agent reports (status and its lock table): one place for the rules
that `ekka-ctl cluster health` and the HTTP endpoint (/status, /ready) apply.

Each check gives {"check", "ok", "reason"}; a node is healthy when every check asked for is ok.
"""
from __future__ import annotations

from .core.ring import replica_set


def check(name: str, ok: bool, reason: str) -> dict:
    return {"check": name, "ok": bool(ok), "reason": reason}


RUNNING = ("up", "draining", "drained")     # a drained node still runs in its cluster


def running(st: dict) -> dict:
    """This node is up in its cluster (in its own running list, its record up, or drained)."""
    me = st["node"]
    mine = next((m for m in st["members"] if m["node"] == me), {})
    ok = me in st["running_nodes"] and mine.get("status") in RUNNING
    return check("running", ok, "%s is %s in a cluster of %d running member(s)"
                 % (me, mine.get("status", "not a member"), len(st["running_nodes"])))


def not_drained(st: dict) -> dict:
    """Not drained by `ekka-ctl node drain` (core/drain.py): it leads and holds nothing until revived."""
    d = st.get("drain", "up")
    return check("not_drained", d == "up", "%s is %s: it leads, coordinates and discovers nothing until "
                 "`ekka-ctl node revive`" % (st["node"], d) if d != "up" else "not drained")


def expect(st: dict, n: int) -> dict:
    r = len(st["running_nodes"])
    return check("expect", r >= n, "%d running member(s), at least %d expected" % (r, n))


def no_alarms(st: dict) -> dict:
    alarms = st.get("alarms", [])
    return check("no_alarms", not alarms, "; ".join("%s: %s" % (a.get("name"), a.get("message")) for a in alarms)
                 or "no alarms")


def safe_to_stop(st: dict, locks: list) -> dict:
    """Would stopping this node now take the cluster, or a held quorum lock's replica set, below a
    majority? Counts from this node's view: its running members and its lock table."""
    me, up = st["node"], set(st["running_nodes"])
    members = sorted(m["node"] for m in st["members"])
    after = len(up - {me})
    lost = []
    if len(members) > 1 and after <= len(members) // 2:
        lost.append("the cluster would have %d of %d members running, not a majority" % (after, len(members)))
    # Replica sets are taken from the members not drained (core/drain.py), as the coordinator does.
    ring = [n for n in members if n not in st.get("drained_nodes", [])] or members
    seen = set()
    for lk in locks:
        res = lk.get("resource")
        if lk.get("strategy") != "quorum" or res in seen:
            continue
        seen.add(res)
        reps, need = replica_set(ring, res)
        if me in reps and len([n for n in reps if n != me and n in up]) < need:
            lost.append("quorum lock %r would have %d of its replica set %s up; it needs %d"
                        % (res, len([n for n in reps if n != me and n in up]), ", ".join(reps), need))
    return check("safe_to_stop", not lost, "; ".join(lost) or "stopping %s keeps a majority of the cluster and of "
                 "every quorum lock's replica set it is in" % me)


def ready(st: dict) -> dict:
    """Ready for traffic: running, not draining, and no partition being found or healed."""
    why = [c["reason"] for c in (running(st), not_drained(st)) if not c["ok"]]
    split = [a["name"] for a in st.get("alarms", []) if a.get("name") in ("partition", "partial_partition")]
    heal = (st.get("autoheal") or {}).get("heal")
    if split:
        why.append("alarm: %s" % ", ".join(split))
    if heal:
        why.append("autoheal: %s" % heal)
    return check("ready", not why, "; ".join(why) or "running, not drained, no partition, no heal under way")
