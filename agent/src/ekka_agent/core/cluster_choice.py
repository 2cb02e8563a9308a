"""Which cluster a node joins, from the discovery probes' answers (core/autocluster.py asks).

Pure functions, so the rule can be read and tested alone. Never two clusters: among nodes
still alone, all agree on the lowest node name; a cluster that sees another of the same name
joins it when that one is larger, or equal and older (smaller oldest-member guid). A node that
answers with our own cluster id but is not our member and has another oldest member counts as
another cluster: both sides of a long partition cleaned each other out (autoclean).
"""
from __future__ import annotations


def cluster_rank(size: int, oldest, name: str, cid: str) -> tuple:
    """Sort key, best first: larger, then (alone) the lowest name or (grouped) the oldest."""
    tie = (0, name) if size <= 1 else (1, tuple(oldest or ()))
    return (-size, tie, cid)


def choose_cluster_to_join(me: dict, infos: dict, locked: bool = False, expect: int = 0):
    """Whom to join, from my view and the probe answers of the other nodes.

    me: {name, cid, size, oldest}; infos: {node: {cid, size, oldest, enabled, busy}} for nodes
    that answered. Returns ("join", node, reason), ("wait" | "retry", None, reason) or
    ("stay", None, ""); retry means soon (the target is busy joining).
    """
    clusters: dict = {}
    ours, my_oldest = set(me.get("members", ())), tuple(me["oldest"]) if me.get("oldest") else None
    for n, i in sorted(infos.items()):
        if not i.get("enabled") or n == me["name"]:
            continue
        o = tuple(i["oldest"]) if i.get("oldest") else None
        key = i["cid"]
        if key == me["cid"]:
            if n in ours or o == my_oldest:
                continue        # one of ours (a member, or one that joined a moment ago)
            # Our cluster's id, but neither a member nor led by our oldest: the two sides of a
            # partition longer than autoclean removed each other and both run on under the id.
            key = "%s/%s" % (key, ".".join(map(str, o or ())))
        c = clusters.setdefault(key, {"size": 0, "oldest": None, "nodes": []})
        c["size"] = max(c["size"], int(i["size"]))
        if o is not None and (c["oldest"] is None or o < c["oldest"]):
            c["oldest"] = o
        c["nodes"].append(n)
    if not clusters:
        return ("stay", None, "")

    def rank(cid, c):
        return cluster_rank(c["size"], c["oldest"], min(c["nodes"]), cid)

    best_cid, best = min(clusters.items(), key=lambda kv: rank(*kv))
    target = min(best["nodes"])
    if best["size"] <= 1 and infos[target].get("busy"):
        # It is joining someone itself: joining it now would make a short-lived second cluster.
        return ("retry", None, "%s is joining a cluster itself; looking again shortly" % target)
    if locked and me["size"] <= 1:
        return ("join", target, "holding the discovery lock, joins the cluster of %s" % target)
    mine = cluster_rank(me["size"], me["oldest"], me["name"], me["cid"])
    if mine <= rank(best_cid, best):
        return ("stay", None, "")
    if me["size"] <= 1 and best["size"] <= 1 and expect > 1:
        alone = 1 + sum(1 for c in clusters.values() if c["size"] <= 1)
        if alone < expect:
            return ("wait", None, "bootstrap_expect = %d: %d node(s) seen, waiting for more" % (expect, alone))
    if me["size"] <= 1:
        return ("join", target, "joins %s" % target)
    return ("join", target, "merge: this cluster (%d running) joins the cluster of %s (%d running)"
            % (me["size"], target, best["size"]))
