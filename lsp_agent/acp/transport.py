"""Newline-delimited JSON-RPC over stdio, hardened: what the SDK's reader would only log
(a line that is not JSON, a batch, a message that is no request) is answered with the
JSON-RPC error it deserves, and the agent reads on. The protocol gets a private copy of
stdout; fd 1 then points at stderr, so a stray print from a library never corrupts a frame.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from typing import Any

log = logging.getLogger(__name__)

#: The largest message read (an image in a prompt can be large); a longer line is refused.
MAX_LINE_BYTES = 64 * 1024 * 1024
PARSE_ERROR, INVALID_REQUEST = -32700, -32600


class CheckedTransport:
    """The SDK's `Transport` protocol (send, receive, close) over a reader and a writer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message, separators=(",", ":"), ensure_ascii=False) + "\n")
        async with self._lock:
            self._writer.write(data.encode("utf-8"))
            await self._writer.drain()

    async def close(self) -> None:
        self._writer.close()

    async def receive(self) -> dict[str, Any] | None:
        while True:
            line = await self._read_line()
            if line is None:
                return None
            if not line.strip():
                continue
            message = await self._check(line)
            if message is not None:
                return message

    async def _read_line(self) -> bytes | None:
        try:
            return await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            return exc.partial or None
        except asyncio.LimitOverrunError:
            # drop the rest of the oversized line, then say so
            while True:
                try:
                    await self._reader.readuntil(b"\n")
                    break
                except asyncio.LimitOverrunError as exc:
                    await self._reader.readexactly(exc.consumed)
                except asyncio.IncompleteReadError:
                    return None
            await self._error(None, INVALID_REQUEST, "Message too large: lsp-agent reads at "
                              f"most {MAX_LINE_BYTES // (1024 * 1024)} MiB per line.")
            return b""

    async def _check(self, line: bytes) -> dict[str, Any] | None:
        """The message, or None after answering why it cannot be one."""
        try:
            message = json.loads(line)
        except (ValueError, UnicodeDecodeError) as exc:
            await self._error(None, PARSE_ERROR, f"Parse error: the line is not JSON ({exc}). "
                              "Send one JSON-RPC 2.0 object per line.")
            return None
        if not isinstance(message, dict):
            await self._error(None, INVALID_REQUEST, "Invalid request: send one JSON-RPC 2.0 "
                              "object per line (batches are not supported).")
            return None
        msg_id = message.get("id")
        good_id = isinstance(msg_id, (str, int)) and not isinstance(msg_id, bool)
        method = message.get("method")
        if message.get("jsonrpc") == "2.0":
            if isinstance(method, str) and ("id" not in message or good_id):
                return message  # a request or a notification
            if "method" not in message and good_id and ("result" in message
                                                         or "error" in message):
                return message  # a response to one of ours
        await self._error(msg_id if good_id else None, INVALID_REQUEST,
                          'Invalid request: a JSON-RPC 2.0 message needs "jsonrpc": "2.0" and '
                          'a string "method" (and a string or number "id" for a request).')
        return None

    async def _error(self, msg_id: Any, code: int, text: str) -> None:
        log.info("refused a message: %s", text)
        await self.send({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code,
                                                                   "message": text}})


async def stdio_transport() -> CheckedTransport:
    """The protocol's own stdin and stdout; fd 1 goes to stderr from now on."""
    loop = asyncio.get_running_loop()
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    reader = asyncio.StreamReader(limit=MAX_LINE_BYTES)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    write_transport, write_protocol = await loop.connect_write_pipe(
        lambda: asyncio.streams.FlowControlMixin(loop), protocol_out)
    writer = asyncio.StreamWriter(write_transport, write_protocol, None, loop)
    return CheckedTransport(reader, writer)
