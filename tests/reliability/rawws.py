"""A raw WebSocket client over a plain socket, for tests that must misbehave: stop reading,
pipeline without reading, or never finish the handshake. It speaks just enough RFC 6455."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
from typing import Any

import orjson


def process_rss_kib(pid: int) -> int:
    """The resident set size of process ``pid`` (``VmRSS`` of ``/proc/<pid>/status``), in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def encode_frame(text: str, *, binary: bool = False) -> bytes:
    """One masked text (or binary) frame, as a client must send it."""
    payload = text.encode()
    mask = os.urandom(4)
    size = len(payload)
    first = 0x82 if binary else 0x81
    if size < 126:
        head = struct.pack("!BB", first, 0x80 | size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", first, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, size)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


class RawWebSocket:
    """``await RawWebSocket.open(port)``; ``send`` frames, ``recv_text`` reads one server frame."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(
        cls, port: int, *, rcvbuf: int | None = None, headers: dict[str, str] | None = None
    ) -> RawWebSocket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # before connect, so the TCP window is negotiated small
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 20)
        key = base64.b64encode(os.urandom(16)).decode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        writer.write(
            (
                f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        if not head.startswith(b"HTTP/1.1 101"):
            writer.close()
            raise ConnectionRefusedError(head.decode(errors="replace"))
        return cls(reader, writer)

    async def send(self, frame: dict[str, Any], *, binary: bool = False) -> None:
        self.writer.write(encode_frame(orjson.dumps(frame).decode(), binary=binary))
        await self.writer.drain()

    async def recv_text(self, timeout: float = 10) -> str:
        async def read() -> str:
            first, second = await self.reader.readexactly(2)
            size = second & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
            data = await self.reader.readexactly(size)
            if first & 0x0F == 0x8:
                raise ConnectionError(f"close frame {data[:2].hex()} {data[2:]!r}")
            return data.decode()

        return await asyncio.wait_for(read(), timeout)

    async def reply(self, request_id: str, timeout: float = 10) -> dict[str, Any]:
        """Read frames until the reply whose ``room`` is ``request_id``."""
        while True:
            message = orjson.loads(await self.recv_text(timeout))
            if isinstance(message, dict) and message.get("room") == request_id:
                return message

    async def read_until_gone(self, timeout: float) -> int:
        """Read and discard until the server ends the connection; returns the bytes read.
        Raises TimeoutError if the connection is still up after ``timeout`` seconds."""
        total = 0

        async def drain() -> None:
            nonlocal total
            try:
                while chunk := await self.reader.read(1 << 16):
                    total += len(chunk)
            except ConnectionError:
                return

        await asyncio.wait_for(drain(), timeout)
        return total

    def close(self) -> None:
        self.writer.close()
