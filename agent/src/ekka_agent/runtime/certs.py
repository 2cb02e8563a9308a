"""Certificate expiry: the node's own certificate and every CA in its bundle, read at start and on
each reload. One within cluster.ssl.expiry_warning of its end (or past it) raises the
certificate_expiry alarm in status; `certificates` in status gives each one's end for metrics.

The files are read by a child process (`python -m ekka_agent.runtime.certs`) that prints what
it found and exits: cryptography's x509, which reads them, adds about 12 MiB to a process that
imports it, which would put a node with TLS well past the 30 MiB an agent may hold (issue 12),
to read two dates at start and after a reload.
"""
from __future__ import annotations

import asyncio
import json
import logging
import sys
import time

from .extras import Extra

log = logging.getLogger("ekka.certs")
FILES = (("cluster.ssl.certfile", "cert"), ("cluster.ssl.cacertfile", "ca"))
READ_TIMEOUT = 30.0


def read_certs(path: str, role: str) -> list:
    """[{file, role, subject, not_after (epoch seconds)}] for every certificate in a PEM file."""
    from cryptography import x509      # in the child only (see the module's docstring)
    with open(path, "rb") as f:
        certs = x509.load_pem_x509_certificates(f.read())
    if role == "cert":
        certs = certs[:1]      # the leaf; what follows is its chain
    return [{"file": path, "role": role, "subject": c.subject.rfc4514_string(),
             "not_after": _not_after(c).timestamp()} for c in certs]


def _not_after(c):
    return c.not_valid_after_utc if hasattr(c, "not_valid_after_utc") else c.not_valid_after


def read_all(files: list) -> dict:
    """{"certs": [...], "errors": [[key, path, why]]} for [(key, role, path)]: what the child prints."""
    out: dict = {"certs": [], "errors": []}
    for key, role, path in files:
        try:
            out["certs"] += read_certs(path, role)
        except (OSError, ValueError) as e:
            out["errors"].append([key, path, str(e)])
    return out


async def read_apart(files: list) -> dict:
    """read_all() in a child process: this one never imports cryptography."""
    def failed(why: str) -> dict:
        return {"certs": [], "errors": [[k, p, why] for k, _, p in files]}

    if not files:
        return {"certs": [], "errors": []}
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ekka_agent.runtime.certs", json.dumps(files),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except OSError as e:
        return failed("cannot start %s to read it: %s" % (sys.executable, e))
    try:
        out, err = await asyncio.wait_for(proc.communicate(), READ_TIMEOUT)
    except asyncio.TimeoutError:
        return failed("not read within %.0fs" % READ_TIMEOUT)
    finally:
        if proc.returncode is None:     # timed out, or a newer reload or the stop cancelled us
            proc.kill()
    if proc.returncode != 0:
        return failed((err.decode(errors="replace").strip().splitlines() or ["exit %d" % proc.returncode])[-1])
    try:
        return json.loads(out)
    except ValueError:
        return failed("unreadable answer from the reader: %r" % out[:200])


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
        self.window_s = 0.0
        self.task = None

    async def start(self) -> None:
        await self._read(self.agent.cfg)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def on_reload(self, cfg) -> None:
        # The child takes a moment: the loop goes on meanwhile, and status shows the old dates.
        if self.task is not None:
            self.task.cancel()
        self.task = asyncio.get_running_loop().create_task(self._read(cfg))

    async def _read(self, cfg) -> None:
        files = [(key, role, cfg[key]) for key, role in FILES
                 if cfg["cluster.proto_dist"] == "inet_tls" and cfg[key]]
        found = await read_apart(files)
        for key, path, why in found["errors"]:
            log.warning("cannot read %s = %s for its expiry: %s", key, path, why)
        self.certs = found["certs"]
        self.window_s = cfg["cluster.ssl.expiry_warning"] / 1000

    def status(self, st: dict) -> None:
        if not self.certs:
            return
        st["certificates"] = self.certs
        st["alarms"] = st.get("alarms", []) + expiry_alarms(self.certs, self.window_s, time.time())


def extras(agent) -> list:
    return [CertWatch(agent)]


if __name__ == "__main__":
    print(json.dumps(read_all(json.loads(sys.argv[1]))))
