"""Read whole messages from an asyncio stream with the sans-IO FrameDecoder."""
from __future__ import annotations

import asyncio
from collections import deque

from ..core.wire import FrameDecoder, encode


class Closed(Exception):
    pass


class FramedReader:
    def __init__(self, reader: asyncio.StreamReader, max_size: int):
        self.reader = reader
        self.decoder = FrameDecoder(max_size)
        self.ready: deque = deque()

    async def next(self) -> dict:
        while not self.ready:
            data = await self.reader.read(65536)
            if not data:
                raise Closed("connection closed")
            self.ready.extend(self.decoder.feed(data))
        return self.ready.popleft()


def write_frame(writer: asyncio.StreamWriter, msg: dict) -> None:
    writer.write(encode(msg))
