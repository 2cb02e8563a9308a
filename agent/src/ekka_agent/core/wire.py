"""Frames on the wire: a 4-byte big-endian length, then one JSON object.

Sans-IO: feed() takes whatever bytes arrived and returns the whole messages among them. An
oversized or undecodable frame raises FrameError, and the caller closes that one connection.
"""
from __future__ import annotations

import json
import struct

_LEN = struct.Struct(">I")
CLUSTER_MAX_FRAME = 1024 * 1024   # heartbeats and membership: small by design


class FrameError(Exception):
    pass


def encode(msg: dict) -> bytes:
    body = json.dumps(msg, separators=(",", ":")).encode()
    return _LEN.pack(len(body)) + body


class FrameDecoder:
    def __init__(self, max_size: int):
        self.max_size = max_size
        self._buf = bytearray()

    def feed(self, data: bytes) -> list:
        self._buf += data
        out = []
        while len(self._buf) >= 4:
            (n,) = _LEN.unpack_from(self._buf)
            if n > self.max_size:
                raise FrameError("frame of %d bytes is over the limit of %d" % (n, self.max_size))
            if len(self._buf) < 4 + n:
                break
            body = bytes(self._buf[4:4 + n])
            del self._buf[:4 + n]
            try:
                msg = json.loads(body)
            except (UnicodeDecodeError, ValueError):
                raise FrameError("undecodable frame") from None
            if not isinstance(msg, dict):
                raise FrameError("frame is not a JSON object")
            out.append(msg)
        return out
