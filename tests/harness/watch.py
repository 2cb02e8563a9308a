"""A watcher thread that polls every member while a test changes the cluster under it, and keeps
each moment the cluster was not one: two cluster ids among the nodes that answered, or (strict)
a node that did not list every member as running."""
from __future__ import annotations

import threading


class ClusterWatcher:
    def __init__(self, nodes, strict: bool = True, interval: float = 0.1):
        self.nodes, self.strict, self.interval = list(nodes), strict, interval
        self.want = sorted(n.name for n in self.nodes)
        self.problems: list = []
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cluster-watcher", daemon=True)

    def __enter__(self) -> "ClusterWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            seen = {}
            for n in self.nodes:
                try:
                    st = n.status()
                except Exception as e:  # noqa: BLE001 - a node being restarted does not answer
                    if self.strict:
                        self.problems.append((n.name, "no answer: %s" % e))
                    continue
                seen[n.name] = st["cluster_id"]
                if self.strict and st["running_nodes"] != self.want:
                    self.problems.append((n.name, "running %s" % st["running_nodes"]))
            if len(set(seen.values())) > 1:
                self.problems.append(("cluster ids", seen))
            self.polls += 1
            self._stop.wait(self.interval)
