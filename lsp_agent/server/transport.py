"""The read loop over stdio or TCP, in place of pygls's: frames from `framing`, answered by
`AgentProtocol`; the process never dies on what it reads, and `exit` sets the exit code."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from typing import Any, BinaryIO

from pygls.io_ import StdoutWriter

from lsp_agent.server.framing import FrameReader

log = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024


async def serve_stream(protocol: Any, read: Any, stop: threading.Event) -> None:
    """Read frames until the stream ends or `exit` arrives."""
    reader = FrameReader(read)
    while not stop.is_set():
        try:
            frame = await reader.next()
        except (OSError, ValueError) as exc:  # the stream itself failed: nothing left to read
            log.error("stopped reading from the client: %s", exc)
            return
        if frame is None:
            log.info("the client closed the stream")
            return
        try:
            protocol.handle_frame(frame)
        except BrokenPipeError:
            raise
        except Exception:  # noqa: BLE001 - a bug in one message must not end the session
            log.exception("could not handle a message from the client")


class FramedTransport:
    """Mixin for a pygls `LanguageServer`: its stdio and TCP loops, hardened."""

    _stop_event: threading.Event | None
    _thread_pool: Any
    _server: Any
    protocol: Any
    thread_pool: Any

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        stream = stdin or sys.stdin.buffer
        read_some = getattr(stream, "read1", stream.read)
        self._stop_event = stop = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))

        async def main() -> None:
            loop = asyncio.get_running_loop()
            pool = self.thread_pool
            await serve_stream(self.protocol,
                               lambda: loop.run_in_executor(pool, read_some, CHUNK_BYTES), stop)

        try:
            asyncio.run(main())
        except BrokenPipeError:
            log.error("the connection to the client is lost; shutting down")
        except KeyboardInterrupt:
            pass
        finally:
            self.shutdown()

    def start_tcp(self, host: str, port: int) -> None:
        self._stop_event = stop = threading.Event()

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.protocol.set_writer(writer)
            await serve_stream(self.protocol, lambda: reader.read(CHUNK_BYTES), stop)
            self.shutdown()

        async def listen() -> None:
            self._server = await asyncio.start_server(connection, host, port)
            async with self._server:
                await self._server.serve_forever()

        try:
            asyncio.run(listen())
        except asyncio.CancelledError:
            log.debug("server cancelled")

    def shutdown(self) -> None:
        """Stop without waiting for the thread blocked reading stdin (pygls waits for it)."""
        if self._stop_event is not None:
            self._stop_event.set()
        if self._thread_pool:
            self._thread_pool.shutdown(wait=False, cancel_futures=True)
        if self._server:
            self._server.close()
