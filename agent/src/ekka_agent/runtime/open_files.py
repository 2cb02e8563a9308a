"""Open files: the agent holds about three sockets per member (its cluster connection and an RPC
connection each way), beside its listeners and files. systemd starts a service with a soft limit
of 1,024 open files unless the unit says otherwise, which runs out near 330 members: accepts and
dials then fail with EMFILE and members look down. So `ekka-agent run` raises its soft limit to
the hard one at start (as Go's runtime does for Serf and Consul), the unit the collection
installs sets LimitNOFILE, and status carries an `open_files_limit` alarm while the limit is
below what the members need (`ekka-ctl cluster health --no-alarms` fails on it).
"""
from __future__ import annotations

import logging
import os
import resource

from .extras import Extra

log = logging.getLogger("ekka.agent")

PER_MEMBER = 3      # the cluster connection and an RPC connection each way
SPARE = 64          # listeners, the control socket and its clients, the state file, hooks, etcd
CEILING = 1 << 20   # no need to go higher, whatever the hard limit says


def raise_soft_limit() -> tuple:
    """Soft limit up to the hard one (at most CEILING): (before, after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = CEILING if hard == resource.RLIM_INFINITY else min(hard, CEILING)
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            return soft, want
        except (ValueError, OSError) as e:
            log.warning("could not raise the open files limit from %d to %d: %s", soft, want, e)
    return soft, soft


def needed(members: int) -> int:
    return PER_MEMBER * max(members - 1, 0) + SPARE


def limit() -> int | None:
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


def in_use() -> int | None:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


def shortfall_alarm(members: int, lim: int | None) -> list:
    if lim is None or lim >= needed(members):
        return []
    return [{"name": "open_files_limit",
             "message": "the open files limit is %d; %d members need about %d (LimitNOFILE= in the agent's "
                        "systemd unit, or ulimit -n)" % (lim, members, needed(members)),
             "limit": lim, "needed": needed(members)}]


class OpenFiles(Extra):
    def status(self, st: dict) -> None:
        lim, members = limit(), len(st.get("members", []))
        st["open_files"] = {"used": in_use(), "limit": lim, "needed": needed(members)}
        st["alarms"] = st.get("alarms", []) + shortfall_alarm(members, lim)


def extras(agent) -> list:
    return [OpenFiles()]
