"""The node's saved state: one JSON file replaced atomically, so a kill -9 or a power cut
leaves either the old file or the new one, never half of one."""
from __future__ import annotations

import fcntl
import json
import os

STATE = "state.json"
LOCK = "agent.lock"


def load(data_dir: str):
    try:
        with open(os.path.join(data_dir, STATE), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def save(data_dir: str, state: dict) -> None:
    path = os.path.join(data_dir, STATE)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        # dumps, not dump: json.dump streams through the pure-Python encoder (ten times slower
        # here, and a node saves on every change of its members table while a cluster forms).
        f.write(json.dumps(state, separators=(",", ":")))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def lock(data_dir: str):
    """Hold data_dir for this process; raises BlockingIOError if another agent has it."""
    f = open(os.path.join(data_dir, LOCK), "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise
    return f
