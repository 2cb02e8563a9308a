"""Reading certificate ends and the expiry alarm (pure: files only)."""
from __future__ import annotations

import datetime

from ekka_agent.runtime.certs import expiry_alarms, read_certs


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
