"""ekka-ctl node drain | revive: take this node out of every role it leads (core/drain.py), and back.

    ekka-ctl -c FILE node drain [--timeout 30s]    waits until the handover is done
    ekka-ctl -c FILE node revive

Exit 0 done, 1 failure (or the handover not done within the timeout), 2 usage.
"""
from __future__ import annotations

import sys
import time

from ..control_client import ControlError
from .common import EXIT_FAIL, EXIT_OK
from .ctl_lock import seconds


def register(groups, cluster_subparsers) -> None:
    n = groups.add_parser("node", help="this node's roles: drain (hand over, stay a member) and revive")
    ns = n.add_subparsers(dest="action", required=True)
    d = ns.add_parser("drain", help="stop leading, coordinating, holding lock replicas and discovering")
    d.add_argument("--timeout", type=seconds, default=30.0, metavar="DURATION",
                   help="how long to wait for the handover (default 30s)")
    ns.add_parser("revive", help="undo drain")
    n.set_defaults(run=run)


def run(ctl, a) -> int:
    c = ctl.client
    try:
        state = c.call(a.action)
        if a.action == "drain":
            end = time.monotonic() + a.timeout
            while state != "drained" and time.monotonic() < end:
                time.sleep(0.1)
                state = c.call("status")["drain"]
    except ControlError as e:
        print("Failed to %s the node: %s" % (a.action, e.reply.get("message") or e.error), file=sys.stderr)
        return EXIT_FAIL
    if a.action == "revive":
        print("Node revived: it leads, coordinates and discovers again.")
        return EXIT_OK
    if state != "drained":
        print("Node still %s after %gs: the handover is not done (see the agent's log)" % (state, a.timeout),
              file=sys.stderr)
        return EXIT_FAIL
    print("Node drained: another member leads and holds the lock replicas; `ekka-ctl node revive` undoes it.")
    print(ctl.status_text())
    return EXIT_OK
