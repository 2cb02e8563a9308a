"""How often Python's cycle collector runs during a large simulation.

Millions of messages live for a few virtual milliseconds and the cores' tables hold millions of
long-lived entries; collecting every 700 allocations (the default) walks the young objects over
and over for no garbage (the cores make no cycles), and the full passes rescan every table.
Forming 1,000 nodes through the protocol spent a fifth of its wall time there (152 s -> 118 s)."""
from __future__ import annotations

import contextlib
import gc

LARGE_RUN = (100_000, 50, 100)


@contextlib.contextmanager
def large_run():
    """Collect rarely for the duration (a test's process goes back to what it had after)."""
    before = gc.get_threshold()
    gc.set_threshold(*LARGE_RUN)
    try:
        yield
    finally:
        gc.set_threshold(*before)
