"""init: the agent learns the workspace.

Static research (no model, seconds) fills the project/commands/conventions blocks inside a
marked section, so re-running init updates that section instead of duplicating it and never
touches what people or the agent wrote around it. Then the code index is built (full-text search
works at once, embedding continues), and with a model, deep research refines memory.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

START = "<!-- lsp-agent init: from the workspace files; text outside this section is kept -->"
END = "<!-- /lsp-agent init -->"

DEEP_PROMPT = """\
Research this workspace to improve your memory. Your blocks already hold facts found statically
(with the files they came from). Explore the code with list_files, grep, read_file and search_code:
find the architecture, the main modules and how they fit, the entry points, the non-obvious
conventions and the gotchas. Then rewrite the parts of your `project`, `commands` and
`conventions` blocks outside the generated section with what you verified (cite files), and
store longer findings in archival memory with tags. Stay within your tool budget. End with a
short summary of what you learned."""

Progress = Callable[[str, int | None], None]


def merge_section(old: str, generated: str, limit: int) -> str:
    """`old` with its init section replaced by `generated` (cut to fit `limit`)."""
    before, after = old, ""
    if START in old and END in old.split(START, 1)[1]:
        before, rest = old.split(START, 1)
        after = rest.split(END, 1)[1]
    before, after = before.rstrip(), after.strip()
    room = limit - len(before) - len(after) - len(START) - len(END) - 6
    body = generated.strip()
    if len(body) > room:
        cut = body[: max(room, 0)].rsplit("\n", 1)[0]
        body = cut
    parts = [p for p in (before, f"{START}\n{body}\n{END}", after) if p]
    return "\n\n".join(parts)


def apply_research(memory: Any) -> tuple[list[str], int]:
    """Run static research and write it into the blocks; returns (changed labels, fact count)."""
    from lsp_agent.learning.static_research import render_blocks, research_workspace

    research = research_workspace(memory.workspace)
    blocks = {b.label: b for b in memory.blocks.list()}
    limit = min((blocks[label].limit for label in ("project", "commands", "conventions")
                 if label in blocks), default=5000)
    rendered = render_blocks(research, limit=max(limit - 400, 500))
    changed = []
    for label, text in rendered.items():
        block = blocks.get(label)
        if block is None or block.read_only or not text.strip():
            continue
        def change(old: str, text: str = text, limit: int = block.limit) -> str:
            return merge_section(old, text, limit)

        updated = memory.blocks.edit(label, change, author="agent", reason="init: static research")
        if updated.version != block.version:
            changed.append(label)
    return changed, len(research.facts)


def _no_progress(_message: str, _pct: int | None = None) -> None:
    return None


async def run_init(session: Any, *, depth: str = "static", progress: Progress | None = None,
                   on_event: Any = None, wait_for_embeddings: bool = False,
                   background_embedding: bool = True) -> dict[str, Any]:
    report: Progress = progress or _no_progress
    memory = session.memory
    report("Researching the workspace files", 5)
    changed, facts = await asyncio.to_thread(apply_research, memory)
    report(f"Memory updated from {facts} facts", 25)
    data: dict[str, Any] = {"blocks": changed, "facts": facts, "indexed_files": 0}
    from lsp_agent.learning import code_index

    def index_progress(message: str, pct: int | None = None) -> None:
        report(message, 25 + int((pct or 0) * 0.35))

    rep = await asyncio.to_thread(code_index.build_index, memory, index_progress)
    data["indexed_files"] = rep.files_indexed + rep.files_unchanged
    data["index"] = rep.to_dict()
    report("Full-text code search is ready; embedding code", 60)
    if wait_for_embeddings:
        def embed_progress(message: str, pct: int | None = None) -> None:
            report(message, 60 + int((pct or 0) * 0.3))

        data["embedded_chunks"] = await asyncio.to_thread(code_index.embed_pending, memory,
                                                          embed_progress)
    elif background_embedding:
        start_background_embedding(session, code_index)
    if depth in ("standard", "deep") and session.settings.model:
        report("Deep research with the model", 90)
        budget = 15 if depth == "standard" else 40
        old_steps = session.settings.max_steps
        session.settings = session.settings.model_copy(update={"max_steps": budget})
        try:
            result = await session.ask(DEEP_PROMPT, on_event=on_event)
        finally:
            session.settings = session.settings.model_copy(update={"max_steps": old_steps})
        data["research"] = result.reply
    elif depth in ("standard", "deep"):
        data["research"] = "Skipped deep research: no model is configured (static init done)."
    report("Done", 100)
    lines = [f"Initialised **{memory.workspace.name}**: {facts} facts from the workspace files.",
             f"Blocks updated: {', '.join(changed) or 'none (already current)'}.",
             f"Code index: {data['indexed_files']} files."]
    if data.get("research"):
        lines.append(f"\n{data['research']}")
    data["markdown"] = "\n".join(lines)
    return data


def start_background_embedding(session: Any, code_index: Any) -> threading.Thread:
    """Embed the code index in a daemon thread; one at a time per session."""
    existing = getattr(session, "_embed_thread", None)
    if existing is not None and existing.is_alive():
        return existing
    cancel = threading.Event()

    def run() -> None:
        try:
            code_index.embed_pending(session.memory, None, cancel)
        except Exception:  # noqa: BLE001 - full-text search keeps working without vectors
            import logging

            logging.getLogger(__name__).warning("background embedding failed", exc_info=True)

    thread = threading.Thread(target=run, name="lsp-agent-embed", daemon=True)
    session._embed_thread = thread
    session._embed_cancel = cancel
    thread.start()
    return thread
