"""ekka-ctl cluster health on real agents: each check passing and failing, exit codes, --json."""
from __future__ import annotations

import datetime
import json


def _tls(files) -> str:
    return ('cluster { proto_dist = inet_tls\n ssl { certfile = "%s", keyfile = "%s", cacertfile = "%s" } }'
            % (files.cert, files.key, files.ca))


def _health(node, *args):
    r = node.ctl("cluster", "health", *args)
    return r.returncode, r.stdout.strip().splitlines()


def test_health_checks_pass_and_fail(agents, certs):
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)
    files = [certs.issue("n1", agents.ip(1), not_after=soon)] + [certs.issue("n%d" % i, agents.ip(i)) for i in (2, 3)]
    n1, n2, n3 = [agents.add(agents.name(i), extra=_tls(files[i - 1]), start=False) for i in (1, 2, 3)]
    for n in (n1, n2, n3):
        n.start(wait=False)
    for n in (n1, n2, n3):
        n.wait_ready()
        if n is not n1:
            assert n.ctl("cluster", "join", n1.name).returncode == 0
    agents.wait_running([n1, n2, n3], [n1, n2, n3])

    assert _health(n2, "--expect", "3", "--safe-to-stop", "--no-alarms") == (0, [
        "healthy: ping, running, not_drained, expect, safe_to_stop, no_alarms"])
    code, lines = _health(n1, "--expect", "4", "--no-alarms")
    assert code == 1 and lines[0] == "expect: 3 running member(s), at least 4 expected"
    assert lines[1].startswith("no_alarms: certificate_expiry: node certificate") and len(lines) == 2
    r = n1.ctl("cluster", "health", "--json", "--expect", "4")
    report = json.loads(r.stdout)
    assert r.returncode == 1 and report["healthy"] is False
    assert [(c["check"], c["ok"]) for c in report["checks"]] == [
        ("ping", True), ("running", True), ("not_drained", True), ("expect", False)]

    assert n2.ctl("lock", "acquire", "deploy", "--strategy", "quorum", "--lease", "5m").returncode == 0
    assert _health(n2, "--safe-to-stop")[0] == 0          # 2 of 3 stay: a majority everywhere
    n3.kill()
    agents.wait_running([n1, n2], [n1, n2])
    code, lines = _health(n2, "--safe-to-stop")
    assert code == 1 and lines == [
        "safe_to_stop: the cluster would have 1 of 3 members running, not a majority; quorum lock 'deploy' would "
        "have 1 of its replica set %s up; it needs 2" % ", ".join(_replicas(n2, "deploy"))]

    code, lines = _health(n3)
    assert code == 1 and lines[0].startswith("ping: the agent does not answer: ")
    assert n2.ctl("cluster", "health", "--expect", "0").returncode == 2


def _replicas(node, res):
    from ekka_agent.core.ring import replica_set
    return replica_set([m["node"] for m in node.status()["members"]], res)[0]
