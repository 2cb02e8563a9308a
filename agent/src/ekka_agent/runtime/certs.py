"""Certificate expiry: the node's own certificate and every CA in its bundle, read at start and on
each reload. One within cluster.ssl.expiry_warning of its end (or past it) raises the
certificate_expiry alarm in status; `certificates` in status gives each one's end for metrics."""
from __future__ import annotations

import logging
import time

from .extras import Extra

log = logging.getLogger("ekka.certs")


def read_certs(path: str, role: str) -> list:
    """[{file, role, subject, not_after (epoch seconds)}] for every certificate in a PEM file."""
    # Here, not at the top: cryptography's x509 adds about 12 MiB to the process, and only a
    # node with TLS files reads certificates (issue 12).
    from cryptography import x509
    with open(path, "rb") as f:
        certs = x509.load_pem_x509_certificates(f.read())
    if role == "cert":
        certs = certs[:1]      # the leaf; what follows is its chain
    return [{"file": path, "role": role, "subject": c.subject.rfc4514_string(),
             "not_after": _not_after(c).timestamp()} for c in certs]


def _not_after(c):
    return c.not_valid_after_utc if hasattr(c, "not_valid_after_utc") else c.not_valid_after


def expiry_alarms(certs: list, window_s: float, now: float) -> list:
    out = []
    for c in certs:
        left = c["not_after"] - now
        if left <= window_s:
            what = "expired %s ago" % _days(-left) if left < 0 else "expires in %s" % _days(left)
            out.append({"name": "certificate_expiry", "message": "%s certificate %s (%s) %s"
                        % ("CA" if c["role"] == "ca" else "node", c["subject"], c["file"], what),
                        "file": c["file"], "subject": c["subject"], "not_after": c["not_after"]})
    return out


def _days(s: float) -> str:
    return "%.1f days" % (s / 86400) if s >= 86400 else "%.1f hours" % (s / 3600)


class CertWatch(Extra):
    def __init__(self, agent):
        self.agent = agent
        self.certs: list = []

    async def start(self) -> None:
        self.on_reload(self.agent.cfg)

    async def stop(self) -> None:
        pass

    def on_reload(self, cfg) -> None:
        certs = []
        for key, role in (("cluster.ssl.certfile", "cert"), ("cluster.ssl.cacertfile", "ca")):
            if cfg["cluster.proto_dist"] == "inet_tls" and cfg[key]:
                try:
                    certs += read_certs(cfg[key], role)
                except (OSError, ValueError) as e:
                    log.warning("cannot read %s = %s for its expiry: %s", key, cfg[key], e)
        self.certs = certs
        self.window_s = cfg["cluster.ssl.expiry_warning"] / 1000

    def status(self, st: dict) -> None:
        if not self.certs:
            return
        st["certificates"] = self.certs
        st["alarms"] = st.get("alarms", []) + expiry_alarms(self.certs, self.window_s, time.time())


def extras(agent) -> list:
    return [CertWatch(agent)]
