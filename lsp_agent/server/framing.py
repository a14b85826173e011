"""LSP base-protocol framing that survives any byte stream.

pygls's reader trusts `Content-Length` (a huge one kills the process; a wrong one desynchronises
the stream for good). This reader yields either a body to parse or a framing error to answer,
and finds its way back to the next message: a valid JSON body can never contain a
`Content-Length: N` line (JSON strings cannot hold a raw line break), so that line is a safe
place to start again whenever a length lied or a header was garbage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""Bodies larger than this are skipped (streamed past, never held) and answered with an error."""
MAX_HEADER_BYTES = 64 * 1024
KEEP_BYTES = 64 * 1024  # of a skipped message: enough to read its id from
PARSE_ERROR = -32700
INVALID_REQUEST = -32600

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_HEADER_LINE = re.compile(rb"([!-9;-~]+)[ \t]*:[ \t]*([^\r\n]*)")
_MARKER = re.compile(rb"Content-Length:[ \t]*\d+[ \t]*\r?\n")
_MARKER_SPAN = 64  # longest marker we look back for across chunk boundaries
_CONTENT_TYPE_BEFORE = re.compile(rb"Content-Type:[^\r\n]*\r?\n\Z")


@dataclass
class Frame:
    body: bytes
    error: str | None = None  # framing broke: `body` is (the start of) what was skipped
    code: int = PARSE_ERROR


def parse_headers(block: bytes) -> tuple[int, str | None]:
    """(Content-Length, None) of a header block, or (0, why it cannot be trusted)."""
    lengths = set()
    for line in re.split(rb"\r?\n", block):
        match = _HEADER_LINE.fullmatch(line)
        if match is None:
            return 0, f"a header line is not `Name: value` ({line[:60]!r})"
        if match[1].lower() == b"content-length":
            value = match[2].strip()
            if not value.isdigit():
                return 0, f"Content-Length is not a number ({value[:30]!r})"
            lengths.add(int(value) if len(value) <= 18 else 10**18)
    if not lengths:
        return 0, "a message header has no Content-Length"
    if len(lengths) > 1:
        return 0, "a message header has conflicting Content-Length values"
    return lengths.pop(), None


class FrameReader:
    """Frames from `read` (an awaitable chunk source returning b"" at the end of the stream)."""

    def __init__(self, read: Callable[[], Awaitable[bytes]],
                 max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self._read = read
        self._buf = bytearray()
        self._eof = False
        self._discard = 0  # bytes of a refused oversized body still to skip
        self.max_bytes = max_bytes

    async def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = await self._read()
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    def _next_marker(self, start: int, end: int | None = None) -> int | None:
        """Where the next message's header starts (at or after `start`), if it is in sight."""
        match = _MARKER.search(self._buf, start, len(self._buf) if end is None else end)
        if match is None:
            return None
        begin = match.start()
        before = _CONTENT_TYPE_BEFORE.search(self._buf, max(0, begin - 200), begin)
        return before.start() if before and before.start() >= start else begin

    async def next(self) -> Frame | None:
        """The next body, or a framing error to answer; None once the stream has ended."""
        buf = self._buf
        if self._discard:
            await self._drop_oversized()
        while True:
            stripped = len(buf) - len(buf.lstrip())
            if stripped:
                del buf[:stripped]
            if not buf:
                if not await self._fill():
                    return None
                continue
            end = _HEADER_END.search(buf, 0, MAX_HEADER_BYTES + 4)
            if end is None:
                if len(buf) > MAX_HEADER_BYTES:
                    return await self._skip("a message header is longer than 64 KiB")
                if not await self._fill():
                    rest = bytes(buf)
                    buf.clear()
                    return Frame(rest, "the stream ended inside a message header")
                continue
            length, problem = parse_headers(bytes(buf[: end.start()]))
            if problem:
                return await self._skip(problem)
            del buf[: end.end()]
            return await self._body(length)

    async def _skip(self, problem: str) -> Frame:
        """Drop bytes up to the next message's header (or the end of the stream)."""
        buf = self._buf
        kept = bytearray()
        start = 1  # the broken header itself starts at 0
        while True:
            at = self._next_marker(start)
            if at is not None:
                _keep(kept, buf[:at])
                del buf[:at]
                return Frame(bytes(kept), f"{problem}; skipped to the next message")
            drop = max(0, len(buf) - _MARKER_SPAN)
            _keep(kept, buf[:drop])
            del buf[:drop]
            start = 0 if drop else start
            if not await self._fill():
                _keep(kept, buf)
                buf.clear()
                return Frame(bytes(kept), f"{problem}; the stream ended")

    async def _body(self, length: int) -> Frame:
        """`length` bytes, unless a header shows up first (the length lied) or it is too big."""
        buf = self._buf
        if length > self.max_bytes:
            return self._oversized(length)
        checked = 0
        while True:
            at = self._next_marker(max(0, checked - _MARKER_SPAN),
                                   min(len(buf), length + _MARKER_SPAN))
            if at is not None and at < length:
                body = bytes(buf[:at])
                del buf[:at]
                return Frame(body, f"Content-Length {length} is longer than the message "
                                   f"(the next header starts at byte {at})")
            if len(buf) >= length:
                body = bytes(buf[:length])
                del buf[:length]
                return Frame(body)
            checked = len(buf)
            if not await self._fill():
                body = bytes(buf)
                buf.clear()
                return Frame(body, f"the stream ended {length - len(body)} bytes into a message")

    def _oversized(self, length: int) -> Frame:
        """Refuse a body over the limit at once (its id read from what has arrived); the body
        is streamed past, never held, before the next frame is read."""
        self._discard = length
        limit_mib = self.max_bytes // (1024 * 1024)
        return Frame(bytes(self._buf[:KEEP_BYTES]),
                     f"a message of {length} bytes is over the {limit_mib} MiB limit: "
                     "send smaller messages", INVALID_REQUEST)

    async def _drop_oversized(self) -> None:
        buf = self._buf
        left, self._discard = self._discard, 0
        while True:
            at = self._next_marker(0, min(len(buf), left + _MARKER_SPAN))
            if at is not None and at < left:  # the length lied: start again at that header
                left = at
            if len(buf) >= left:
                del buf[:left]
                return
            take = max(0, len(buf) - _MARKER_SPAN)
            del buf[:take]
            left -= take
            if not await self._fill():
                buf.clear()
                return


def _keep(kept: bytearray, data: bytes | bytearray) -> None:
    if len(kept) < KEEP_BYTES:
        kept += data[: KEEP_BYTES - len(kept)]


_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]]')
_VALUE = re.compile(r'\s*:\s*(-?\d+(?![.\deE])|"[^"\\]*(?:\\.[^"\\]*)*")')
_LOOSE = re.compile(r'"id"\s*:\s*(-?\d+(?![.\deE])|"[^"\\]*(?:\\.[^"\\]*)*")')


def find_id(body: bytes, loose: bool = False) -> int | str | None:
    """The request id of a body that could not be parsed, when it can be read.

    The `"id"` key of the top-level object only (a nested one belongs to the params); `loose`
    accepts any `"id": value`, for fragments whose nesting is lost (skipped framing garbage).
    """
    text = body.decode("utf-8", "replace")
    depth = 0
    for token in _TOKEN.finditer(text):
        kind = token.group()
        if kind in "{[":
            depth += 1
        elif kind in "}]":
            depth -= 1
        elif depth == 1 and kind == '"id"':
            value = _VALUE.match(text, token.end())
            if value:
                return _id_value(value.group(1))
    if loose:
        value = _LOOSE.search(text)
        if value:
            return _id_value(value.group(1))
    return None


def _id_value(raw: str) -> int | str | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, (int, str)) else None
