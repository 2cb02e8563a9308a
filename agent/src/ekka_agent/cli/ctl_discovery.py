"""ekka-ctl cluster discovery enable | disable | status [--json] (EMQX 5's `cluster discovery`)."""
from __future__ import annotations

import json
import sys

from ..control_client import ControlError
from .common import EXIT_FAIL, EXIT_OK


def register(groups, cluster_subparsers) -> None:
    d = cluster_subparsers.add_parser("discovery", help="automatic cluster discovery: enable, disable, status")
    ds = d.add_subparsers(dest="disc_action", required=True)
    ds.add_parser("enable", help="turn automatic cluster discovery on (until restart or leave)")
    ds.add_parser("disable", help="turn it off (until enabled or restart)")
    s = ds.add_parser("status", help="what discovery finds now, which are members, which are unreachable")
    s.add_argument("--json", action="store_true")
    d.set_defaults(run=run)


def run(ctl, a) -> int:
    c = ctl.client
    try:
        if a.disc_action == "enable":
            c.call("discovery_enable")
            print("Automatic cluster discovery enabled.")
        elif a.disc_action == "disable":
            c.call("discovery_disable")
            print("Automatic cluster discovery disabled.")
        else:
            st = c.call("discovery_status")
            print(json.dumps(st, indent=2, sort_keys=True) if a.json else status_text(st))
    except ControlError as e:
        print("Failed: %s" % (e.reply.get("message") or e.error), file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def status_text(st: dict) -> str:
    lines = ["Discovery: %s, %s" % (st["strategy"], "enabled" if st["enabled"] else "disabled"),
             "Discovered now: %s" % (", ".join(st["discovered"]) or "(none)"),
             "Members: %s" % (", ".join(st["members"]) or "(none)")]
    for n, o in st["other_clusters"].items():
        lines.append("Not a member: %s (cluster %s, %d running%s)" % (
            n, o["cluster_id"][:8], o["running"], "" if o["discovery_enabled"] else ", discovery disabled"))
    for n, why in st["unreachable"].items():
        lines.append("Unreachable: %s: %s" % (n, why))
    if st.get("registered") is not None:
        lines.append("Registered: %s" % ("yes" if st["registered"] else "no"))
    if st.get("bootstrap_expect"):
        lines.append("Bootstrap expect: %d" % st["bootstrap_expect"])
    if st.get("error"):
        lines.append("Last error: %s" % st["error"])
    return "\n".join(lines)
