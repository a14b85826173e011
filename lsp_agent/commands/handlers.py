"""One handler per command: call the service, describe the result once (data + document).

Handlers never touch memory, the agent or learning directly: only `AgentService` methods.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lsp_agent.commands import arguments as A
from lsp_agent.commands import slash
from lsp_agent.commands import views as V
from lsp_agent.commands.spec import Io, Result
from lsp_agent.errors import ApprovalRefused, UsageError
from lsp_agent.paths import path_of_uri
from lsp_agent.render import Para, doc

if TYPE_CHECKING:
    from lsp_agent.service import AgentService


async def status(svc: AgentService, _args: A.StatusArgs, _io: Io) -> Result:
    st = await svc.status()
    return Result(st.model_dump(), V.status_doc(st))


async def doctor(svc: AgentService, args: A.DoctorArgs, _io: Io) -> Result:
    if args.scrub and not await _io.confirm(
            "Rewrite the whole store with secrets redacted and delete its old versions?",
            "Every table is rewritten and LanceDB's older versions are deleted, so no earlier "
            "copy of a secret remains; block history is kept (redacted). Stop other lsp-agent "
            "processes using this store first.", edit_follows=False):
        raise ApprovalRefused("The store was not scrubbed (not confirmed).")
    got = await svc.doctor(repair=args.repair, scrub=args.scrub)
    return Result(got.model_dump(), V.doctor_doc(got))


async def init(svc: AgentService, args: A.InitArgs, io: Io) -> Result:
    async with io.progress("lsp-agent: Init workspace") as report:
        embedding = "wait" if args.wait else ("background" if io.lives_on else "detached")
        got = await svc.init(depth=args.depth, progress=report, on_event=io.events(None),
                             embedding=embedding)
        report(V.init_summary(got), 100)
    return Result(got.model_dump(), V.init_doc(svc.workspace.name, got))


async def index(svc: AgentService, args: A.IndexArgs, io: Io) -> Result:
    async with io.progress("lsp-agent: Index code") as report:
        got = await svc.index(embed_only=args.embed_only, progress=report)
    return Result(got, doc(Para(f"Code index up to date; {got['embedded']} chunks embedded.")))


async def remember(svc: AgentService, args: A.RememberArgs, io: Io) -> Result:
    if args.at:
        return await _remember_at(svc, args, io)
    async with io.progress("lsp-agent: Remember") as report:
        got = await svc.remember(args.text, args.block, on_event=io.events(None))
        report(V.remembered_doc(got).plain().strip().split("\n")[0], 100)
    return Result(got.model_dump(), V.remembered_doc(got))


async def _remember_at(svc: AgentService, args: A.RememberArgs, io: Io) -> Result:
    if args.block:
        raise UsageError("An anchored lesson is stored as an archival passage about the code; "
                         "give either --at or --block, not both.")
    at = args.at or ""
    if not args.text:
        raise UsageError("Give the lesson as text to anchor it with --at.")
    anchor, warnings = await svc.remember_at(args.text, at, text_of=io.document_text)
    data = {"block": "", "version": 0, "changed": True, "mode": "anchored", "blocks": [],
            "reply": "", "passage_id": anchor.memory_id, "anchor": V.anchor_row(anchor),
            "warnings": warnings}
    return Result(data, V.anchored_doc(anchor, warnings))


async def anchors(svc: AgentService, args: A.AnchorsArgs, _io: Io) -> Result:
    rows = await svc.anchor_list(args.path, line=args.line, include_forgotten=args.all)
    return Result({"anchors": [V.anchor_row(a) for a in rows]}, V.anchors_doc(rows))


async def anchor(svc: AgentService, args: A.AnchorArgs, _io: Io) -> Result:
    got = await svc.anchor_action(args.id, args.action, args.at)
    verb = {"forget": "forgotten (restorable with `anchor ID reanchor`)",
            "keep": "kept: the code as it is now is what it is about",
            "reanchor": "re-anchored"}[args.action]
    return Result({"anchor": V.anchor_row(got)},
                  doc(Para(f"{got.path}:{got.start_line + 1}-{got.end_line + 1} {verb}.",
                           strong=f"Memory {got.id}")))


async def search(svc: AgentService, args: A.SearchArgs, _io: Io) -> Result:
    hits = await svc.search(args.query, kind=args.kind, limit=args.limit, mode=args.mode,
                            paths=args.paths, language=args.language)
    return Result({"results": hits}, V.hits_doc(args.query, hits))


def _editor_context(ctx: A.AskContext | None) -> str:
    if ctx is None or not (ctx.text or ctx.uri):
        return ""
    where = ctx.uri or ""
    if ctx.range:
        where += f" line {ctx.range.get('start', {}).get('line', 0) + 1}"
    if ctx.text:
        return f"Context from the editor ({where}):\n```\n{ctx.text}\n```"
    return f"The user is looking at {where}."


def _location(svc: AgentService, ctx: A.AskContext | None) -> tuple[Path, int, int] | None:
    """The file and lines the editor says the user is at (for the memories anchored there)."""
    path = path_of_uri(ctx.uri) if ctx is not None and ctx.uri else None
    if ctx is None or path is None:
        return None
    rng = ctx.range or {}
    start = int((rng.get("start") or {}).get("line", 0))
    end = int((rng.get("end") or {}).get("line", start))
    return (path, start, end) if svc.relative(path) is not None else None


async def ask(svc: AgentService, args: A.AskArgs, io: Io) -> Result:
    parsed = slash.parse(args.prompt)
    if not isinstance(parsed, str):
        return await slash.run(svc, parsed[0], parsed[1], args.conversation_id, io)
    args = args.model_copy(update={"prompt": parsed})
    async with io.progress("lsp-agent: Ask") as report:
        sink = io.events(args.conversation_id)

        def on_event(event: dict[str, object]) -> None:
            sink(event)
            if event.get("type") in ("tool_call", "thinking"):
                report(str(event.get("text", ""))[:100], None)

        got = await svc.ask(args.prompt, conversation_id=args.conversation_id,
                            editor_context=_editor_context(args.context), on_event=on_event,
                            location=_location(svc, args.context))
    return Result(got.model_dump(), doc(V.reply(got.reply)))


async def approve(svc: AgentService, args: A.ApproveArgs, _io: Io) -> Result:
    allowed = await svc.answer_approval(args.approval_id, args.answer)
    verb = "allowed" if allowed else "denied"
    return Result({"approval_id": args.approval_id, "allowed": allowed},
                  doc(Para(f"Approval {args.approval_id} {verb}.")))


async def reflect(svc: AgentService, _args: A.ReflectArgs, io: Io) -> Result:
    async with io.progress("lsp-agent: Reflect") as report:
        report("Reviewing recent conversations", 10)
        got = await svc.reflect(on_event=io.events(None))
    return Result(got.model_dump(), V.reflect_doc(got))


async def learn_skill(svc: AgentService, args: A.LearnSkillArgs, io: Io) -> Result:
    async with io.progress("lsp-agent: Learn skill") as report:
        report("Distilling the material", 10)
        proposal = await svc.propose_skill(name=args.name, conversation_id=args.conversation_id,
                                           text=args.text)
    skill = proposal.skill
    if not await io.confirm(f"Save skill {skill.name} to {skill.path}?", proposal.text,
                            edit_follows=True):
        raise ApprovalRefused(f"Skill {skill.name} was not saved (not confirmed): {skill.path}")
    applied = await svc.save_skill(proposal)
    data = {"name": skill.name, "path": str(skill.path), "applied": applied,
            "version": skill.metadata.get("version", "1"), "description": skill.description}
    verb = "saved" if applied else "proposed but not applied (refused)"
    return Result(data, doc(Para(f"{verb}: {skill.path}", strong=f"Skill {skill.name}")))


# -- memory blocks ------------------------------------------------------------------------------


async def memory_show(svc: AgentService, args: A.MemoryShowArgs, _io: Io) -> Result:
    blocks = await svc.memory_show(args.label)
    return Result({"blocks": blocks}, V.blocks_doc(blocks))


async def memory_edit(svc: AgentService, args: A.MemoryEditArgs, _io: Io) -> Result:
    got = await svc.memory_edit(args.label, args.value, args.reason)
    text = (f"is now version {got.version}." if got.changed
            else f"already had that value; no new version (still version {got.version}).")
    return Result(got.model_dump(), doc(Para(text, strong=f"Block {got.label}")))


async def memory_create(svc: AgentService, args: A.MemoryCreateArgs, _io: Io) -> Result:
    block = await svc.memory_create(args.label, description=args.description, value=args.value,
                                    limit=args.limit, read_only=args.read_only,
                                    shared=args.shared, team=args.team)
    return Result(block, doc(Para("created.", strong=f"Block {block['label']}")))


async def memory_history(svc: AgentService, args: A.MemoryHistoryArgs, _io: Io) -> Result:
    versions = await svc.memory_history(args.label)
    return Result({"label": args.label, "versions": versions},
                  V.history_doc(args.label, versions))


async def memory_revert(svc: AgentService, args: A.MemoryRevertArgs, _io: Io) -> Result:
    got = await svc.memory_revert(args.label, args.version)
    text = (f"version {args.version} restored as version {got.version}." if got.changed
            else f"already holds version {args.version}'s value; nothing changed.")
    return Result(got.model_dump(), doc(Para(text, strong=f"Block {got.label}:")))


# -- archival and export ------------------------------------------------------------------------


async def archival_insert(svc: AgentService, args: A.ArchivalInsertArgs, _io: Io) -> Result:
    got = await svc.archival_insert(args.text, args.tags)
    text = (f"Inserted passage {got.id}." if got.created
            else f"Already stored as passage {got.id} (same text and tags); not stored twice.")
    return Result(got.model_dump(), doc(Para(text)))


async def archival_search(svc: AgentService, args: A.ArchivalSearchArgs, _io: Io) -> Result:
    rows = await svc.archival_search(args.query, tags=args.tags, all_tags=args.all_tags,
                                     since=args.since, until=args.until, limit=args.limit,
                                     mode=args.mode)
    return Result({"results": rows}, V.passages_doc(rows, f"No passages match “{args.query}”."))


async def archival_show(svc: AgentService, args: A.ArchivalShowArgs, _io: Io) -> Result:
    passage = await svc.archival_get(args.id)
    anchored = await svc.anchor_list(None, memory_id=str(passage["id"]))
    data = {**passage, "anchors": [V.anchor_row(a) for a in anchored]}
    out = V.passages_doc([passage], "")
    if anchored:
        for part in V.anchors_doc(anchored).parts:  # its heading too: where the passage is anchored
            out.add(part)
    return Result(data, out)


async def archival_list(svc: AgentService, args: A.ArchivalListArgs, _io: Io) -> Result:
    rows = await svc.archival_list(tags=args.tags, limit=args.limit)
    return Result({"passages": rows}, V.passages_doc(rows, "No archival passages."))


async def archival_delete(svc: AgentService, args: A.ArchivalDeleteArgs, io: Io) -> Result:
    passage = await svc.archival_get(args.id)
    if not await io.confirm(f"Delete archival passage {passage['id']}?", str(passage["content"])):
        raise ApprovalRefused(f"Passage {passage['id']} was not deleted (not confirmed).")
    gone = await svc.archival_delete(str(passage["id"]))
    return Result({"deleted": gone}, doc(Para(f"Deleted passage {gone['id']}.")))


async def export(svc: AgentService, args: A.ExportArgs, _io: Io) -> Result:
    got = await svc.export(args.format, output=args.output, force=args.force)
    if not got.written:
        return Result(got.model_dump(), doc(V.reply(got.text)))
    return Result(got.model_dump(exclude={"text"}), doc(Para(f"Wrote {got.path}")))


# -- conversations ------------------------------------------------------------------------------


async def conversation_new(svc: AgentService, args: A.ConversationNewArgs, _io: Io) -> Result:
    conv = await svc.conversation_new(args.title)
    return Result({"conversation": conv.model_dump()}, V.conversation_doc("New conversation", conv))


async def conversation_list(svc: AgentService, _args: A.ConversationListArgs, _io: Io) -> Result:
    convs = await svc.conversation_list()
    active = next((c.id for c in convs if c.active), None)
    return Result({"conversations": [c.model_dump() for c in convs], "active": active},
                  V.conversations_doc(convs))


async def conversation_switch(svc: AgentService, args: A.ConversationSwitchArgs,
                              _io: Io) -> Result:
    conv = await svc.conversation_switch(args.id)
    return Result({"conversation": conv.model_dump()}, V.conversation_doc("Switched to", conv))


async def conversation_fork(svc: AgentService, args: A.ConversationForkArgs, _io: Io) -> Result:
    if args.id is None and not (await svc.conversation_list()):
        raise UsageError("There is no conversation to fork yet; ask the agent something first.")
    conv = await svc.conversation_fork(args.id, args.title)
    return Result({"conversation": conv.model_dump()}, V.conversation_doc("Forked into", conv))


async def conversation_history(svc: AgentService, args: A.ConversationHistoryArgs,
                               _io: Io) -> Result:
    page = await svc.conversation_history(args.id, before=args.before, limit=args.limit)
    return Result(page.model_dump(), V.history_page_doc(page))


async def conversation_rename(svc: AgentService, args: A.ConversationRenameArgs,
                              _io: Io) -> Result:
    conv = await svc.conversation_rename(args.id, args.title)
    return Result({"conversation": conv.model_dump()}, V.conversation_doc("Renamed", conv))


async def conversation_delete(svc: AgentService, args: A.ConversationDeleteArgs,
                              io: Io) -> Result:
    conv = await svc.conversation_get(args.id)
    if not args.yes and not await io.confirm(
            f"Delete conversation {conv.title or conv.id}?",
            f"{conv.messages} messages ({conv.id}) are deleted from recall memory; this cannot "
            "be undone (memory blocks and archival passages stay)."):
        raise ApprovalRefused(f"Conversation {conv.id} was not deleted (not confirmed).")
    gone = await svc.conversation_delete(conv.id)
    return Result({"deleted": gone.model_dump()}, V.conversation_doc("Deleted", gone))


async def skills(svc: AgentService, _args: A.SkillsArgs, _io: Io) -> Result:
    found = await svc.skills()
    return Result({"skills": found}, V.skills_doc(found))
