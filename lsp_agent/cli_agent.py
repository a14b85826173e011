"""CLI subcommands that run the server, the agent or the learning loop."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def add_agent_commands(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("serve", help="run the language server (stdio by default)")
    p.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    p.add_argument("--stdio", action="store_true",
                   help="use stdin/stdout (the default; accepted because editors pass it)")

    p = sub.add_parser("init", help="research the workspace, fill memory, index the code")
    p.add_argument("--depth", choices=["static", "standard", "deep"], default="static")
    p.add_argument("--background", action="store_true",
                   help="return once full-text search works (embedding goes on in the background)")
    common(p)

    p = sub.add_parser("index", help="update the code index (and embed it) now")
    p.add_argument("--embed-only", action="store_true", help="only embed chunks still without vectors")
    common(p)

    p = sub.add_parser("ask", help="one chat turn with the agent")
    p.add_argument("prompt")
    p.add_argument("--conversation", default=None)
    p.add_argument("--permission-mode", choices=["ask", "accept-edits", "auto"], default=None)
    common(p)

    p = sub.add_parser("reflect", help="consolidate memory from recent conversations")
    common(p)

    p = sub.add_parser("learn-skill", help="distil a skill into .agents/skills/<name>/SKILL.md")
    p.add_argument("--name", default=None)
    p.add_argument("--conversation", default=None)
    p.add_argument("--text", default=None, help="learn from this text instead of a conversation")
    p.add_argument("--yes", action="store_true", help="save without asking")
    common(p)

    p = sub.add_parser("export", help="export memory for other agents")
    p.add_argument("format", choices=["agents-md", "claude-md"])
    p.add_argument("--output", type=Path, default=None, help="default: AGENTS.md / CLAUDE.md")
    common(p)

    conv = sub.add_parser("conversation", help="new, list, switch, fork conversations")
    csub = conv.add_subparsers(dest="action", metavar="ACTION")
    csub.required = True
    for action in ("new", "list", "switch", "fork"):
        cp = csub.add_parser(action)
        if action in ("switch",):
            cp.add_argument("id")
        if action == "fork":
            cp.add_argument("id", nargs="?")
        if action in ("new", "fork"):
            cp.add_argument("--title", default="")
        common(cp)


def _session(args: argparse.Namespace, approve: Any = None) -> Any:
    from lsp_agent.agent.tools.files import DiskToolHost, tty_prompt_approver
    from lsp_agent.cli import CliError
    from lsp_agent.config import parse_settings
    from lsp_agent.service import AgentSession

    workspace = Path(args.workspace).expanduser()
    if not workspace.is_dir():
        raise CliError(f"The workspace folder '{args.workspace}' does not exist; pass --workspace DIR.")
    layer = {"embedder": args.embedder, "store": args.store, "model": args.model,
             "permissionMode": getattr(args, "permission_mode", None)}
    settings, warnings = parse_settings(layer)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    host = DiskToolHost(approve if approve is not None else tty_prompt_approver,
                        workspace=workspace.resolve())
    session = AgentSession(workspace, settings, host)
    for notice in session.notices:
        print(f"note: {notice}", file=sys.stderr)
    return session


def _terminal_progress(message: str, pct: int | None = None) -> None:
    prefix = f"[{pct:3d}%] " if pct is not None else "       "
    print(prefix + message, file=sys.stderr, flush=True)


def _print_event(event: dict[str, Any]) -> None:
    kind = event.get("type")
    if kind in ("tool_call", "tool_result", "thinking"):
        text = str(event.get("text", "")).replace("\n", " ")[:200]
        print(f"  · {kind}: {text}", file=sys.stderr, flush=True)


def cmd_serve(args: argparse.Namespace) -> None:
    from lsp_agent.server.app import serve

    serve(args.tcp)


def cmd_init(args: argparse.Namespace) -> None:
    from lsp_agent.cli import emit
    from lsp_agent.learning.init import run_init

    session = _session(args)
    data = asyncio.run(run_init(session, depth=args.depth, progress=_terminal_progress,
                                on_event=_print_event, wait_for_embeddings=not args.background,
                                background_embedding=False))
    if args.background:
        data["embedding_log"] = str(_spawn_embedding(args, session))
        data["markdown"] += (f"\nFull-text search is ready; embedding continues in the background "
                             f"(log: {data['embedding_log']}).")
    emit(args, data, data["markdown"])


def _spawn_embedding(args: argparse.Namespace, session: Any) -> Path:
    """A detached `lsp-agent index --embed-only` that outlives this command."""
    import subprocess

    log = session.memory.memory_folder.parent / "embedding.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "lsp_agent", "index", "--embed-only",
           "--workspace", str(session.workspace), "--store", session.memory.store_uri]
    if args.embedder:
        cmd += ["--embedder", args.embedder]
    with open(log, "ab") as out:
        subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                         start_new_session=True)
    return log


def cmd_index(args: argparse.Namespace) -> None:
    from lsp_agent.cli import emit
    from lsp_agent.learning import code_index

    session = _session(args)
    report: dict[str, Any] = {}
    if not args.embed_only:
        rep = code_index.build_index(session.memory, _terminal_progress)
        report["index"] = rep.to_dict()
    report["embedded"] = code_index.embed_pending(session.memory, _terminal_progress)
    emit(args, report, f"Code index up to date; {report['embedded']} chunks embedded.")


def cmd_ask(args: argparse.Namespace) -> None:
    from lsp_agent.cli import emit

    session = _session(args)
    result = asyncio.run(session.ask(args.prompt, conversation_id=args.conversation,
                                     on_event=_print_event))
    emit(args, {"reply": result.reply, "conversation_id": result.conversation_id,
                "steps": result.steps, "stopped": result.stopped, "usage": result.usage()},
         result.reply)


def cmd_reflect(args: argparse.Namespace) -> None:
    from lsp_agent.cli import emit
    from lsp_agent.learning.reflection import reflect

    session = _session(args)
    data = asyncio.run(reflect(session, on_event=_print_event))
    lines = [f"- {c['block']} v{c['version']}: {c['reason']}" for c in data["changes"]]
    emit(args, data, "\n".join(lines) or data.get("note", "Nothing changed."))


def cmd_learn_skill(args: argparse.Namespace) -> int:
    from lsp_agent.agent.tools.files import tty_prompt_approver
    from lsp_agent.cli import emit
    from lsp_agent.learning.skills_service import propose_skill, save_skill
    from lsp_agent.skills.skill import render_skill_md

    session = _session(args, approve=True)
    skill = asyncio.run(propose_skill(session, name=args.name, conversation_id=args.conversation,
                                      text=args.text))
    print(render_skill_md(skill), file=sys.stderr)
    if not args.yes and not tty_prompt_approver("Save skill", str(skill.path)):
        print(f"Not saved (run with --yes to save without asking): {skill.path}", file=sys.stderr)
        return 1
    applied = asyncio.run(save_skill(session, skill))
    emit(args, {"name": skill.name, "path": str(skill.path), "applied": applied},
         f"Skill {skill.name} saved to {skill.path}")
    return 0


def cmd_export(args: argparse.Namespace) -> None:
    from lsp_agent.cli import open_memory
    from lsp_agent.learning.interop import render_agents_md

    mem = open_memory(args)
    name = "AGENTS.md" if args.format == "agents-md" else "CLAUDE.md"
    out = args.output or (mem.workspace / name)
    out.write_text(render_agents_md(mem), encoding="utf-8")
    print(f"Wrote {out}")


def cmd_conversation(args: argparse.Namespace) -> None:
    from lsp_agent.cli import emit
    from lsp_agent.server.render import conversations_md

    session = _session(args)
    if args.action == "new":
        conv = session.new_conversation(args.title)
    elif args.action == "switch":
        conv = session.switch(args.id)
    elif args.action == "fork":
        conv = session.fork(args.id, args.title)
    else:
        convs = session.conversations()
        emit(args, {"conversations": convs}, conversations_md(convs))
        return
    emit(args, conv.model_dump(mode="json"), f"Active conversation: {conv.title} ({conv.id})")


AGENT_HANDLERS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "serve": cmd_serve, "init": cmd_init, "index": cmd_index, "ask": cmd_ask, "reflect": cmd_reflect,
    "learn-skill": cmd_learn_skill, "export": cmd_export, "conversation": cmd_conversation,
}


def remember_with_agent(args: argparse.Namespace, mem: Any) -> None:
    from lsp_agent.cli import emit
    from lsp_agent.learning.remember import remember

    session = _session(args)
    data = asyncio.run(remember(session, args.text, args.block, on_event=_print_event))
    emit(args, data, f"Remembered in block '{data['block']}' (version {data['version']}).\n"
         + (data.get("reply") or ""))
