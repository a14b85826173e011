"""`lspAgent.*` command handlers: parse arguments, call the service, shape the result.

Every result is `{ok, command, data, markdown}` (docs/protocol.md). Blocking work (LanceDB,
embedding, file walks) runs in worker threads; the event loop never waits on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lsp_agent.server import arguments as A
from lsp_agent.server.progress import Progress
from lsp_agent.server.render import block_md, conversations_md, history_md, hits_md

Handler = Callable[[Any, Any, Any], Awaitable[tuple[dict[str, Any], str]]]


async def run_command(ls: Any, name: str, raw: tuple[Any, ...]) -> dict[str, Any]:
    model, handler = HANDLERS[name]
    args = A.parse_args(model, raw)
    workspace = ls.workspace_for(args.workspace, args.uri)
    session = await asyncio.to_thread(ls.agents.get, workspace)
    for notice in session.notices:
        ls.show(notice)
    session.notices = []
    scheduler = _scheduler(ls, session)
    if name != "lspAgent.reflect":
        scheduler.touch()  # the user is active: a running background reflection yields
    data, markdown = await handler(ls, session, args)
    if name == "lspAgent.ask":
        scheduler.maybe_start()  # every N turns
    return {"ok": True, "command": name, "data": data, "markdown": markdown}


def _scheduler(ls: Any, session: Any) -> Any:
    """The session's reflection scheduler, and the server's idle watcher, made on first use."""
    from lsp_agent.learning.reflection import ReflectionScheduler

    if getattr(session, "reflection", None) is None:
        session.reflection = ReflectionScheduler(session)
    if getattr(ls, "_idle_watch", None) is None:
        ls._idle_watch = asyncio.get_running_loop().create_task(_idle_watch(ls))
    return session.reflection


async def _idle_watch(ls: Any) -> None:
    """Start reflection for sessions whose editor has been idle long enough."""
    while True:
        sessions = ls.agents.sessions()
        wait = min([s.settings.reflection.idle_seconds for s in sessions] or [60.0])
        await asyncio.sleep(max(1.0, min(wait / 4, 30.0)))
        for session in ls.agents.sessions():
            if getattr(session, "reflection", None) is not None:
                session.reflection.maybe_start()


def _events(ls: Any, session: Any, conversation_id: str | None) -> Callable[[dict[str, Any]], None]:
    def sink(event: dict[str, Any]) -> None:
        ls.event({"workspace": str(session.workspace), "conversation_id": conversation_id,
                  **event})

    return sink


async def cmd_status(ls: Any, session: Any, _args: Any) -> tuple[dict[str, Any], str]:
    data = await asyncio.to_thread(session.status)
    counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in data["counts"].items())
    lines = [f"- **{k.replace('_', ' ')}**: {v}" for k, v in data.items()
             if k not in ("counts", "warnings")]
    lines.append(f"- **memory**: {counts}")
    lines += [f"- ⚠ {w}" for w in data.get("warnings", [])]
    return data, "### lsp-agent status\n" + "\n".join(lines)


async def cmd_memory_show(ls: Any, session: Any, args: Any) -> tuple[dict[str, Any], str]:
    blocks_mgr = session.memory.blocks
    blocks = await asyncio.to_thread(
        lambda: [blocks_mgr.get(args.label)] if args.label else blocks_mgr.list())
    data = [b.public() for b in blocks]
    return {"blocks": data}, "\n\n".join(block_md(b) for b in data)


async def cmd_memory_edit(ls: Any, session: Any, args: Any) -> tuple[dict[str, Any], str]:
    block = await asyncio.to_thread(session.memory.blocks.set, args.label, args.value,
                                    author="user", reason=args.reason)
    return ({"label": block.label, "version": block.version},
            f"Block **{block.label}** is now version {block.version}.")


async def cmd_memory_history(ls: Any, session: Any, args: Any) -> tuple[dict[str, Any], str]:
    versions = [v.public() for v in
                await asyncio.to_thread(session.memory.blocks.history, args.label)]
    return {"label": args.label, "versions": versions}, history_md(args.label, versions)


async def cmd_memory_revert(ls: Any, session: Any, args: Any) -> tuple[dict[str, Any], str]:
    block = await asyncio.to_thread(session.memory.blocks.revert, args.label, args.version)
    return ({"label": block.label, "version": block.version},
            f"Block **{block.label}**: version {args.version} restored as version {block.version}.")


async def cmd_search(ls: Any, session: Any, args: Any) -> tuple[dict[str, Any], str]:
    def run() -> list[dict[str, Any]]:
        from lsp_agent.learning.sources import attach_sources

        attach_sources(session.memory)
        return session.memory.search(args.query, kind=args.kind, limit=args.limit, mode=args.mode)

    hits = await asyncio.to_thread(run)
    return {"results": hits}, hits_md(args.query, hits)


async def cmd_remember(ls: Any, session: Any, args: Any) -> tuple[dict[str, Any], str]:
    from lsp_agent.learning.remember import remember

    async with Progress(ls, "lsp-agent: Remember") as progress:
        progress.report("Storing", 10)
        conv = await asyncio.to_thread(session.active_conversation)
        result = await remember(session, args.text, args.block,
                                on_event=_events(ls, session, conv.id))
    return result, f"Remembered in block **{result['block']}** (version {result['version']})." \
        + (f"\n\n{result['reply']}" if result.get("reply") else "")


async def cmd_ask(ls: Any, session: Any, args: Any) -> tuple[dict[str, Any], str]:
    prompt = args.prompt
    if args.context and (args.context.text or args.context.uri):
        where = args.context.uri or ""
        if args.context.range:
            where += f" line {args.context.range.get('start', {}).get('line', 0) + 1}"
        if args.context.text:
            prompt += f"\n\nContext from the editor ({where}):\n```\n{args.context.text}\n```"
        else:
            prompt += f"\n\nThe user is looking at {where}."
    conv_id = args.conversation_id or (await asyncio.to_thread(session.active_conversation)).id
    async with Progress(ls, "lsp-agent: Ask") as progress:
        def on_event(event: dict[str, Any]) -> None:
            _events(ls, session, conv_id)(event)
            if event["type"] in ("tool_call", "thinking"):
                progress.report(event.get("text", "")[:100])

        result = await session.ask(prompt, conversation_id=conv_id, on_event=on_event)
    data = {"reply": result.reply, "conversation_id": result.conversation_id,
            "steps": result.steps, "stopped": result.stopped, "usage": result.usage(),
            "tool_calls": result.tool_calls}
    return data, result.reply or "(no reply)"


async def cmd_init(ls: Any, session: Any, args: Any) -> tuple[dict[str, Any], str]:
    from lsp_agent.learning.init import run_init

    async with Progress(ls, "lsp-agent: Init workspace") as progress:
        data = await run_init(session, depth=args.depth, progress=progress.report,
                              on_event=_events(ls, session, None))
    return data, data.get("markdown", "Workspace initialised.")


async def cmd_learn_skill(ls: Any, session: Any, args: Any) -> tuple[dict[str, Any], str]:
    from lsp_agent.learning.skills_service import learn_skill

    async with Progress(ls, "lsp-agent: Learn skill") as progress:
        progress.report("Distilling the conversation", 10)
        data = await learn_skill(session, name=args.name, conversation_id=args.conversation_id,
                                 text=args.text, on_event=_events(ls, session, args.conversation_id))
    verb = "saved" if data["applied"] else "proposed but not applied (refused)"
    return data, f"Skill **{data['name']}** {verb}: `{data['path']}`"


async def cmd_reflect(ls: Any, session: Any, args: Any) -> tuple[dict[str, Any], str]:
    from lsp_agent.learning.reflection import reflect

    async with Progress(ls, "lsp-agent: Reflect") as progress:
        progress.report("Reviewing recent conversations", 10)
        data = await reflect(session, on_event=_events(ls, session, None))
    lines = [f"- {c['block']}: {c['reason']} (v{c['version']})" for c in data["changes"]]
    return data, "### Reflection\n" + ("\n".join(lines) or "Nothing to change.")


async def cmd_conv_new(ls: Any, session: Any, args: Any) -> tuple[dict[str, Any], str]:
    conv = await asyncio.to_thread(session.new_conversation, args.title)
    return {"conversation": await asyncio.to_thread(session.describe, conv)}, f"New conversation **{conv.title}** (`{conv.id}`)."


async def cmd_conv_list(ls: Any, session: Any, args: Any) -> tuple[dict[str, Any], str]:
    convs = await asyncio.to_thread(session.conversations)
    active = next((c["id"] for c in convs if c["active"]), None)
    return {"conversations": convs, "active": active}, conversations_md(convs)


async def cmd_conv_switch(ls: Any, session: Any, args: Any) -> tuple[dict[str, Any], str]:
    conv = await asyncio.to_thread(session.switch, args.id)
    return {"conversation": await asyncio.to_thread(session.describe, conv)}, f"Switched to **{conv.title}** (`{conv.id}`)."


async def cmd_conv_fork(ls: Any, session: Any, args: Any) -> tuple[dict[str, Any], str]:
    conv = await asyncio.to_thread(session.fork, args.id, args.title)
    return {"conversation": await asyncio.to_thread(session.describe, conv)}, f"Forked into **{conv.title}** (`{conv.id}`)."


HANDLERS: dict[str, tuple[type[A.Args], Handler]] = {
    "lspAgent.init": (A.InitArgs, cmd_init),
    "lspAgent.remember": (A.RememberArgs, cmd_remember),
    "lspAgent.search": (A.SearchArgs, cmd_search),
    "lspAgent.learnSkill": (A.LearnSkillArgs, cmd_learn_skill),
    "lspAgent.ask": (A.AskArgs, cmd_ask),
    "lspAgent.reflect": (A.ReflectArgs, cmd_reflect),
    "lspAgent.memory.show": (A.MemoryShowArgs, cmd_memory_show),
    "lspAgent.memory.edit": (A.MemoryEditArgs, cmd_memory_edit),
    "lspAgent.memory.history": (A.MemoryHistoryArgs, cmd_memory_history),
    "lspAgent.memory.revert": (A.MemoryRevertArgs, cmd_memory_revert),
    "lspAgent.conversation.new": (A.ConversationNewArgs, cmd_conv_new),
    "lspAgent.conversation.list": (A.Args, cmd_conv_list),
    "lspAgent.conversation.switch": (A.ConversationSwitchArgs, cmd_conv_switch),
    "lspAgent.conversation.fork": (A.ConversationForkArgs, cmd_conv_fork),
    "lspAgent.status": (A.StatusArgs, cmd_status),
}


async def files_changed(ls: Any, uris: list[str]) -> None:
    """Keep the code index current after saves, renames, deletions and branch switches."""
    if ls._agents is None:
        return
    from lsp_agent.learning.code_index import update_paths
    from lsp_agent.server.app import uri_to_path

    by_session: dict[Any, list[Path]] = {}
    for uri in uris:
        path = uri_to_path(uri)
        for session in ls.agents.sessions():
            if session.workspace == path or session.workspace in path.parents:
                by_session.setdefault(session, []).append(path)
    for session, paths in by_session.items():
        await asyncio.to_thread(update_paths, session, paths)


def shutdown(ls: Any) -> None:
    if getattr(ls, "_idle_watch", None) is not None:
        ls._idle_watch.cancel()
    if ls._agents is None:
        return
    for session in ls.agents.sessions():
        scheduler = getattr(session, "reflection", None)
        if scheduler is not None and scheduler.task is not None:
            scheduler.task.cancel()
        cancel = getattr(session, "_embed_cancel", None)
        if cancel is not None:
            cancel.set()
