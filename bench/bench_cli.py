"""CLI start-up (issue 9): `ekka-ctl cluster status` against one running agent beside `serf
members` against one running serf agent, and `ekka-agent check` on an EMQX 5-shaped config.

Each command is run N times (quick: 15, full: 50) one after another; the figures are wall time
from fork to exit, median and best. Targets: ekka-ctl status within 100 ms, check within 300 ms.

    python bench/bench_cli.py [--quick]
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as c  # noqa: E402

BIN = Path(sys.executable).parent
CTL, AGENT = str(BIN / "ekka-ctl"), str(BIN / "ekka-agent")
TARGET_MS = {"ekka-ctl cluster status": 100, "ekka-agent check": 300}


def timed(argv, runs: int, env=None) -> list:
    """Wall seconds of each run; a failing run stops the bench with its output."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run(argv, capture_output=True, text=True, env=env)
        out.append(time.perf_counter() - t0)
        if r.returncode != 0:
            raise SystemExit("bench_cli: %s failed (%d): %s" % (" ".join(argv), r.returncode,
                                                               (r.stdout + r.stderr).strip()))
    return out


def check_config(tmp: Path) -> Path:
    """An EMQX 5-shaped file: node and cluster blocks, static seeds, listeners the agent ignores."""
    f = tmp / "emqx.conf"
    f.write_text(
        'node {\n  name = emqx1@10.0.0.1\n  cookie = "bench-' + os.urandom(6).hex() + '"\n'
        '  data_dir = "/tmp/bench-cli-data"\n}\n'
        "cluster {\n  name = emqxcl\n  discovery_strategy = static\n"
        "  static.seeds = [emqx1@10.0.0.1, emqx2@10.0.0.2, emqx3@10.0.0.3]\n  autoclean = 24h\n}\n"
        "rpc { port_discovery = stateless }\n"
        'listeners.tcp.default { bind = "0.0.0.0:1883", max_connections = 1024000 }\n'
        'dashboard.listeners.http.bind = 18083\n')
    return f


def main() -> int:
    quick = c.quick_flag()
    c.exit_on_sigterm()
    runs = 15 if quick else 50
    rows, figures = [], {}
    with c.BenchCluster(1) as cl:
        node = cl.start_all()[0]
        conf = str(node.conf)
        figures["ekka-ctl cluster status"] = timed([CTL, "-c", conf, "cluster", "status"], runs)
        figures["ekka-ctl cluster status --json"] = timed([CTL, "-c", conf, "cluster", "status", "--json"], runs)
        figures["ekka-agent check"] = timed([AGENT, "check", "-c", str(check_config(cl.base))], runs)
    if c.serf_available():
        with c.SerfCluster(1) as sc:
            s = sc.start_all()[0]
            figures["serf members"] = timed([c.SERF, "members", "-rpc-addr", s.rpc], runs)
    for name, xs in figures.items():
        target = TARGET_MS.get(name)
        med = c.median(xs)
        rows.append([name, c.ms(med), c.ms(min(xs)), "%d ms" % target if target else "-",
                     c.verdict(med * 1000 <= target) if target else "-"])
    c.print_table("CLI wall time, %d runs each (fork to exit)" % runs,
                  ["command", "median", "best", "target", "verdict"], rows)
    if "serf members" in figures:
        print("ekka-ctl status / serf members (median): %s" % c.ratio(
            c.median(figures["ekka-ctl cluster status"]), c.median(figures["serf members"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
