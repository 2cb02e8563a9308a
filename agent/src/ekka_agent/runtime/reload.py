"""SIGHUP (`systemctl reload ekka-agent`): read the config file again and apply, without closing
any connection, what can change while running: node.cookie, node.cookie_previous and the TLS
files. A config that does not load (or TLS files that do not) is logged, line by line, and the
running one kept whole. Other changed keys are named in the log: they take effect at restart.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import time

from ..config import ConfigError, load_config
from ..config.cookie import fingerprint
from . import tls
from .extras import Extra

log = logging.getLogger("ekka.reload")
LIVE_KEYS = ("node.cookie", "node.cookie_previous", "cluster.ssl.certfile", "cluster.ssl.keyfile",
             "cluster.ssl.cacertfile")


class Reloader(Extra):
    def __init__(self, agent):
        self.agent = agent
        self.last = {"reloads": 0, "at": None, "error": None}

    async def start(self) -> None:
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.reload)
        except (RuntimeError, ValueError):   # not the main thread (an agent inside a test process)
            pass

    async def stop(self) -> None:
        try:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        except (RuntimeError, ValueError):
            pass

    def reload(self) -> bool:
        """Apply the config file as it is now; False (and the old config kept) when it is bad."""
        a, old = self.agent, self.agent.cfg
        self.last["at"] = time.time()
        try:
            new = load_config(old.source or None)
            contexts = tls.contexts(new)
        except ConfigError as e:
            return self._failed(["%s" % p for p in e.problems])
        except (OSError, ValueError) as e:   # ssl.SSLError is an OSError: a bad PEM, a key that does not fit
            return self._failed(["cluster.ssl: cannot load the TLS files: %s" % (getattr(e, "strerror", None) or e)])
        for k in ("node.name", "node.data_dir", "cluster.name", "cluster.proto_dist"):
            if new[k] != old[k]:
                return self._failed(["%s changed: a running node cannot change it; restart the agent" % k])
        later = sorted(k for k in old.as_dict() if k not in LIVE_KEYS and new.get(k) != old.get(k))
        if later:
            log.warning("reload: changed keys take effect at the next restart: %s", ", ".join(later))
        t = a.transport
        t.cookie, t.previous = new["node.cookie"], list(new["node.cookie_previous"])
        tls.swap(t, contexts)
        a.cfg = new
        self.last.update(reloads=self.last["reloads"] + 1, error=None)
        asked = t.proofs.reprove_all()
        log.info("reload: config re-read; proving with cookie %s, also accepting %s; TLS %s; %d connection(s) "
                 "proving again", fingerprint(t.cookie), [fingerprint(c) for c in t.previous] or "no other",
                 "reloaded" if contexts[0] else "off", asked)
        for x in a.extras:
            x.on_reload(new)
        return True

    def _failed(self, problems: list) -> bool:
        self.last["error"] = "; ".join(problems)
        log.error("reload failed, the running config is kept: %s", problems[0])
        for p in problems[1:]:
            log.error("reload failed: %s", p)
        return False

    def status(self, st: dict) -> None:
        st["config"] = {"reloads": self.last["reloads"], "last_reload": self.last["at"],
                        "reload_error": self.last["error"]}


def extras(agent) -> list:
    return [Reloader(agent)]
