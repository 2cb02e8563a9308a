"""ekka-ctl lock: the distributed lock service from the shell.

    ekka-ctl -c FILE lock acquire NAME [--strategy S] [--lease 15s] [--wait 5s] [--owner ID]
    ekka-ctl -c FILE lock release NAME [--owner ID]
    ekka-ctl -c FILE lock list [--json]
    ekka-ctl -c FILE lock run NAME [--strategy S] [--lease 15s] [--wait 5s] -- COMMAND ARGS...

`acquire` takes the lock for its lease and exits (the lock stays until `release` or the lease
ends); both default to the owner "ekka-ctl" so a later `release` matches. `run` holds the lock
while COMMAND runs, renewing it, releases it afterwards and exits with COMMAND's status (like
flock or consul lock); COMMAND sees EKKA_LOCK_NAME and EKKA_LOCK_TOKEN. If the lock is lost
meanwhile, COMMAND gets SIGTERM.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from ..config.types import parse_duration_ms
from ..strategies import LOCK_STRATEGIES as STRATEGIES
from .common import EXIT_FAIL, EXIT_OK, EXIT_USAGE

CTL_OWNER = "ekka-ctl"
USAGE_ERRORS = ("bad_argument", "not_configured")   # exit 2: the call or the config is wrong


def seconds(v: str) -> float:
    """'15s', '500ms', '2m', '1h30m' (the config's duration forms), or a bare number of seconds."""
    try:
        return parse_duration_ms(v, bare_unit="s") / 1000
    except ValueError as e:
        raise argparse.ArgumentTypeError("%r: must be %s (a bare number is seconds)" % (v, e)) from None


def register(groups, _cluster_subparsers) -> None:
    p = groups.add_parser("lock", help="the distributed lock service")
    s = p.add_subparsers(dest="action", required=True)

    def common(sp, wait=True):
        sp.add_argument("name", help="the resource to lock")
        sp.add_argument("--strategy", choices=STRATEGIES, help="default: cluster.locks.default_strategy")
        sp.add_argument("--lease", type=seconds, help="lease, e.g. 15s (default: cluster.locks.default_lease)")
        if wait:
            sp.add_argument("--wait", type=seconds, default=0.0, help="keep trying this long, e.g. 5s")

    a = s.add_parser("acquire", help="take a lock for its lease and exit")
    common(a)
    a.add_argument("--owner", default=CTL_OWNER, help="owner id (default %s)" % CTL_OWNER)
    r = s.add_parser("release", help="free a lock taken with acquire")
    r.add_argument("name")
    r.add_argument("--strategy", choices=STRATEGIES)
    r.add_argument("--owner", default=CTL_OWNER)
    s.add_parser("list", help="locks this node grants or holds").add_argument("--json", action="store_true")
    run = s.add_parser("run", help="hold a lock while a command runs; exit with its status")
    common(run)
    run.add_argument("command", nargs="+", help="the command (after --)")
    p.set_defaults(run=lock)


def lock(ctl, a) -> int:
    from ..client import LockClient, LockError, NotAcquired
    path = ctl.client.path
    try:
        if a.action == "acquire":
            c = LockClient(path, owner=a.owner)
            g = c.acquire(a.name, a.strategy, a.lease, a.wait)
            print("Lock acquired: %s (strategy %s, token %s, lease %gs, nodes %s)"
                  % (a.name, g["strategy"], g["token"], g["lease"], ",".join(g["nodes"])))
            return EXIT_OK
        if a.action == "release":
            c = LockClient(path, owner=a.owner)
            if c.release(a.name, a.strategy):
                print("Lock released: %s" % a.name)
            else:
                print("Ignore. %s is not held by %s" % (a.name, a.owner))
            return EXIT_OK
        if a.action == "list":
            locks = LockClient(path).list()
            if a.json:
                print(json.dumps(locks, indent=2, sort_keys=True))
            elif not locks:
                print("No locks.")
            else:
                for lk in locks:
                    print("%s\towner=%s\tnode=%s\tstrategy=%s\ttoken=%s\texpires_in=%.1fs"
                          % (lk["resource"], lk["owner"], lk["node"], lk["strategy"], lk["token"], lk["expires_in"]))
            return EXIT_OK
        return run_locked(path, a)
    except LockError as e:
        if e.error in USAGE_ERRORS:
            print("ekka-ctl lock: %s" % e, file=sys.stderr)
            return EXIT_USAGE
        if isinstance(e, NotAcquired):
            print("Failed to acquire the lock %s: %s" % (a.name, e), file=sys.stderr)
        else:
            print("Failed: %s" % e, file=sys.stderr)
        return EXIT_FAIL


def run_locked(path: str, a) -> int:
    import signal
    import subprocess

    from ..client import Lock
    argv = a.command[1:] if a.command and a.command[0] == "--" else a.command
    if not argv:
        print("ekka-ctl lock run: no command given (ekka-ctl lock run NAME -- COMMAND ARGS)", file=sys.stderr)
        return EXIT_USAGE
    child = {}

    def lost(lk) -> None:
        print("ekka-ctl: lost the lock %s; stopping the command" % a.name, file=sys.stderr)
        p = child.get("p")
        if p and p.poll() is None:
            p.send_signal(signal.SIGTERM)

    lk = Lock(path, a.name, a.strategy, a.lease, a.wait, on_lost=lost)
    token = lk.acquire()
    try:
        env = dict(os.environ, EKKA_LOCK_NAME=a.name, EKKA_LOCK_TOKEN=str(token))
        try:
            child["p"] = p = subprocess.Popen(argv, env=env)
        except OSError as e:
            print("ekka-ctl lock run: cannot run %s: %s" % (argv[0], e.strerror or e), file=sys.stderr)
            return 127
        # Pass SIGTERM / SIGINT on to the command, then release as it ends.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda n, _f: p.poll() is None and p.send_signal(n))
        rc = p.wait()
    finally:
        lk.release()
    return 128 - rc if rc < 0 else rc
