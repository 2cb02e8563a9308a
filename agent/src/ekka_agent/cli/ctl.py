"""ekka-ctl: control a running agent with EMQX's command shapes and words.

    ekka-ctl -c FILE cluster join NODE | leave | force-leave NODE | status [--json]
    ekka-ctl -c FILE node drain | revive
    ekka-ctl -c FILE kv put KEY VALUE | get KEY | del KEY | list [--json]

Exit codes: 0 success or Ignore, 1 failure, 2 usage or config error.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from ..control_client import AgentUnreachable, ControlClient, ControlError, socket_path
from ..naming import NodeNameError, parse_node
from .common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, erl_atom, erl_list, read_keys_or_exit

# Modules that add their own command groups: each has register(groups) and is imported here.
PLUGINS: list = ["ekka_agent.cli.ctl_lock", "ekka_agent.cli.ctl_discovery", "ekka_agent.cli.ctl_events",
           "ekka_agent.cli.ctl_health", "ekka_agent.cli.ctl_node"]


class Ctl:
    def __init__(self, client: ControlClient):
        self.client = client

    def status_text(self) -> str:
        st = self.client.call("status")
        keys = ["running_nodes", "stopped_nodes"] + [k for k in ("draining_nodes", "drained_nodes") if st.get(k)]
        return "Cluster status: #{%s}" % ",\n                 ".join("%s => %s" % (k, erl_list(st[k])) for k in keys)


def fail_reason(e: ControlError) -> str:
    """{error,NODE} as EMQX prints it, with the detail a refused join gives ({cluster_name_mismatch,NODE,NAME})."""
    node = e.reply.get("node")
    if not node:
        return e.error
    return "{%s}" % ",".join([e.error, erl_atom(node)] + [json.dumps(d) for d in e.reply.get("detail", [])])


def cluster(ctl: Ctl, a) -> int:
    c = ctl.client
    if a.action == "status":
        if a.json:
            print(json.dumps(c.call("status"), indent=2, sort_keys=True))
        else:
            print(ctl.status_text())
        return EXIT_OK
    if a.action == "join":
        words = ("Join the cluster successfully.", "Failed to join the cluster: %s")
        call = lambda: c.call("join", node=a.node)  # noqa: E731
    elif a.action == "leave":
        words = ("Leave the cluster successfully.", "Failed to leave the cluster: %s")
        call = lambda: c.call("leave")  # noqa: E731
    else:
        words = ("Remove the node from cluster successfully.", "Failed to remove the node from cluster: %s")
        call = lambda: c.call("force_leave", node=a.node)  # noqa: E731
    try:
        res = call()
    except ControlError as e:
        print(words[1] % fail_reason(e))
        return EXIT_FAIL
    if res == "ignore":
        print("Ignore.")
        return EXIT_OK
    print(words[0])
    if isinstance(res, dict) and res.get("notice"):
        print(res["notice"])
    print(ctl.status_text())
    return EXIT_OK


def kv(ctl: Ctl, a) -> int:
    c = ctl.client
    try:
        if a.action == "put":
            r = c.call("kv_put", key=a.key, value=a.value)
            print("ok (acknowledged by %d running member(s))" % len(r["acked"]))
        elif a.action == "get":
            print(c.call("kv_get", key=a.key)["value"])
        elif a.action == "del":
            c.call("kv_del", key=a.key)
            print("ok")
        else:
            items = c.call("kv_list")
            if a.json:
                print(json.dumps(items, indent=2, sort_keys=True))
            else:
                for k, v in items.items():
                    print("%s\t%s" % (k, v))
    except ControlError as e:
        print("Failed: %s" % (e.reply.get("message") or e.error), file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


# argparse looks each of its own words up in gettext's catalogues, a file search per word and
# per sub-parser (about a third of ekka-ctl's start-up); its words stay English as ours are.
argparse._ = lambda message: message
argparse.ngettext = lambda singular, plural, n: singular if n == 1 else plural


class _Formatter(argparse.HelpFormatter):
    """Help text sized from $COLUMNS: argparse's default asks shutil for the terminal size, and
    importing shutil (with bz2 and lzma) for each command is a good part of ekka-ctl's start-up."""

    def __init__(self, prog):
        try:
            width = int(os.environ.get("COLUMNS", "")) - 2
        except ValueError:
            width = 78
        super().__init__(prog, width=width if width > 20 else 78)


class _Parser(argparse.ArgumentParser):
    """Every parser and sub-parser of ekka-ctl uses _Formatter."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


def build_parser():
    p = _Parser(prog="ekka-ctl", description="Control a running ekka agent")
    p.add_argument("-c", "--config", required=True, help="the agent's config file (finds its control socket)")
    groups = p.add_subparsers(dest="group", required=True)
    cl = groups.add_parser("cluster", help="cluster membership")
    cs = cl.add_subparsers(dest="action", required=True)
    j = cs.add_parser("join", help="join the cluster NODE is in")
    j.add_argument("node")
    cs.add_parser("leave", help="make this node leave its cluster")
    f = cs.add_parser("force-leave", help="remove NODE from the cluster (it may be down)")
    f.add_argument("node")
    s = cs.add_parser("status", help="running and stopped nodes")
    s.add_argument("--json", action="store_true")
    cl.set_defaults(run=cluster)
    k = groups.add_parser("kv", help="the replicated key-value table")
    ks = k.add_subparsers(dest="action", required=True)
    kp = ks.add_parser("put")
    kp.add_argument("key")
    kp.add_argument("value")
    for name in ("get", "del"):
        ks.add_parser(name).add_argument("key")
    ks.add_parser("list").add_argument("--json", action="store_true")
    k.set_defaults(run=kv)
    for mod in PLUGINS:
        importlib.import_module(mod).register(groups, cs)
    return p


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    if getattr(a, "node", None) is not None:
        try:
            a.node = str(parse_node(a.node))
        except NodeNameError as e:
            print("ekka-ctl: %s" % e, file=sys.stderr)
            return EXIT_USAGE
    # Only what finds the agent: the control socket's directory and the node's name.
    cfg = read_keys_or_exit(a.config, ("node.data_dir", "node.name"), "ekka-ctl")
    ctl = Ctl(ControlClient(socket_path(cfg["node.data_dir"])))
    try:
        return a.run(ctl, a)
    except AgentUnreachable as e:
        print("Node %s not responding: %s" % (cfg["node.name"], e), file=sys.stderr)
        return EXIT_FAIL
    except PermissionError:
        print("ekka-ctl: permission denied on the control socket of %s: run as the agent's user or group"
              % cfg["node.name"], file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
