"""The command line, generated from the command registry: one subcommand per command, its
options from the command's argument model. Nothing here knows what a command does."""

from __future__ import annotations

import argparse
import types
import typing
from datetime import datetime
from typing import Any, Literal

from lsp_agent import __version__
from lsp_agent.commands import CLI_GROUPS, COMMANDS, Command

#: Fields every command has that the CLI fills itself (the workspace is found, not typed).
FACE_FIELDS = {"workspace", "uri"}
OUTPUT_FORMATS = ("text", "json", "stream-json")


def whole_number(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None


def positive(value: str) -> int:
    n = whole_number(value)
    if n <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def version_number(value: str) -> str:
    """`2` or `v2` (as `memory history` prints it)."""
    digits = value.strip().lstrip("vV")
    n = whole_number(digits)
    if n <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return value


def date(value: str) -> str:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date; use YYYY-MM-DD") from None
    return value


def common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", default=None,
                   help="workspace folder (default: the project holding the current folder)")
    p.add_argument("--store", default=None, help="LanceDB URI of the agent's store")
    p.add_argument("--team-store", default=None,
                   help="LanceDB URI of the team's shared memory (s3://bucket/path, gs://, az://"
                        "; or set LSP_AGENT_TEAM_STORE)")
    p.add_argument("--embedder", default=None, help="embedder spec (default, none, litellm:MODEL)")
    p.add_argument("--code-embedder", default=None,
                   help="the code index's embedder spec (static, default, none, ...)")
    p.add_argument("--model", default=None, help="litellm model string for commands that use one")
    p.add_argument("--permission-mode", choices=["ask", "accept-edits", "auto"], default=None,
                   help="what the agent may do without asking")
    p.add_argument("--trust", action="store_true", default=None,
                   help="trust this workspace for this command: import its instruction files "
                        "(AGENTS.md, README, ...), load its skills, allow --permission-mode auto "
                        "(or set LSP_AGENT_TRUST_WORKSPACE=1)")
    p.add_argument("--yes", action="store_true",
                   help="answer yes to confirmations (needed when there is no terminal)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the type without None, whether None was allowed)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return (inner[0] if len(inner) == 1 else annotation), True
    return annotation, False


def add_fields(p: argparse.ArgumentParser, command: Command) -> None:
    for name, field in command.args.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if name in FACE_FIELDS or extra.get("cli") is False:
            continue
        kind, _optional = _unwrap(field.annotation)
        kw: dict[str, Any] = {"help": field.description or None}
        ge = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
        if kind is bool:
            kw["action"] = "store_true"
        elif typing.get_origin(kind) is Literal:
            kw["choices"] = list(typing.get_args(kind))
        elif kind is int:
            kw["type"] = version_number if name == "version" else (
                positive if ge == 1 else whole_number)
        elif kind is datetime:
            kw["type"] = date
        elif typing.get_origin(kind) is list:
            kw["action"] = "append"
        if extra.get("positional"):
            if not field.is_required() or extra.get("stdin"):
                kw["nargs"] = "?"
            p.add_argument(name, metavar=name.upper(), **kw)
        else:
            flag = "--" + str(extra.get("flag", name)).replace("_", "-")
            p.add_argument(flag, dest=name, **kw)
        if extra.get("stdin"):
            p.add_argument("--file", help=f"read {name.upper()} from this file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lsp-agent",
        description="A persistent, memory-first coding agent for every workspace. Every "
                    "command the editors have, headless.")
    parser.add_argument("--version", action="version", version=f"lsp-agent {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("serve", help="run the language server (stdio by default)")
    p.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    p.add_argument("--stdio", action="store_true",
                   help="use stdin/stdout (the default; accepted because editors pass it)")
    p = sub.add_parser("acp", help="run the Agent Client Protocol agent on stdio (Zed, "
                       "JetBrains, agent-shell, CodeCompanion, avante)")
    for flag in ("--store", "--embedder", "--code-embedder", "--model"):
        p.add_argument(flag, default=None)
    p.add_argument("--permission-mode", choices=["ask", "accept-edits", "auto"], default=None,
                   help="the sessions' first mode (each session may switch)")
    p.add_argument("--trust", action="store_true", default=None,
                   help="trust the workspaces opened (instruction files, skills, mode auto)")
    groups: dict[str, Any] = {}
    for command in COMMANDS:
        if command.lsp_only:
            continue
        if len(command.cli) == 1:
            leaf = sub.add_parser(command.cli[0], help=command.help, description=command.help)
        else:
            group, action = command.cli
            if group not in groups:
                gp = sub.add_parser(group, help=CLI_GROUPS[group], description=CLI_GROUPS[group])
                groups[group] = gp.add_subparsers(dest="action", metavar="ACTION",
                                                  title="actions")
                groups[group].required = True
            leaf = groups[group].add_parser(action, help=command.help, description=command.help)
        add_fields(leaf, command)
        if command.streams:
            leaf.add_argument("--output-format", choices=OUTPUT_FORMATS, default="text",
                              help="text: the reply; json: one result object; stream-json: "
                                   "every event as a JSON line, then the result")
        common_options(leaf)
        leaf.set_defaults(_command=command, _parser=leaf)
    return parser

