"""Runtime helpers that do I/O on behalf of core components (discovery lookups, hook commands).

Each module listed in EXTRAS has `extras(agent) -> list` of Extra: async start() and stop(),
on_emit(event) for every event, on_action(action) -> bool (True when it carried it out),
on_reload(cfg) after SIGHUP re-read the config, status(st) to add its section to status.
"""
from __future__ import annotations

import importlib

EXTRAS: list = [
    "ekka_agent.runtime.hooks",     # hook commands and the conflicts file (issue 4)
    "ekka_agent.runtime.discovery_extra",
    "ekka_agent.runtime.etcd_locks",
    "ekka_agent.runtime.reload",    # SIGHUP: cookies and TLS files re-read (issue 10)
    "ekka_agent.runtime.certs",     # certificate expiry alarm (issue 10)
    "ekka_agent.runtime.http",      # HTTP status, readiness, metrics and actions (issue 11)
    "ekka_agent.runtime.open_files",  # open files in use, the limit, and an alarm when short (issue 12)
]


class Extra:
    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def on_emit(self, event: dict) -> None:
        pass

    def on_action(self, action) -> bool:
        return False

    def on_reload(self, cfg) -> None:
        pass

    def status(self, st: dict) -> None:
        pass


def build_extras(agent) -> list:
    return [x for mod in EXTRAS for x in importlib.import_module(mod).extras(agent)]
