"""Reading certificate ends and the expiry alarm (pure: files only)."""
from __future__ import annotations

import asyncio
import datetime

from ekka_agent.runtime.certs import expiry_alarms, read_apart, read_certs


def test_leaf_ends_and_alarm_window(certs):
    end = datetime.datetime(2030, 1, 2, tzinfo=datetime.timezone.utc)
    f = certs.issue("leaf", "127.0.0.1", not_after=end)
    (leaf,) = read_certs(str(f.cert), "cert")
    assert leaf["not_after"] == end.timestamp() and leaf["role"] == "cert"
    (ca,) = read_certs(str(f.ca), "ca")
    t = end.timestamp()
    assert expiry_alarms([leaf, ca], 30 * 86400, t - 31 * 86400) == []
    (a,) = expiry_alarms([leaf, ca], 30 * 86400, t - 29 * 86400)
    assert a["name"] == "certificate_expiry" and "expires in 29.0 days" in a["message"]
    (a,) = expiry_alarms([leaf], 30 * 86400, t + 7200)
    assert "expired 2.0 hours ago" in a["message"]


def test_read_in_a_child_process_gives_the_same_and_names_a_bad_file(certs, tmp_path):
    f = certs.issue("leaf", "127.0.0.1")
    bad = tmp_path / "not-a-cert.pem"
    bad.write_text("not a certificate\n")
    files = [("cluster.ssl.certfile", "cert", str(f.cert)), ("cluster.ssl.cacertfile", "ca", str(bad))]
    found = asyncio.run(read_apart(files))
    assert found["certs"] == read_certs(str(f.cert), "cert")
    ((key, path, why),) = found["errors"]
    assert key == "cluster.ssl.cacertfile" and path == str(bad) and why
