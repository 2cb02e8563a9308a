"""Real ekka-agent processes for tests: write each node's config, start it (on loopback or in a
network namespace), talk to it through ekka-ctl or its control socket, crash or pause it."""
from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ekka_agent.control_client import ControlClient, socket_path

from .wait import wait_until

BIN = Path(sys.executable).parent
AGENT = str(BIN / "ekka-agent")
CTL = str(BIN / "ekka-ctl")


class AgentNode:
    def __init__(self, cluster: "AgentCluster", name: str, conf: Path, data_dir: Path, host=None, env=None):
        self.cluster, self.name, self.conf, self.data_dir = cluster, name, conf, data_dir
        self.host = host          # a harness.netns.Host, or None for the root namespace
        self.env = env or {}
        self.proc = None
        self.agent_argv = [AGENT]  # another release's agent: [python, "-m", "ekka_agent.cli.agent"] + env

    def __repr__(self) -> str:
        return "<AgentNode %s>" % self.name

    # ---- process ----
    def start(self, wait: bool = True) -> "AgentNode":
        argv = [*self.agent_argv, "run", "-c", str(self.conf)]
        procs = self.cluster.procs
        n = self.name.split("@")[0]
        if self.host is not None:
            self.proc = self.host.start(argv, name=n, extra_env=self.env)
        else:
            self.proc = procs.start(argv, name=n, extra_env=self.env)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 15) -> None:
        def ready():
            if not self.proc.alive():
                raise AssertionError("agent %s exited with %s before answering:\n%s"
                                     % (self.name, self.proc.returncode, self.proc.stderr()[-2000:]))
            return self.status()
        try:
            wait_until(ready, timeout, message="agent %s to answer on its control socket" % self.name)
        except AssertionError:
            if not self.proc.alive():
                ready()   # say why it died rather than that it timed out
            raise

    def kill(self) -> None:
        self.proc.kill()

    def stop(self) -> int:
        return self.proc.stop()

    def pause(self) -> None:
        self.proc.pause()

    def resume(self) -> None:
        self.proc.resume()

    # ---- control ----
    def client(self, timeout: float = 10) -> ControlClient:
        return ControlClient(socket_path(str(self.data_dir)), timeout=timeout)

    def status(self) -> dict:
        return self.client().call("status")

    def call(self, cmd: str, **args):
        return self.client(timeout=60).call(cmd, **args)

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run ekka-ctl for this node, inside its namespace when it has one."""
        argv = [CTL, "-c", str(self.conf), *args]
        if self.host is not None:
            argv = ["ip", "netns", "exec", self.host.ns, *argv]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    def running(self) -> list:
        return self.status()["running_nodes"]


class AgentCluster:
    """Nodes sharing a cookie and a cluster name; every process is stopped by the procs fixture."""

    def __init__(self, procs, cookie: str | None = None, cluster: str = "testcl"):
        self.procs = procs
        self.cookie = cookie or "t-" + secrets.token_hex(12)
        self.cluster = cluster
        # Short paths: a unix socket path must stay under 108 bytes.
        self.base = Path(tempfile.mkdtemp(prefix="ek", dir="/tmp"))
        self.nodes: dict[str, AgentNode] = {}
        # A loopback /24 of its own, so clusters of concurrent test runs never meet.
        self.net = "127.%d.%d." % (secrets.randbelow(250) + 2, secrets.randbelow(250) + 1)

    def ip(self, i: int) -> str:
        """Loopback address number i (1-254) of this cluster."""
        return self.net + str(i)

    def name(self, i: int, app: str = "ekka") -> str:
        """ekka<i>@<ip(i)>: offset i, so ports 4370+i and 5370+i."""
        return "%s%d@%s" % (app, i, self.ip(i))

    def close(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)

    def config_text(self, name: str, data_dir: Path, extra: str = "", cookie: str | None = None,
                    cluster: str | None = None) -> str:
        return (
            "node {\n  name = %s\n  cookie = %s\n  data_dir = %s\n}\n"
            "cluster {\n  name = %s\n  probe_interval = 200ms\n  failure_timeout = 1500ms\n}\n%s\n"
            % (json.dumps(name), json.dumps(cookie or self.cookie), json.dumps(str(data_dir)),
               json.dumps(cluster or self.cluster), extra))

    def add(self, name: str, host=None, extra: str = "", start: bool = True, env: dict | None = None,
            cookie: str | None = None, cluster: str | None = None) -> AgentNode:
        d = self.base / ("n%d" % (len(self.nodes) + 1))
        d.mkdir()
        conf = d / "ekka.conf"
        data = d / "data"
        conf.write_text(self.config_text(name, data, extra, cookie, cluster))
        node = AgentNode(self, name, conf, data, host, env)
        self.nodes[name] = node
        if start:
            node.start()
        return node

    def start_all(self, names, extra: str = "") -> list:
        """Start every node at once (as a fleet boots), then wait until each answers."""
        nodes = [self.add(n, extra=extra, start=False) for n in names]
        for n in nodes:
            n.start(wait=False)
        for n in nodes:
            n.wait_ready()
        return nodes

    def wait_running(self, nodes, expect, timeout: float = 20) -> None:
        """Wait until every node in `nodes` lists exactly `expect` as running."""
        want = sorted(n if isinstance(n, str) else n.name for n in expect)
        for node in nodes:
            wait_until(lambda: node.running() == want, timeout,
                       message="%s to see running nodes %s" % (node.name, want))
