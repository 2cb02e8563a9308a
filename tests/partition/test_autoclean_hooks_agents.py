"""Autoclean of a killed node and its clean return; hook commands; `ekka-ctl cluster events`."""
from __future__ import annotations

import json
import subprocess

from harness.agents import CTL
from harness.wait import wait_until


def _form(agents, n, extra=""):
    nodes = [agents.add(agents.name(i), extra=extra) for i in range(1, n + 1)]
    for node in nodes[1:]:
        r = node.ctl("cluster", "join", nodes[0].name)
        assert r.returncode == 0, r.stdout + r.stderr
    agents.wait_running(nodes, nodes)
    return nodes


def _members(node) -> list:
    return [m["node"] for m in node.status()["members"]]


def test_autoclean_then_the_node_returns_and_rejoins(agents):
    n1, n2, n3 = _form(agents, 3, "cluster {\n  autoclean = 2s\n}\n")
    n3.kill()
    for n in (n1, n2):
        wait_until(lambda: n3.name not in _members(n), 20, message="%s to clean %s" % (n.name, n3.name))
    audit = [line for line in n1.proc.stderr().splitlines() if "autoclean: removed member %s" % n3.name in line]
    assert len(audit) == 1, n1.proc.stderr()
    # It comes back with its old member list, learns it was removed and runs alone...
    n3.start()
    wait_until(lambda: _members(n3) == [n3.name], 20, message="the cleaned node to run alone")
    assert "was removed from cluster" in n3.proc.stderr()
    assert n3.name not in _members(n1)
    # ...until it joins again, cleanly.
    r = n3.ctl("cluster", "join", n1.name)
    assert r.returncode == 0, r.stdout + r.stderr
    agents.wait_running([n1, n2, n3], [n1, n2, n3])


def test_hooks_and_events(agents, tmp_path):
    out = tmp_path / "hook.log"
    extra = ("cluster {\n  hooks = [\n"
             "    {event = \"node_*\", command = [\"/bin/sh\", \"-c\", "
             "\"echo ENV $EKKA_EVENT $EKKA_NODE $EKKA_CLUSTER $EKKA_SELF >> %s; cat >> %s\"], timeout = 5s},\n"
             "    {event = \"node_down\", command = [\"/bin/sleep\", \"60\"], timeout = 300ms},\n"
             "    {event = \"node_down\", command = [\"/bin/sh\", \"-c\", \"exit 3\"]}\n"
             "  ]\n}\n") % (out, out)
    n1, n2 = _form(agents, 2, extra)
    watch = subprocess.Popen([CTL, "-c", str(n1.conf), "cluster", "events", "--event", "node_down", "--count", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # ekka-ctl says so once the agent has subscribed it: an event after this is not missed.
        assert "Watching events" in watch.stderr.readline()
        n2.kill()
        stdout, stderr = watch.communicate(timeout=30)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
    assert watch.returncode == 0, stderr
    ev = json.loads(stdout.strip().splitlines()[-1])
    assert ev["event"] == "node_down" and ev["node"] == n2.name and ev["by"] == n1.name

    def hook_events() -> list:
        return [json.loads(line) for line in out.read_text().splitlines() if line.startswith("{")]
    # The hook writes its environment line, then the event from stdin: wait for the second.
    wait_until(lambda: out.exists() and any(e["event"] == "node_down" and e["node"] == n2.name
                                            for e in hook_events()), 20, message="the node_down hook's event")
    assert "ENV node_down %s testcl %s" % (n2.name, n1.name) in out.read_text()
    wait_until(lambda: "exited 3" in n1.proc.stderr(), 20, message="the failing hook's exit status in the log")
    assert "killed after its timeout of 300ms" in n1.proc.stderr()
