"""ekka-ctl cluster health: checks with exit codes for load balancers, monitors and restart gates.

    ekka-ctl -c FILE cluster health [--expect N] [--safe-to-stop] [--no-alarms] [--json]

ping (the agent answers), running (this node is up in its cluster) and not_drained (`node
drain` not in force) always; the others on request. Exit 0 healthy; 1 unhealthy, one line per failed check; 2 usage.
"""
from __future__ import annotations

import json

from .. import health
from ..control_client import AgentUnreachable, ControlError
from .common import EXIT_FAIL, EXIT_OK


def register(groups, cluster_subparsers) -> None:
    h = cluster_subparsers.add_parser("health", help="health checks: exit 0 healthy, 1 unhealthy (one line each)")
    h.add_argument("--expect", type=_positive, metavar="N", help="at least N members running")
    h.add_argument("--safe-to-stop", action="store_true",
                   help="stopping this node keeps a majority of the cluster and of every quorum lock's replica set")
    h.add_argument("--no-alarms", action="store_true", help="no partition, heal-loop, certificate or clock alarm")
    h.add_argument("--json", action="store_true", help="every check with its verdict and reason")
    h.set_defaults(run=run)


def _positive(s: str) -> int:
    import argparse
    try:
        n = int(s)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError("--expect N: N must be a whole number of at least 1, not %r" % s)
    return n


def checks(client, a) -> list:
    try:
        st = client.call("status")
    except (AgentUnreachable, ControlError, OSError) as e:
        return [health.check("ping", False, "the agent does not answer: %s" % e)]
    out = [health.check("ping", True, "the agent answers"), health.running(st), health.not_drained(st)]
    if a.expect:
        out.append(health.expect(st, a.expect))
    if a.safe_to_stop:
        out.append(health.safe_to_stop(st, client.call("lock_list")["locks"]))
    if a.no_alarms:
        out.append(health.no_alarms(st))
    return out


def run(ctl, a) -> int:
    res = checks(ctl.client, a)
    healthy = all(c["ok"] for c in res)
    if a.json:
        print(json.dumps({"healthy": healthy, "checks": res}, indent=2))
    else:
        for c in res:
            if not c["ok"]:
                print("%s: %s" % (c["check"], c["reason"]))
        if healthy:
            print("healthy: %s" % ", ".join(c["check"] for c in res))
    return EXIT_OK if healthy else EXIT_FAIL
