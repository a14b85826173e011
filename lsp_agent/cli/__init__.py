"""`lsp-agent`: every command of the registry, headless.

The workspace is found the way editors find it (the nearest folder with a root marker above
the current one) unless `--workspace` names it; the command line says which it used. Results
print as plain aligned text, or JSON with `--json`. Errors print one sentence saying what to do
and exit with the code of their kind (lsp_agent/errors.py); nothing in memory is changed by a
command that failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsp_agent.cli.parser import FACE_FIELDS, build_parser
from lsp_agent.cli.terminal import TerminalIo, say

if TYPE_CHECKING:
    from lsp_agent.commands import Command
    from lsp_agent.commands.arguments import Args

EXIT_INTERRUPTED = 130


def _workspace(ns: argparse.Namespace) -> Path:
    from lsp_agent.errors import UsageError
    from lsp_agent.service import find_workspace

    if ns.workspace is not None:
        path = Path(ns.workspace).expanduser()
        if not path.is_dir():
            raise UsageError(f"The workspace folder '{ns.workspace}' does not exist; "
                             "pass --workspace DIR.")
        return path.resolve()
    path, marker = find_workspace(Path.cwd())
    found = f"found by {marker}" if marker else "no project marker above; the current folder"
    say(f"lsp-agent: workspace {path} ({found})")
    return path


def _stdin_fields(ns: argparse.Namespace, command: Command, values: dict[str, Any]) -> None:
    """A field marked `stdin` may come from `--file FILE`, `-` (stdin) or a pipe."""
    from lsp_agent.errors import UsageError

    for name, field in command.args.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if not extra.get("stdin"):
            continue
        if ns.file is not None:
            values[name] = Path(ns.file).read_text(encoding="utf-8")
        elif values.get(name) == "-" or (values.get(name) is None and not sys.stdin.isatty()):
            text = sys.stdin.read()
            if values.get(name) is None and not text:
                # e.g. a script with stdin at /dev/null: never empty a block by accident
                raise UsageError(f"Give {name.upper()} as text, with --file FILE, or '-' to read "
                                 "stdin (stdin was empty; use '-' to empty it on purpose).")
            values[name] = text
        elif values.get(name) is None:
            raise UsageError(f"Give {name.upper()} as text, with --file FILE, or '-' to read "
                             "stdin.")


def _arguments(ns: argparse.Namespace, command: Command) -> Args:
    from pydantic import ValidationError

    from lsp_agent.commands.arguments import describe

    values = {n: getattr(ns, n) for n in command.args.model_fields
              if n not in FACE_FIELDS and hasattr(ns, n)}
    _stdin_fields(ns, command, values)
    values = {k: v for k, v in values.items() if v is not None}
    for name, field in command.args.model_fields.items():  # relative to where the user is
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if extra.get("path") and values.get(name) not in (None, "-"):
            values[name] = str(Path(values[name]).expanduser().resolve())
    try:
        return command.args.model_validate(values)
    except ValidationError as exc:
        ns._parser.error(describe(exc, command.args).split(". Expected")[0])
        raise  # not reached: error() exits


def _run(ns: argparse.Namespace) -> int:
    import asyncio

    from lsp_agent.cli.headless import Transcript, print_json
    from lsp_agent.config import parse_settings
    from lsp_agent.errors import LspAgentError
    from lsp_agent.service import AgentService, DiskToolHost, tty_prompt_approver

    command: Command = ns._command
    args = _arguments(ns, command)
    workspace = _workspace(ns)
    flags = {"embedder": ns.embedder, "codeEmbedder": ns.code_embedder, "store": ns.store,
             "model": ns.model,
             "permissionMode": ns.permission_mode, "trustWorkspace": ns.trust}
    # a flag not given must not hide its environment variable (LSP_AGENT_MODEL, ...)
    settings, warnings = parse_settings({k: v for k, v in flags.items() if v is not None})
    if ns.team_store:  # typed by the user: their consent, trusted workspace or not
        settings = settings.model_copy(update={"team_store": ns.team_store})
    for w in warnings:
        say(f"warning: {w}")
    host = DiskToolHost(tty_prompt_approver, workspace=workspace)
    service = AgentService(workspace, settings, host, background=not command.reads_only)
    for notice in service.take_notices():
        say(f"note: {notice}")
    output = getattr(ns, "output_format", "text")
    transcript = Transcript(stream=output == "stream-json") if command.streams else None
    try:
        result = asyncio.run(command.run(service, args, TerminalIo(yes=ns.yes,
                                                                   transcript=transcript)))
    except LspAgentError as exc:
        if output != "text":
            print_json(Transcript.failure(exc))
        raise
    finally:
        service.close()
    if transcript is not None:
        final, code = transcript.result(result.data)
        if output != "text":
            print_json(final)
        elif ns.json:
            print(json.dumps(result.data, indent=2, ensure_ascii=False, default=str))
        else:
            print(result.doc.plain(), end="")
        return code
    if ns.json:
        print(json.dumps(result.data, indent=2, ensure_ascii=False, default=str))
    else:
        print(result.doc.plain(), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    if ns.command == "serve":
        from lsp_agent.server.app import serve

        serve(ns.tcp)
        return 0
    if ns.command == "acp":
        from lsp_agent.acp import serve as serve_acp

        flags = {"store": ns.store, "embedder": ns.embedder, "codeEmbedder": ns.code_embedder,
                 "model": ns.model, "permissionMode": ns.permission_mode,
                 "trustWorkspace": ns.trust}
        return serve_acp({k: v for k, v in flags.items() if v is not None})
    from lsp_agent.errors import as_user_error

    try:
        return _run(ns)
    except KeyboardInterrupt:
        say("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise
    except Exception as exc:  # noqa: BLE001 - known failures become one clear sentence
        error = as_user_error(exc)
        if error is None:
            raise
        say(f"error: {error}")
        return error.exit_code


BACKGROUND_WRITERS = {"lsp-agent-maintain": 30.0, "lsp-agent-resume": 10.0,
                      "lsp-agent-embed-recall": 60.0, "lsp-agent-reply-context": 30.0}


def entry() -> None:
    """The console script: run `main`, let our own background writers finish, then leave
    without interpreter finalisation, which lance's Rust threads can abort (rc 134) after the
    work is already committed. A closed pipe (`lsp-agent status | head -3`) ends quietly."""
    import os
    import threading
    import time
    import traceback

    try:
        code = main()
    except SystemExit as exc:  # argparse errors and --help/--version
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    except BrokenPipeError:
        code = 0
    except BaseException:  # noqa: BLE001 - a bug: show it, still exit cleanly
        traceback.print_exc()
        code = 1
    deadline = {name: time.monotonic() + wait for name, wait in BACKGROUND_WRITERS.items()}
    for thread in threading.enumerate():
        if thread.name in deadline:
            thread.join(max(0.0, deadline[thread.name] - time.monotonic()))
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed by the server's exit, or a gone pipe
            pass
    os._exit(code)
