"""ekka-agent: run a node (`run`), check a config (`check`), show its ports (`ports`)."""
from __future__ import annotations

import argparse
import json
import sys

from .common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, load_or_exit


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="ekka-agent", description="Cluster agent of ekka.cluster")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the node in the foreground, logging to stderr")
    r.add_argument("-c", "--config", required=True)
    r.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    c = sub.add_parser("check", help="check a config file: exit 0, or 2 with one line per problem")
    c.add_argument("-c", "--config")
    c.add_argument("--keys", action="store_true", help="list every config key, its default and meaning")
    c.add_argument("--effective", action="store_true",
                   help="print the whole effective config as JSON (the cookie as its fingerprint)")
    po = sub.add_parser("ports", help="print the node name, offset and every port it will use")
    po.add_argument("-c", "--config", required=True)
    po.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    try:
        if a.cmd == "run":
            return run(a)
        if a.cmd == "check":
            return check(a)
        return ports(a)
    except BrokenPipeError:     # `ekka-agent check --effective | head`: the reader left
        return EXIT_FAIL


def run(a) -> int:
    cfg = load_or_exit(a.config, "ekka-agent")
    from ..openssl_use import leave_out_openssl
    leave_out_openssl(cfg)      # before asyncio, which imports ssl
    import asyncio
    import logging
    logging.basicConfig(level=a.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s [" + cfg["node.name"] + "] %(name)s: %(message)s")
    from ..runtime.agent import Agent, StartupError
    from ..runtime.open_files import raise_soft_limit
    before, after = raise_soft_limit()
    if before != after:
        logging.getLogger("ekka.agent").info("open files: soft limit raised from %d to %d", before, after)
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
        from ..config.schema import REQUIRED, SCHEMA
        for k in SCHEMA:
            d = "(required)" if k.default is REQUIRED else "(off)" if k.default is None else json.dumps(k.default)
            print("%-36s %-22s %s" % (k.path, d, k.doc))
        return EXIT_OK
    if not a.config:
        print("ekka-agent check: -c FILE is required (or --keys)", file=sys.stderr)
        return EXIT_USAGE
    cfg = load_or_exit(a.config, "ekka-agent")
    notes = sources(cfg)
    if a.effective:
        print(json.dumps(effective(cfg), indent=2, sort_keys=True))
        for line in notes:
            print("ekka-agent: %s" % line, file=sys.stderr)
        return EXIT_OK
    print("config OK: node %s, cluster %s, discovery %s" % (cfg["node.name"], cfg["cluster.name"],
                                                          cfg["cluster.discovery_strategy"]))
    for line in notes:
        print(line)
    return EXIT_OK


def effective(cfg) -> dict:
    """The checked config as nested JSON; every cookie is replaced by its fingerprint."""
    from ..config.cookie import fingerprint
    out: dict = {}
    for key, value in cfg.as_dict().items():
        if key == "node.cookie":
            key, value = "node.cookie_fingerprint", fingerprint(value)
        elif key == "node.cookie_previous":
            key, value = "node.cookie_previous_fingerprints", [fingerprint(c) for c in value]
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def sources(cfg) -> list:
    """Which environment variables were used and which keys were ignored, each said once."""
    lines = []
    if cfg.env_used:
        lines.append("environment: %s" % ", ".join(cfg.env_used))
    if cfg.ignored:
        # EMQX's node/cluster/rpc keys one by one; any other section once, with its count
        from ..config.emqx_keys import ROOTS
        groups: dict = {}
        for key in cfg.ignored:
            root = key.split(".")[0]
            groups.setdefault(key if root in ROOTS or key.startswith(("EMQX_", "EKKA_")) else root, []).append(key)
        shown = [v[0] if len(v) == 1 else "%s (%d keys)" % (k, len(v)) for k, v in groups.items()]
        lines.append("ignored (no effect on clustering): %s" % ", ".join(shown))
    return lines


def ports(a) -> int:
    from .. import naming
    cfg = load_or_exit(a.config, "ekka-agent")
    s = naming.port_summary(cfg["node.name"], cfg["node.epmd"], cfg["node.dist_listen_min"],
                            cfg["node.dist_listen_max"],
                            naming.fixed_rpc_port(cfg["rpc.port_discovery"], cfg["rpc.tcp_server_port"]))
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
