"""One lock call the coordinator runs (lock_coordinator.py): what it asked, who answered, and
where it is.

phase: acquire under quorum/all goes reserve then commit, under leader "one" (a single
round); renew and release keep their kind as the phase. The phase names are the ones the
voters see in LockRequest/LockReply, so they stay strings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass(eq=False)
class LockOp:
    rid: Any                     # the request to reply to
    kind: str                    # acquire | renew | release
    res: str
    owner: str
    strategy: Optional[str]      # None: a release that names no strategy (wherever it is held)
    lease: float
    deadline: float
    phase: str = ""
    asked: list = field(default_factory=list)     # voters asked ("etcd" stands for etcd)
    need: int = 0                                 # yes votes that make the grant
    oks: dict = field(default_factory=dict)       # voter -> its yes (LockReply)
    nos: dict = field(default_factory=dict)       # voter -> its no
    tok: Optional[int] = None    # reserve: the token proposed with the request (fast path)
    token: Optional[int] = None  # commit: the token sent to every yes
    committed: set = field(default_factory=set)   # voters that stored the token
    cnos: set = field(default_factory=set)        # voters whose reservation ran out first
    released: list = field(default_factory=list)  # release: who held it and let it go

    def __post_init__(self):
        if not self.phase:
            self.phase = self.kind
