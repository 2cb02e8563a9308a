"""Epmd mode: agents register with Debian's real epmd and find each other's ports through it."""
from __future__ import annotations

import shutil

from harness.agents import AgentCluster
from harness.wait import wait_until

EPMD = shutil.which("epmd") or "/usr/bin/epmd"


def test_agents_register_with_epmd_and_cluster(procs, netns):
    net = netns(hosts=2, controller=False)
    h1, h2 = net[0], net[1]
    for h in (h1, h2):
        h.start([EPMD], name="epmd-" + h.name)   # foreground, so the test owns its PID
    c = AgentCluster(procs)
    try:
        epmd_conf = "node { epmd = true, dist_listen_min = 6400, dist_listen_max = 6410 }"
        a = c.add("ekka1@" + h1.ip, host=h1, extra=epmd_conf, start=False)
        b = c.add("ekka2@" + h2.ip, host=h2, extra=epmd_conf, start=False)
        for n, h in ((a, h1), (b, h2)):
            wait_until(lambda h=h: h.run([EPMD, "-names"], check=False).returncode == 0, 10,
                       message="epmd up in " + h.name)
            n.start()
        names = h1.run([EPMD, "-names"]).stdout
        assert "name ekka1 at port 64" in names, names
        r = b.ctl("cluster", "join", a.name)
        assert r.returncode == 0, r.stdout + r.stderr
        c.wait_running([a, b], [a, b])
    finally:
        procs.close()
        c.close()
