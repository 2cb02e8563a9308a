"""What an agent costs before and per message: import memory and time, encoders, framing, the
asyncio path of one message, and the failure detector's CPU per event (issue 12, "less per
message" and "idle RSS"). No agent is started: imports are measured in fresh interpreters,
the rest in this process, so this bench may run while others do.

    python bench/bench_hotpath.py [--quick]
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time
import timeit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common as c  # noqa: E402

from ekka_agent.core.components import COMPONENTS  # noqa: E402
from ekka_agent.core.wire import FrameDecoder, encode as wire_encode  # noqa: E402
from ekka_agent.runtime.extras import EXTRAS  # noqa: E402

# What `ekka-agent run` imports with a static config, in its own order (cli, config, runtime),
# with the components and runtime helpers the agent imports when it starts: leaving those out
# once hid cryptography's 12 MiB (bench_rss.py measures the running agent).
AGENT_IMPORTS = [
    "asyncio", "logging", "argparse", "json", "ssl",
    "ekka_agent.config.load", "ekka_agent.config.schema",
    "ekka_agent.core.node", *COMPONENTS,
    "ekka_agent.runtime.agent", "ekka_agent.runtime.control", "ekka_agent.runtime.extras", *EXTRAS,
    "ekka_agent.discovery.static",
]

RSS_PROBE = r"""
import re, sys, importlib
def rss():
    return int(re.search(r"VmRSS:\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024
out = [("(bare interpreter)", rss())]
for m in sys.argv[1:]:
    importlib.import_module(m)
    out.append((m, rss()))
print(repr((out, len(sys.modules))))
"""


def _probe(mods: list[str]):
    r = subprocess.run([sys.executable, "-c", RSS_PROBE, *mods], capture_output=True, text=True, timeout=60)
    if r.returncode:
        raise RuntimeError(r.stderr.strip().splitlines()[-1])
    return eval(r.stdout)  # noqa: S307 - our own probe's repr of floats and strings


def imports() -> None:
    steps, nmods = _probe(AGENT_IMPORTS)
    rows, prev = [], steps[0][1]
    alone_rows = []
    for m, rss in steps[1:]:
        rows.append([m, "%.1f MiB" % rss, "+%.1f MiB" % (rss - prev)])
        prev = rss
    c.print_table("RSS while an agent's imports load, in its order (%d modules at the end; bare "
                  "interpreter %.1f MiB)" % (nmods, steps[0][1]), ["import", "RSS after", "added"], rows)
    for m in ("asyncio", "ssl", "argparse", "logging", "ekka_agent.config.load",
              "ekka_agent.core.node", "ekka_agent.runtime.transport"):
        (bare, (_, after)), n = (lambda s: ((s[0][0][1], s[0][1]), s[1]))(_probe([m]))
        alone_rows.append([m, "+%.1f MiB" % (after - bare), n])
    c.print_table("each import alone in a fresh interpreter", ["import", "RSS added", "modules loaded"],
                  alone_rows)

    r = subprocess.run([sys.executable, "-X", "importtime", "-c",
                        "; ".join("import " + m for m in AGENT_IMPORTS)],
                       capture_output=True, text=True, timeout=60)
    tree = []
    for line in r.stderr.splitlines():
        mm = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if mm:
            tree.append((int(mm.group(2)), len(mm.group(3)) // 2, mm.group(4)))
    top = sorted((t for t in tree if t[1] <= 3), reverse=True)[:15]
    c.print_table("python -X importtime of the same imports: the 15 slowest (cumulative, depth <= 3)",
                  ["module", "depth", "cumulative"], [[n, d, "%.1f ms" % (us / 1000)] for us, d, n in top])


# ---------------------------------------------------------------- encoders

def sample_messages() -> dict:
    rec = {"node": "ekka12@10.0.0.12", "guid": [1733140000123456, "ekka12@10.0.0.12"], "status": "up",
           "version": 3, "removed": False}
    upd = ["suspect", "ekka7@10.0.0.7", 4, "ekka3@10.0.0.3"]
    return {
        "heartbeat (today's, every 500 ms to every peer)": {"t": "hb", "cid": "9f" * 16, "dg": 3141592653},
        "swim ping, 2 updates": {"t": "swim.ping", "v": 1, "seq": 123456, "target": "ekka7@10.0.0.7",
                                 "updates": [upd, upd]},
        "swim ack, no update": {"t": "swim.ack", "v": 1, "seq": 123456, "updates": []},
        "member table, 30 records": {"t": "sync", "cid": "9f" * 16, "records": [rec] * 30},
        "kv write, 64 B value": {"t": "kv_put", "id": 77, "key": "app/config", "value": "x" * 64,
                                 "ver": [12, "ekka1@10.0.0.1"]},
        "kv write, 16 KiB value": {"t": "kv_put", "id": 77, "key": "app/config", "value": "x" * 16384,
                                   "ver": [12, "ekka1@10.0.0.1"]},
    }


def encoders() -> dict:
    """name -> (encode(dict) -> bytes, decode(bytes) -> dict); those not installed are skipped."""
    enc = json.JSONEncoder(separators=(",", ":")).encode
    dec = json.JSONDecoder().decode
    out = {"stdlib json (today: json.dumps/loads)": (lambda m: json.dumps(m, separators=(",", ":")).encode(),
                                                     json.loads),
           "stdlib json, encoder/decoder reused": (lambda m: enc(m).encode(), lambda b: dec(b.decode()))}
    try:
        import orjson
        out["orjson"] = (orjson.dumps, orjson.loads)
    except ImportError:
        pass
    try:
        import msgpack
        out["msgpack"] = (msgpack.packb, msgpack.unpackb)
    except ImportError:
        pass
    try:
        import msgspec
        je, jd = msgspec.json.Encoder(), msgspec.json.Decoder()
        me, md = msgspec.msgpack.Encoder(), msgspec.msgpack.Decoder()
        out["msgspec.json"] = (je.encode, jd.decode)
        out["msgspec.msgpack"] = (me.encode, md.decode)
    except ImportError:
        pass
    return out


def _per_call_us(fn, budget: float) -> float:
    n, t = 1, 0.0
    while t < budget / 5:
        n *= 4
        t = timeit.timeit(fn, number=n)
    return min(timeit.repeat(fn, number=n, repeat=3)) / n * 1e6


def bench_encoders(quick: bool) -> None:
    budget = 0.05 if quick else 0.2
    encs = encoders()
    msgs = sample_messages()
    rows = []
    for label, msg in msgs.items():
        base = None
        for name, (e, d) in encs.items():
            body = e(msg)
            assert d(body) == msg
            te = _per_call_us(lambda: e(msg), budget)
            td = _per_call_us(lambda: d(body), budget)
            base = base or (te + td)
            rows.append([label, name, len(body), "%.2f" % te, "%.2f" % td, "%.2fx" % ((te + td) / base)])
    missing = {"orjson", "msgpack", "msgspec.json"} - set(encs)
    c.print_table("encoders: microseconds per message (best of 3), bytes on the wire; ratio = time / "
                  "stdlib json's%s" % (" (not installed: %s)" % ", ".join(sorted(missing)) if missing else ""),
                  ["message", "encoder", "bytes", "encode us", "decode us", "ratio"], rows)


# ---------------------------------------------------------------- framing

def bench_framing(quick: bool) -> None:
    msg = sample_messages()["swim ping, 2 updates"]
    frame = wire_encode(msg)
    n = 2000 if quick else 10000
    rows = []
    t = _per_call_us(lambda: wire_encode(msg), 0.1)
    rows.append(["encode + length prefix (wire.encode)", "1", "%.2f" % t])
    for batch in (1, 10, 100):
        data = frame * batch
        dec = FrameDecoder(1 << 20)
        t0 = time.perf_counter()
        for _ in range(n // batch):
            dec.feed(data)
        rows.append(["FrameDecoder.feed (decode included)", str(batch),
                     "%.2f" % ((time.perf_counter() - t0) / (n // batch * batch) * 1e6)])
    body = frame[4:]
    t = _per_call_us(lambda: json.loads(body), 0.1)
    rows.append(["of which json.loads alone", "1", "%.2f" % t])
    c.print_table("framing: microseconds per frame of a 2-update swim ping (%d bytes), by frames per "
                  "read" % len(frame), ["step", "frames per read", "us per frame"], rows)


# ---------------------------------------------------------------- one message through asyncio

class _Echo(asyncio.Protocol):
    """Answers each frame at once from data_received: no task, no queue in between."""

    def __init__(self, done=None, count=0):
        self.dec = FrameDecoder(1 << 20)
        self.done, self.left = done, count

    def connection_made(self, transport):
        self.t = transport

    def data_received(self, data):
        for m in self.dec.feed(data):
            if self.done is None:
                self.t.write(wire_encode(m))
            else:
                self.left -= 1
                if self.left == 0:
                    self.done.set_result(None)
                else:
                    self.t.write(wire_encode(m))


async def _protocol_rtt(n: int, msg: dict) -> float:
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    done = loop.create_future()
    await loop.connect_accepted_socket(lambda: _Echo(), b)
    tr, _ = await loop.connect_accepted_socket(lambda: _Echo(done, n), a)
    t0 = time.process_time()
    tr.write(wire_encode(msg))
    await done
    cpu = time.process_time() - t0
    tr.close()
    return cpu


async def _streams_rtt(n: int, msg: dict) -> float:
    """Today's runtime shape: StreamReader + FrameDecoder, each message handed on with
    call_soon, written by a per-connection writer task from a queue, with drain()."""
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    ra, wa = await asyncio.open_connection(sock=a)
    rb, wb = await asyncio.open_connection(sock=b)
    done = loop.create_future()

    async def side(reader, writer, count):
        q: asyncio.Queue = asyncio.Queue()

        async def write_loop():
            while True:
                data = await q.get()
                if data is None:
                    return
                writer.write(data)
                await writer.drain()
        wt = asyncio.ensure_future(write_loop())
        dec, left = FrameDecoder(1 << 20), count

        def on_msg(m):
            nonlocal left
            left -= 1
            if count and left == 0:
                done.set_result(None)
            else:
                q.put_nowait(wire_encode(m))
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for m in dec.feed(data):
                    loop.call_soon(on_msg, m)
        finally:
            wt.cancel()
    ta = asyncio.ensure_future(side(ra, wa, n))
    tb = asyncio.ensure_future(side(rb, wb, 0))
    t0 = time.process_time()
    wa.write(wire_encode(msg))
    await done
    cpu = time.process_time() - t0
    for t in (ta, tb):
        t.cancel()
    wa.close()
    wb.close()
    return cpu


def bench_loop(quick: bool) -> None:
    n = 2000 if quick else 20000
    msg = sample_messages()["swim ping, 2 updates"]
    rows = []
    for label, fn in (("streams + queue + writer task (today's transport)", _streams_rtt),
                      ("asyncio.Protocol, write from data_received", _protocol_rtt)):
        cpu = asyncio.run(fn(n, msg))
        rows.append([label, n, "%.1f" % (cpu / n * 1e6), "%.1f" % (cpu / (2 * n) * 1e6)])
    c.print_table("one message through asyncio on a socketpair (ping-pong, both ends in this process; "
                  "CPU time)", ["path", "round trips", "CPU us per round trip", "CPU us per message"], rows)


# ---------------------------------------------------------------- the detector per event

def bench_detector(quick: bool) -> None:
    from core.swim_loop import SwimNet   # tests/core: the in-memory loop of the detector tests
    rows = []
    for n in (10, 100) if quick else (10, 100, 1000):
        net = SwimNet(n, seed=1)
        net.start()
        net.run_until(2.0)
        from ekka_agent.core import swim
        calls = [0]
        real = swim.Detector.handle

        def counted(self, event, now, _real=real):
            calls[0] += 1
            return _real(self, event, now)
        swim.Detector.handle = counted
        try:
            sent0 = sum(net.sent.values())
            t0 = time.process_time()
            periods = 20
            net.run_until(2.0 + periods * 0.5)
            cpu = time.process_time() - t0
        finally:
            swim.Detector.handle = real
        sent = sum(net.sent.values()) - sent0
        rows.append([n, "%.2f" % (sent / n / periods), calls[0], "%.1f" % (cpu / calls[0] * 1e6),
                     "%.3f%%" % (cpu / n / (periods * 0.5) * 100)])
    c.print_table("failure detector (core/swim.py) idle, on the in-memory loop with the wire codec: "
                  "events handled and CPU per event (loop and codec included)",
                  ["N", "sent per node per period", "events", "CPU us per event",
                   "CPU per node (of a core)"], rows)


def main() -> int:
    c.exit_on_sigterm()
    quick = c.quick_flag()
    print("bench_hotpath (%s): %s, load average %.2f" % ("quick" if quick else "full", sys.version.split()[0],
                                                        os.getloadavg()[0]))
    imports()
    bench_encoders(quick)
    bench_framing(quick)
    bench_loop(quick)
    bench_detector(quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
