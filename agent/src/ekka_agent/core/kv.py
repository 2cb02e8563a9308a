"""The replicated key-value table (the analogue of Ekka's Mnesia tables).

Last writer wins by a hybrid logical clock (wall ms, counter, node), so every member ends with
the same value whatever order the writes arrive in. A delete is a tombstone for the same reason.
A write is answered once every running member has acknowledged it (or went down meanwhile).
"""
from __future__ import annotations

from .context import Component
from .messages import KvAck, KvWrite

MAX_KEY = 1024
MAX_VALUE = 1024 * 1024


class KV(Component):
    name = "kv"
    handles = (KvWrite, KvAck)
    commands = ("kv_put", "kv_del", "kv_get", "kv_list")

    def __init__(self, ctx):
        self.ctx = ctx
        self.entries: dict[str, dict] = {}   # key -> {"v": value|None, "ver": [ms, n, node], "del": bool}
        self.clock = [0, 0]
        self.pending: dict[int, dict] = {}   # write id -> {"req_id", "waiting": set, "deadline"}
        self.next_id = 1
        # A DataGate (core/context.py), given by the node when a component offers one (autoheal):
        # it decides which up peers share data with us, tags what we send with our data epoch
        # and drops what comes from the other side of a partition. Without it, a returning peer
        # is caught up at once and merged by last writer wins.
        self.gate = None

    # ---- state ----
    def snapshot(self) -> dict:
        return {"entries": dict(self.entries), "clock": self.clock}   # entries are replaced, never changed

    def restore(self, state: dict) -> None:
        self.entries = state.get("entries", {})
        self.clock = state.get("clock", [0, 0])

    def clear(self) -> None:
        self.entries = {}
        self.ctx.persist()

    def replace(self, entries: dict) -> None:
        """Take a cluster's copy (a join, a heal's rejoin) in place of ours."""
        self.entries = {}
        for k, e in entries.items():
            self.apply(k, e)

    def tick_clock(self, now: float) -> list:
        ms = int(self.ctx.wall_us(now) // 1000)
        if ms > self.clock[0]:
            self.clock = [ms, 0]
        else:
            self.clock = [self.clock[0], self.clock[1] + 1]
        return [self.clock[0], self.clock[1], self.ctx.name]

    def observe(self, ver: list) -> None:
        if [ver[0], ver[1]] > self.clock:
            self.clock = [ver[0], ver[1]]

    def apply(self, key: str, e: dict) -> bool:
        cur = self.entries.get(key)
        if cur is not None and tuple(cur["ver"]) >= tuple(e["ver"]):
            return False
        self.entries[key] = e
        self.observe(e["ver"])
        self.ctx.persist()
        return True

    def live(self) -> dict:
        return {k: e["v"] for k, e in sorted(self.entries.items()) if not e["del"]}

    # ---- commands ----
    def on_command(self, req, cmd: str, a: dict, now: float) -> None:
        if cmd == "kv_put":
            self.cmd_put(req, a.get("key"), a.get("value"), now)
        elif cmd == "kv_del":
            self.cmd_put(req, a.get("key"), None, now, delete=True)
        elif cmd == "kv_get":
            self.cmd_get(req, a.get("key"))
        else:
            self.ctx.reply(req, self.live())

    def cmd_put(self, req_id, key, value, now: float, delete: bool = False) -> None:
        if not isinstance(key, str) or not 1 <= len(key.encode()) <= MAX_KEY:
            return self.ctx.reply_error(req_id, "bad_key", message="key must be 1-%d bytes" % MAX_KEY)
        if not delete and (not isinstance(value, str) or len(value.encode()) > MAX_VALUE):
            return self.ctx.reply_error(req_id, "bad_value", message="value must be a string of at most 1 MiB")
        if delete and key not in self.live():
            return self.ctx.reply_error(req_id, "not_found", message="no key %r" % key)
        e = {"v": None if delete else value, "ver": self.tick_clock(now), "del": delete}
        self.apply(key, e)
        wid = self.next_id
        self.next_id += 1
        waiting = self.data_peers()
        for p in sorted(waiting):
            self.ctx.send(p, self._write({key: e}, wid))
        self.pending[wid] = {"req_id": req_id, "waiting": waiting, "acked": [],
                             "deadline": now + self.ctx.settings.write_timeout}
        self._maybe_done(wid)

    def data_peers(self) -> set:
        """The up peers that our writes go to (all of them unless autoheal's gate says otherwise)."""
        m = self.ctx.members
        up = {p for p in m.others() if p in m.up}
        return self.gate.data_peers(up) if self.gate else up

    def _write(self, entries: dict, wid: int | None = None) -> KvWrite:
        return KvWrite(entries, wid, self.gate.epoch() if self.gate else None)

    def _maybe_done(self, wid: int) -> None:
        w = self.pending[wid]
        if not w["waiting"]:
            del self.pending[wid]
            self.ctx.reply(w["req_id"], {"acked": sorted(w["acked"])})

    def cmd_get(self, req_id, key) -> None:
        e = self.entries.get(key)
        if e is None or e["del"]:
            return self.ctx.reply_error(req_id, "not_found", message="no key %r" % key)
        self.ctx.reply(req_id, {"key": key, "value": e["v"]})

    # ---- events ----
    def on_message(self, p: str, msg, now: float) -> bool:
        """Also called by the gate for the writes it stashed (True: taken)."""
        if isinstance(msg, KvWrite):
            if not self.ctx.members.is_member(p):
                return True
            if self.gate and not self.gate.accept(p, msg):
                return True   # from the other side of a partition: autoheal decides, not LWW
            for k, e in msg.entries.items():
                self.apply(k, e)
            if msg.write_id is not None:
                self.ctx.send(p, KvAck(msg.write_id))
        elif isinstance(msg, KvAck):
            w = self.pending.get(msg.write_id)
            if w and p in w["waiting"]:
                w["waiting"].discard(p)
                w["acked"].append(p)
                self._maybe_done(msg.write_id)
        else:
            return False
        return True

    def on_peer_up(self, p: str, now: float) -> None:
        """Catch a returning member up: it takes whatever is newer, by version. With autoheal on,
        the gate first tells a restarted peer from one back from a partition, then calls catch_up."""
        if not self.gate:
            self.catch_up(p)

    def catch_up(self, p: str) -> None:
        if self.entries:
            self.ctx.send(p, self._write(self.entries))

    def on_peer_down(self, p: str, now: float) -> None:
        for wid in list(self.pending):
            w = self.pending[wid]
            if p in w["waiting"]:
                w["waiting"].discard(p)
                self._maybe_done(wid)

    def next_deadline(self):
        return min(w["deadline"] for w in self.pending.values()) if self.pending else None

    def on_tick(self, now: float) -> None:
        for wid in list(self.pending):
            if now >= self.pending[wid]["deadline"]:
                self.pending[wid]["waiting"].clear()
                self._maybe_done(wid)
