"""<data_dir>/conflicts.jsonl: the writes a node lost when autoheal replaced its data.

Written by the agent when the core asks (autoheal's SaveConflicts action), read by
`ekka-ctl cluster conflicts` straight from the file, so it works with the agent stopped too.
"""
from __future__ import annotations

import json
import logging
import os

from ..core.events import SaveConflicts
from .extras import Extra

FILE = "conflicts.jsonl"
log = logging.getLogger("ekka.autoheal")


def path(data_dir: str) -> str:
    return os.path.join(data_dir, FILE)


def read(data_dir: str) -> list:
    try:
        with open(path(data_dir), encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


class ConflictLog(Extra):
    def __init__(self, agent):
        self.data_dir = agent.data_dir

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def on_action(self, a) -> bool:
        if not isinstance(a, SaveConflicts):
            return False
        p = path(self.data_dir)
        fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            for r in a.records:
                f.write(json.dumps(r, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        log.warning("saved %d replaced write(s) to %s", len(a.records), p)
        return True
