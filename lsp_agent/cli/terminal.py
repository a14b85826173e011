"""The CLI's `Io`: progress and the agent's events as lines on stderr, confirmations asked on
the terminal (or `--yes` when there is none)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from lsp_agent.cli.headless import Transcript
from lsp_agent.commands.spec import EventSink, ProgressFn
from lsp_agent.errors import UsageError


def say(message: str) -> None:
    """A line for the person at the terminal (stderr: stdout stays the command's output)."""
    print(message, file=sys.stderr, flush=True)


class TerminalIo:
    lives_on = False

    def __init__(self, *, yes: bool = False, transcript: Transcript | None = None) -> None:
        self.yes = yes
        self.transcript = transcript

    @asynccontextmanager
    async def progress(self, title: str) -> AsyncIterator[ProgressFn]:
        last: list[str] = []

        def report(message: str, pct: int | None = None) -> None:
            if last and last[-1] == message:
                return
            last.append(message)
            prefix = f"[{pct:3d}%] " if pct is not None else "       "
            say(prefix + message)

        yield report

    def events(self, conversation_id: str | None) -> EventSink:
        def sink(event: dict[str, object]) -> None:
            if self.transcript is not None:
                self.transcript.see(event)
                if self.transcript.stream:
                    return
            kind = event.get("type")
            if kind in ("tool_call", "tool_result", "thinking"):
                text = str(event.get("text", "")).replace("\n", " ")[:200]
                say(f"  · {kind}: {text}")

        return sink

    def document_text(self, path: Path) -> str | None:
        return None  # no editor: the file on disk is the text

    async def confirm(self, question: str, detail: str, *, edit_follows: bool = False) -> bool:
        if self.yes:
            return True
        stdin = sys.stdin
        if stdin is None or not stdin.isatty():
            raise UsageError(f"{question.rstrip('?')}: this needs a confirmation and there is "
                             "no terminal to ask on; run again with --yes.")
        say(f"\n{detail.rstrip()}\n")
        sys.stderr.write(f"{question} [y/N] ")
        sys.stderr.flush()
        return stdin.readline().strip().lower() in {"y", "yes"}
