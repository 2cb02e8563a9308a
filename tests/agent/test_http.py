"""The HTTP endpoint on real agents: /status, /ready, /api/v1/cluster, /metrics scraped with
prometheus_client's parser, and POST actions only with the bearer token."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

from harness.wait import wait_until
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "tok-" + "5" * 28


def _get(url: str, method: str = "GET", body=None, token=None):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def _families(base: str) -> dict:
    code, hdrs, text = _get(base + "/metrics")
    assert code == 200 and hdrs["Content-Type"].startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(text)}


def _rtt_seen(base: str):
    fams = _families(base)
    return fams if any(s.name == "ekka_heartbeat_rtt_seconds_count" and s.value > 0
                       for s in fams["ekka_heartbeat_rtt_seconds"].samples) else None


def test_http_endpoint(agents, tmp_path):
    tok = tmp_path / "token"
    tok.write_text(TOKEN + "\n")
    base = "http://%s:8081" % agents.ip(1)
    n1 = agents.add(agents.name(1), extra='http { listen = "%s:8081", token_file = "%s" }' % (agents.ip(1), tok))
    n2 = agents.add(agents.name(2))
    assert n2.ctl("cluster", "join", n1.name).returncode == 0
    agents.wait_running([n1, n2], [n1, n2])

    assert _get(base + "/status")[0] == 200
    code, _, body = _get(base + "/ready")
    assert code == 200 and json.loads(body)["status"] == "ready"
    code, _, body = _get(base + "/api/v1/cluster")
    st = json.loads(body)
    assert code == 200 and st["running_nodes"] == sorted([n1.name, n2.name]) and st.keys() == n1.status().keys()
    assert _get(base + "/nothing")[0] == 404 and _get(base + "/status", "POST", {})[0] == 405

    assert n1.ctl("kv", "put", "k", "v").returncode == 0
    assert n1.ctl("lock", "acquire", "res", "--strategy", "quorum").returncode == 0
    fams = wait_until(lambda: _rtt_seen(base), 15, 0.5, message="a heartbeat round trip in the metrics")
    one = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in fams.values() for s in f.samples}
    assert one[("ekka_cluster_nodes_running", ())] == 2 and one[("ekka_cluster_nodes_stopped", ())] == 0
    assert one[("ekka_cluster_member_status", (("node", n2.name), ("status", "up")))] == 1
    assert one[("ekka_kv_write_duration_seconds_count", ())] == 1 and one[("ekka_kv_entries", ())] == 1
    assert one[("ekka_lock_requests_total", (("result", "granted"), ("strategy", "quorum")))] == 1
    assert ("ekka_discovery_rounds_total", ()) in one and ("ekka_partitions_total", ()) in one
    assert fams["ekka_lock_acquire_duration_seconds"].type == "histogram"
    assert fams["ekka_failure_detector_suspicions"].type == "counter"
    assert 0 < one[("process_open_fds", ())] < one[("process_max_fds", ())]   # open files run out with members

    n2.kill()
    wait_until(lambda: n1.running() == [n1.name], 10, message="n2 down")
    fams = _families(base)
    downs = [s for s in fams["ekka_failure_detector_downs"].samples if s.name.endswith("_total")]
    assert [(s.labels["peer"], s.value) for s in downs] == [(n2.name, 1)]

    assert _get(base + "/api/v1/force-leave", "POST", {"node": n2.name})[0] == 401
    assert _get(base + "/api/v1/force-leave", "POST", {"node": n2.name}, token="wrong")[0] == 401
    assert _get(base + "/api/v1/force-leave", "POST", {}, token=TOKEN)[0] == 400
    code, _, body = _get(base + "/api/v1/force-leave", "POST", {"node": n2.name}, token=TOKEN)
    assert code == 200, body
    assert [m["node"] for m in n1.status()["members"]] == [n1.name]
