"""Certificates on real agents: an expiring certificate raises the alarm; new files at the same
paths and SIGHUP give new connections the new certificate while the cluster stays up."""
from __future__ import annotations

import datetime
import signal
import socket
import ssl
import urllib.request
from pathlib import Path

from harness.wait import wait_until
from harness.watch import ClusterWatcher


def _tls(files) -> str:
    return ('cluster { proto_dist = inet_tls\n ssl { certfile = "%s", keyfile = "%s", cacertfile = "%s" } }'
            % (files.cert, files.key, files.ca))


def _presented(ip: str, port: int, client) -> bytes:
    """The certificate a node presents to a new TLS connection on its cluster port."""
    ctx = ssl.create_default_context(cafile=str(client.ca))
    ctx.load_cert_chain(str(client.cert), str(client.key))
    ctx.check_hostname = False
    with socket.create_connection((ip, port), timeout=5) as s, ctx.wrap_socket(s) as t:
        return t.getpeercert(binary_form=True)


def _der(path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(path.read_text().split("-----END CERTIFICATE-----")[0]
                                    + "-----END CERTIFICATE-----\n")


def _expiry_alarms(node) -> list:
    return [a for a in node.status()["alarms"] if a["name"] == "certificate_expiry"]


def test_expiring_certificate_alarm_and_reload_to_a_new_one(agents, certs):
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=5)
    f1 = certs.issue("n1", agents.ip(1), not_after=soon)
    f2 = certs.issue("n2", agents.ip(2))
    n1 = agents.add(agents.name(1), extra=_tls(f1))
    # n2 also serves its HTTP endpoint over TLS with the cluster's certificate.
    n2 = agents.add(agents.name(2), extra=_tls(f2) + '\nhttp { listen = "%s:8081", ssl.enable = true }' % agents.ip(2))
    assert n2.ctl("cluster", "join", n1.name).returncode == 0
    agents.wait_running([n1, n2], [n1, n2])

    (alarm,) = _expiry_alarms(n1)
    assert "expires in 5.0 days" in alarm["message"] and str(f1.cert) in alarm["message"]
    assert {c["role"] for c in n1.status()["certificates"]} == {"cert", "ca"}
    # Read by a child process: the agent itself never loads cryptography (12 MiB, issue 12).
    assert "cryptography" not in (Path("/proc/%d/maps" % n1.proc.pid)).read_text()
    assert _expiry_alarms(n2) == []
    https = ssl.create_default_context(cafile=str(certs.ca_pem))
    https.check_hostname = False
    with urllib.request.urlopen("https://%s:8081/status" % agents.ip(2), context=https, timeout=10) as r:
        assert r.status == 200
    assert _presented(agents.ip(1), 4371, certs.client) == _der(f1.cert)

    with ClusterWatcher([n1, n2]) as w:
        fresh = certs.issue("n1-new", agents.ip(1))
        f1.cert.write_bytes(fresh.cert.read_bytes())
        f1.key.write_bytes(fresh.key.read_bytes())
        n1.proc.signal(signal.SIGHUP, group=False)
        wait_until(lambda: _expiry_alarms(n1) == [], 10, message="the alarm to clear after the reload")
        assert _presented(agents.ip(1), 4371, certs.client) == _der(fresh.cert)
        # A key that does not fit its certificate: logged, the working TLS context kept.
        f1.key.write_bytes(certs.issue("unrelated", agents.ip(1)).key.read_bytes())
        n1.proc.signal(signal.SIGHUP, group=False)
        wait_until(lambda: n1.status()["config"]["reload_error"], 10, message="the bad TLS reload reported")
        assert "cluster.ssl" in n1.status()["config"]["reload_error"]
        assert _presented(agents.ip(1), 4371, certs.client) == _der(fresh.cert)
        assert n1.ctl("kv", "put", "after", "reload").returncode == 0
        wait_until(lambda: n2.ctl("kv", "get", "after").stdout.strip() == "reload", 5, message="a write")
    assert w.polls > 0 and w.problems == []
