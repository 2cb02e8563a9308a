"""Run every bench/bench_*.py one after another and summarise (what `make bench` calls).

    python bench/run.py [--quick] [NAME ...]

Each bench runs as its own process with this Python (the repo venv's when called from make),
with --quick passed through, its output printed under a header as it comes. A bench that fails
is reported and the next one runs; the exit status is 1 if any failed, 2 for bad arguments.
Benches run one at a time so they do not skew each other's timings on a 2-core machine.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# A bench that hangs is stopped after this long (the full scale run idles 10 minutes per system and N).
TIMEOUT_S = {"quick": 20 * 60, "full": 120 * 60}


def benches() -> list[Path]:
    """bench_*.py in name order, so runs are comparable from one time to the next."""
    return sorted(HERE.glob("bench_*.py"))


def run_one(path: Path, quick: bool) -> tuple[int | str, float]:
    argv = [sys.executable, "-u", str(path)] + (["--quick"] if quick else [])
    t0 = time.monotonic()
    # Own session: on timeout or Ctrl-C the whole bench (and anything it forked) is signalled by
    # its PID, which the bench turns into a clean stop of its agents.
    proc = subprocess.Popen(argv, cwd=str(HERE.parent), start_new_session=True)
    try:
        rc: int | str = proc.wait(timeout=TIMEOUT_S["quick" if quick else "full"])
    except subprocess.TimeoutExpired:
        rc = "timeout"
        _stop(proc)
    except KeyboardInterrupt:
        _stop(proc)
        raise
    return rc, time.monotonic() - t0


def _stop(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    names = [a for a in argv if a != "--quick"]
    bad = [a for a in names if a.startswith("-")]
    if bad:
        print("usage: run.py [--quick] [NAME ...]  (unknown option: %s)" % bad[0], file=sys.stderr)
        return 2
    found = benches()
    if names:
        wanted = {n if n.startswith("bench_") else "bench_" + n for n in (Path(x).stem for x in names)}
        missing = wanted - {p.stem for p in found}
        if missing:
            print("no such bench: %s (have: %s)" % (", ".join(sorted(missing)),
                                                    ", ".join(p.stem for p in found)), file=sys.stderr)
            return 2
        found = [p for p in found if p.stem in wanted]
    if not found:
        print("no bench/bench_*.py found", file=sys.stderr)
        return 1

    mode = "quick" if quick else "full"
    print("running %d bench(es) (%s) with %s" % (len(found), mode, sys.executable), flush=True)
    results = []
    t_all = time.monotonic()
    for path in found:
        print("\n" + "=" * 78 + "\n== %s (%s)\n" % (path.name, mode) + "=" * 78, flush=True)
        rc, wall = run_one(path, quick)
        results.append((path.name, rc, wall))
        print("-- %s: %s in %.1f s" % (path.name, "ok" if rc == 0 else "FAILED (%s)" % rc, wall), flush=True)

    print("\n" + "=" * 78 + "\n== bench summary (%s)" % mode)
    width = max(len(n) for n, _, _ in results)
    for name, rc, wall in results:
        status = "ok" if rc == 0 else "FAILED (exit %s)" % rc
        print("%s  %8.1f s  %s" % (name.ljust(width), wall, status))
    failed = [n for n, rc, _ in results if rc != 0]
    print("%d ran, %d failed%s; %.1f s in all" % (len(results), len(failed),
                                                 (": " + ", ".join(failed)) if failed else "",
                                                 time.monotonic() - t_all))
    return 1 if failed else 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)   # stop the running bench too, not just this runner
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
