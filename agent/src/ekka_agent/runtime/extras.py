"""Runtime helpers that do I/O on behalf of core components (discovery lookups, hook commands).

Each module listed in EXTRAS has `extras(agent) -> list`. A helper has async start() and stop(),
and may have on_emit(event) and on_action(action) -> bool (True when it carried the action out).
"""
from __future__ import annotations

import importlib

EXTRAS: list = [
    "ekka_agent.runtime.hooks",     # hook commands and the conflicts file (issue 4)
    "ekka_agent.runtime.discovery_extra",
    "ekka_agent.runtime.etcd_locks",
    "ekka_agent.runtime.reload",    # SIGHUP: cookies and TLS files re-read (issue 10)
    "ekka_agent.runtime.certs",     # certificate expiry alarm (issue 10)
]


def build_extras(agent) -> list:
    return [x for mod in EXTRAS for x in importlib.import_module(mod).extras(agent)]
