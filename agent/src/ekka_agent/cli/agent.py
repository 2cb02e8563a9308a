"""ekka-agent: run a node (`run`), check a config (`check`), show its ports (`ports`)."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys

from .. import naming
from ..config.schema import REQUIRED, SCHEMA
from .common import EXIT_FAIL, EXIT_OK, load_or_exit


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="ekka-agent", description="Cluster agent of ekka.cluster")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the node in the foreground, logging to stderr")
    r.add_argument("-c", "--config", required=True)
    r.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    c = sub.add_parser("check", help="check a config file: exit 0, or 2 with one line per problem")
    c.add_argument("-c", "--config")
    c.add_argument("--keys", action="store_true", help="list every config key, its default and meaning")
    po = sub.add_parser("ports", help="print the node name, offset and every port it will use")
    po.add_argument("-c", "--config", required=True)
    po.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    if a.cmd == "run":
        return run(a)
    if a.cmd == "check":
        return check(a)
    return ports(a)


def run(a) -> int:
    cfg = load_or_exit(a.config, "ekka-agent")
    logging.basicConfig(level=a.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s [" + cfg["node.name"] + "] %(name)s: %(message)s")
    from ..runtime.agent import Agent, StartupError
    try:
        asyncio.run(Agent(cfg).run_forever())
    except StartupError as e:
        print("ekka-agent: cannot start: %s" % e, file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def check(a) -> int:
    if a.keys:
        for k in SCHEMA:
            d = "(required)" if k.default is REQUIRED else "(off)" if k.default is None else json.dumps(k.default)
            print("%-36s %-22s %s" % (k.path, d, k.doc))
        return EXIT_OK
    if not a.config:
        print("ekka-agent check: -c FILE is required (or --keys)", file=sys.stderr)
        return 2
    cfg = load_or_exit(a.config, "ekka-agent")
    print("config OK: node %s, cluster %s, discovery %s" % (cfg["node.name"], cfg["cluster.name"],
                                                          cfg["cluster.discovery_strategy"]))
    return EXIT_OK


def ports(a) -> int:
    cfg = load_or_exit(a.config, "ekka-agent")
    s = naming.port_summary(cfg["node.name"], cfg["node.epmd"], cfg["node.dist_listen_min"],
                            cfg["node.dist_listen_max"])
    if a.json:
        print(json.dumps(s, indent=2))
        return EXIT_OK
    print("node:   %s" % s["node"])
    print("offset: %d" % s["offset"])
    print("mode:   %s" % s["mode"])
    for p in s["ports"]:
        span = str(p["port"]) if p["port"] == p["end"] else "%d-%d" % (p["port"], p["end"])
        print("%-6s  tcp/%s" % (p["purpose"] + ":", span))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
