"""`lsp-agent`: headless access to everything the server offers.

Each subcommand takes --workspace (default: the current folder) and --store (default: the
agent's folder in the user's data folder). Errors print one sentence saying what to do and
exit non-zero; nothing in memory is changed by a command that failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lsp_agent import __version__

EXIT_ERROR = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A failure reported as `error: <message>` with exit code 1."""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", default=".", help="workspace folder (default: current folder)")
    p.add_argument("--store", default=None, help="LanceDB URI of the agent's store")
    p.add_argument("--embedder", default=None, help="embedder spec (default, none, litellm:MODEL)")
    p.add_argument("--model", default=None, help="litellm model string for commands that use one")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def _date(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date; use YYYY-MM-DD") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lsp-agent", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"lsp-agent {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    mem = sub.add_parser("memory", help="show, edit, version and revert memory blocks")
    msub = mem.add_subparsers(dest="action", metavar="ACTION")
    msub.required = True
    p = msub.add_parser("show", help="show blocks (all, or one)")
    p.add_argument("label", nargs="?")
    _common(p)
    p = msub.add_parser("set", help="replace a block's value (from text, --file or stdin '-')")
    p.add_argument("label")
    p.add_argument("value", nargs="?")
    p.add_argument("--file", type=Path)
    p.add_argument("--reason", default="edited by the user")
    _common(p)
    p = msub.add_parser("create", help="create a block")
    p.add_argument("label")
    p.add_argument("--description", default="")
    p.add_argument("--value", default="")
    p.add_argument("--limit", type=_positive, default=5000)
    p.add_argument("--read-only", action="store_true")
    p.add_argument("--shared", action="store_true", help="share it with every workspace agent")
    _common(p)
    p = msub.add_parser("history", help="list a block's versions")
    p.add_argument("label")
    _common(p)
    p = msub.add_parser("revert", help="restore a version of a block (as a new version)")
    p.add_argument("label")
    p.add_argument("version", type=_positive)
    _common(p)

    p = sub.add_parser("remember", help="store a lesson in memory")
    p.add_argument("text", nargs="?")
    p.add_argument("--block", default=None, help="block to append to (default: notes)")
    _common(p)

    p = sub.add_parser("search", help="search conversations, memory, skills and code")
    p.add_argument("query")
    p.add_argument("--kind", default="all",
                   choices=["all", "messages", "archival", "blocks", "skills", "code"])
    p.add_argument("--limit", type=_positive, default=10)
    p.add_argument("--mode", default="hybrid", choices=["hybrid", "vector", "text"])
    _common(p)

    arch = sub.add_parser("archival", help="insert and search archival memory")
    asub = arch.add_subparsers(dest="action", metavar="ACTION")
    asub.required = True
    p = asub.add_parser("insert", help="insert a passage")
    p.add_argument("text")
    p.add_argument("--tag", action="append", default=[])
    _common(p)
    p = asub.add_parser("search", help="search passages")
    p.add_argument("query")
    p.add_argument("--tag", action="append", default=[])
    p.add_argument("--all-tags", action="store_true", help="require every --tag (default: any)")
    p.add_argument("--since", type=_date)
    p.add_argument("--until", type=_date)
    p.add_argument("--limit", type=_positive, default=10)
    p.add_argument("--mode", default="hybrid", choices=["hybrid", "vector", "text"])
    _common(p)

    p = sub.add_parser("status", help="where the store is and what it holds")
    _common(p)

    from lsp_agent.cli_agent import add_agent_commands

    add_agent_commands(sub, _common)
    return parser


def open_memory(args: argparse.Namespace) -> Any:
    from lsp_agent.config import parse_settings
    from lsp_agent.memory.agent_memory import AgentMemory

    workspace = Path(args.workspace).expanduser()
    if not workspace.is_dir():
        raise CliError(f"The workspace folder '{args.workspace}' does not exist; pass --workspace DIR.")
    flags = {"embedder": args.embedder, "store": args.store, "model": args.model}
    # a flag not given must not hide its environment variable (LSP_AGENT_MODEL, ...)
    settings, warnings = parse_settings({k: v for k, v in flags.items() if v is not None})
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    memory = AgentMemory(workspace, store_uri=settings.store, embedder=settings.embedder)
    for notice in memory.open():
        print(f"note: {notice}", file=sys.stderr)
    memory.settings = settings
    return memory


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        print(text)


def render_block(b: dict[str, Any]) -> str:
    flags = " read-only" if b["read_only"] else ""
    flags += " shared" if b["scope"] == "shared" else ""
    head = f"## {b['label']} ({b['chars']}/{b['limit']} chars, v{b['version']}{flags})"
    return f"{head}\n_{b['description']}_\n\n{b['value'] or '(empty)'}\n"


def render_hits(hits: list[dict[str, Any]]) -> str:
    if not hits:
        return "No results."
    lines = []
    for i, h in enumerate(hits, 1):
        where = ""
        if h.get("location"):
            loc = h["location"]
            where = f" {loc['uri']}:{loc['range']['start']['line'] + 1}"
        lines.append(f"{i}. [{h['kind']}] {h['title']}{where} (score {h['score']:.4f})\n   "
                     + h["snippet"].replace("\n", "\n   "))
    return "\n".join(lines)


def cmd_memory(args: argparse.Namespace) -> None:
    mem = open_memory(args)
    if args.action == "show":
        blocks = [mem.blocks.get(args.label)] if args.label else mem.blocks.list()
        data = [b.public() for b in blocks]
        emit(args, {"blocks": data}, "\n".join(render_block(b) for b in data))
    elif args.action == "set":
        if args.file is not None:
            value = args.file.read_text(encoding="utf-8")
        elif args.value == "-" or (args.value is None and not sys.stdin.isatty()):
            value = sys.stdin.read()
            if args.value is None and not value:
                # e.g. run from a script with stdin at /dev/null: never empty the block by accident
                raise CliError("Give the new value as text, with --file FILE, or '-' to read "
                               "stdin (stdin was empty; use '-' to empty the block on purpose).")
        elif args.value is not None:
            value = args.value
        else:
            raise CliError("Give the new value as text, with --file FILE, or '-' to read stdin.")
        block = mem.blocks.set(args.label, value, author="user", reason=args.reason)
        emit(args, block.public(), f"{block.label}: now version {block.version}")
    elif args.action == "create":
        block = mem.blocks.create(args.label, args.description, args.value, limit=args.limit,
                                  read_only=args.read_only,
                                  scope="shared" if args.shared else "agent")
        emit(args, block.public(), f"created block {block.label}")
    elif args.action == "history":
        versions = [v.public() for v in mem.blocks.history(args.label)]
        text = "\n".join(f"v{v['version']} {v['timestamp']} by {v['author']}: {v['reason']}"
                         for v in versions)
        emit(args, {"label": args.label, "versions": versions}, text)
    elif args.action == "revert":
        block = mem.blocks.revert(args.label, args.version)
        emit(args, block.public(),
             f"{block.label}: restored version {args.version} as version {block.version}")


def cmd_remember(args: argparse.Namespace) -> None:
    mem = open_memory(args)
    if mem.settings.model:
        from lsp_agent.cli_agent import remember_with_agent

        remember_with_agent(args, mem)
        return
    if not args.text:
        raise CliError("Give the text to remember (reflecting on a conversation needs a model: "
                       "set LSP_AGENT_MODEL or --model).")
    from lsp_agent.learning.remember import remember_verbatim

    block = remember_verbatim(mem, args.text, args.block)
    emit(args, {"block": block.label, "version": block.version},
         f"Remembered in block '{block.label}' (version {block.version}).")


def cmd_search(args: argparse.Namespace) -> None:
    mem = open_memory(args)
    if args.kind in ("all", "code", "skills"):
        from lsp_agent.learning.sources import attach_sources

        attach_sources(mem)
    hits = mem.search(args.query, kind=args.kind, limit=args.limit, mode=args.mode)
    emit(args, {"results": hits}, render_hits(hits))


def cmd_archival(args: argparse.Namespace) -> None:
    mem = open_memory(args)
    if args.action == "insert":
        p = mem.archival.insert(args.text, args.tag, source="cli")
        emit(args, p.model_dump(mode="json"), f"Inserted passage {p.id}.")
    else:
        hits = mem.archival.search(args.query, tags=args.tag or None,
                                   tag_match="all" if args.all_tags else "any",
                                   start=args.since, end=args.until, top_k=args.limit,
                                   mode=args.mode)
        rows = [{"id": h.row["id"], "content": h.row["content"], "tags": h.row["tags"],
                 "created_at": h.row["created_at"], "score": h.score} for h in hits]
        text = "\n".join(f"- {r['content']} [{', '.join(r['tags'])}]" for r in rows) or "No results."
        emit(args, {"results": rows}, text)


def cmd_status(args: argparse.Namespace) -> None:
    mem = open_memory(args)
    data = mem.status()
    data["model"] = mem.settings.model or "(none configured: set LSP_AGENT_MODEL)"
    text = "\n".join(f"{k}: {v}" for k, v in data.items())
    emit(args, data, text)


HANDLERS = {"memory": cmd_memory, "remember": cmd_remember, "search": cmd_search,
            "archival": cmd_archival, "status": cmd_status}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from lsp_agent.cli_agent import AGENT_HANDLERS
    from lsp_agent.errors import user_facing

    handler = {**HANDLERS, **AGENT_HANDLERS}[args.command]
    try:
        result = handler(args)
        return int(result or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - known failures become one clear sentence
        message = user_facing(exc)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return EXIT_ERROR


BACKGROUND_WRITERS = {"lsp-agent-maintain": 30.0, "lsp-agent-resume": 10.0,
                      "lsp-agent-embed-recall": 60.0, "lsp-agent-reply-context": 30.0}


def entry() -> None:
    """The console script: run `main`, let our own background writers finish, then leave
    without interpreter finalisation, which lance's Rust threads can abort (rc 134) after the
    work is already committed."""
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


if __name__ == "__main__":
    entry()
