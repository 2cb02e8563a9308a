"""ekka-ctl cluster events | conflicts: watch membership and partition events; list the writes
that autoheal replaced on this node.

    ekka-ctl -c FILE cluster events [--event PATTERN] [--count N]
    ekka-ctl -c FILE cluster conflicts [--json]
"""
from __future__ import annotations

import fnmatch
import json
import os
import sys
import time

from .common import EXIT_FAIL, EXIT_OK


def register(groups, cluster_subparsers) -> None:
    e = cluster_subparsers.add_parser("events", help="print membership and partition events as JSON lines")
    e.add_argument("--event", default="*", help="only events whose name matches (glob, e.g. 'partition_*')")
    e.add_argument("--count", type=int, default=0, help="stop after N events (default: run until interrupted)")
    e.set_defaults(run=events)
    c = cluster_subparsers.add_parser("conflicts", help="writes replaced on this node when a partition was healed")
    c.add_argument("--json", action="store_true")
    c.set_defaults(run=conflicts)


def events(ctl, a) -> int:
    n = 0
    try:
        watching = lambda: print("Watching events; Ctrl-C to stop.", file=sys.stderr, flush=True)  # noqa: E731
        for ev in ctl.client.stream("events", ready=watching):
            if not fnmatch.fnmatchcase(str(ev.get("event", "")), a.event):
                continue
            print(json.dumps(ev, sort_keys=True), flush=True)
            n += 1
            if a.count and n >= a.count:
                return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_OK
    print("The agent closed the event stream.", file=sys.stderr)
    return EXIT_FAIL


def _when(t) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) if isinstance(t, (int, float)) else "?"


def conflicts(ctl, a) -> int:
    from ..runtime import conflicts as store
    items = store.read(os.path.dirname(ctl.client.path))
    if a.json:
        print(json.dumps(items, indent=2, sort_keys=True))
        return EXIT_OK
    if not items:
        print("No conflicts.")
        return EXIT_OK
    for r in items:
        val = "(deleted)" if r.get("deleted") else json.dumps(r.get("value"))
        print("%s  written by %s  key %s = %s  replaced at %s from %s (kept: %s)" % (
            _when(r.get("time")), r.get("node"), json.dumps(r.get("key")), val, _when(r.get("replaced_at")),
            r.get("coordinator"), json.dumps(r.get("kept"))))
    return EXIT_OK
