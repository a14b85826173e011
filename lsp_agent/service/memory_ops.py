"""The service's memory use cases: blocks (show, edit, create, history, revert), archival
passages (insert, search, list, delete) and export to AGENTS.md / CLAUDE.md.

A mixin of `AgentService`, kept apart only for size; every method is a typed coroutine.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from lsp_agent.errors import UsageError
from lsp_agent.learning.interop import EXPORT_MARK, render_agents_md
from lsp_agent.memory.agent_memory import AgentMemory
from lsp_agent.memory.schema import Passage
from lsp_agent.memory.search import Mode
from lsp_agent.service.results import ArchivalInsert, BlockEdit, Exported

EXPORT_FILES = {"agents-md": "AGENTS.md", "claude-md": "CLAUDE.md"}


def _passage(p: Passage, score: float | None = None) -> dict[str, object]:
    row: dict[str, object] = {"id": p.id, "content": p.content, "tags": list(p.tags),
                              "created_at": p.created_at.isoformat(), "source": p.source}
    if score is not None:
        row["score"] = round(score, 6)
    return row


class MemoryOps:
    memory: AgentMemory
    workspace: Path

    # -- blocks -------------------------------------------------------------------------------

    async def memory_show(self, label: str | None = None) -> list[dict[str, object]]:
        blocks = self.memory.blocks
        found = await asyncio.to_thread(lambda: [blocks.get(label)] if label else blocks.list())
        mirror = self.memory.mirror
        return [{**b.public(), "mirror_path": str(mirror.path(b.label))} for b in found]

    async def memory_edit(self, label: str, value: str, reason: str = "edited by the user",
                          ) -> BlockEdit:
        def run() -> BlockEdit:
            before = self.memory.blocks.get(label).version
            block = self.memory.blocks.set(label, value, author="user", reason=reason)
            return BlockEdit(label=block.label, version=block.version,
                             changed=block.version != before)

        return await asyncio.to_thread(run)

    async def memory_create(self, label: str, *, description: str = "", value: str = "",
                            limit: int = 5000, read_only: bool = False,
                            shared: bool = False, team: bool = False) -> dict[str, object]:
        if team and shared:
            raise UsageError("A block is either shared with your other workspaces (--shared) or "
                             "with your team (--team), not both.")
        if team and self.memory.team is None:
            raise UsageError("No team store is set, so a team block cannot be made: set "
                             "teamStore (LSP_AGENT_TEAM_STORE or --team-store) first.")
        scope = "team" if team else "shared" if shared else "agent"
        block = await asyncio.to_thread(self.memory.blocks.create, label, description, value,
                                        limit=limit, read_only=read_only,
                                        scope=scope)  # type: ignore[arg-type]
        return block.public()

    async def memory_history(self, label: str) -> list[dict[str, object]]:
        versions = await asyncio.to_thread(self.memory.blocks.history, label)
        # who made each edit: user and machine, once the store records them (team stores)
        return [{**v.public(), **{k: getattr(v, k) for k in ("user", "machine")
                                  if getattr(v, k, None)}} for v in versions]

    async def memory_revert(self, label: str, version: int) -> BlockEdit:
        def run() -> BlockEdit:
            before = self.memory.blocks.get(label).version
            block = self.memory.blocks.revert(label, version)
            return BlockEdit(label=block.label, version=block.version,
                             changed=block.version != before)

        return await asyncio.to_thread(run)

    # -- archival -----------------------------------------------------------------------------

    async def archival_insert(self, text: str, tags: list[str] | None = None) -> ArchivalInsert:
        def run() -> ArchivalInsert:
            archival = self.memory.archival
            existing = archival.find(text, tags or [])
            passage = existing or archival.insert(text, tags or [], source="user")
            return ArchivalInsert(id=passage.id, content=passage.content, tags=passage.tags,
                                  created_at=passage.created_at.isoformat(),
                                  created=existing is None)

        return await asyncio.to_thread(run)

    async def archival_search(self, query: str, *, tags: list[str] | None = None,
                              all_tags: bool = False, since: datetime | None = None,
                              until: datetime | None = None, limit: int = 10,
                              mode: Mode = "hybrid") -> list[dict[str, object]]:
        hits = await asyncio.to_thread(
            self.memory.archival.search, query, tags=tags or None,
            tag_match="all" if all_tags else "any", start=since, end=until, top_k=limit,
            mode=mode)
        return [_passage(Passage(**{k: h.row[k] for k in ("id", "content", "tags",
                                                          "created_at", "source")}), h.score)
                for h in hits]

    async def archival_list(self, *, tags: list[str] | None = None,
                            limit: int = 50) -> list[dict[str, object]]:
        def run() -> list[dict[str, object]]:
            wanted = {t.strip().lower() for t in tags or []}
            found = [p for p in self.memory.archival.all()
                     if not wanted or wanted & set(p.tags)]
            return [_passage(p) for p in reversed(found[-limit:])]  # newest first

        return await asyncio.to_thread(run)

    async def archival_get(self, passage_id: str) -> dict[str, object]:
        return _passage(await asyncio.to_thread(self.memory.archival.get, passage_id))

    async def archival_delete(self, passage_id: str) -> dict[str, object]:
        def run() -> dict[str, object]:
            passage = self.memory.archival.get(passage_id)
            self.memory.archival.delete(passage.id)
            return _passage(passage)

        return await asyncio.to_thread(run)

    # -- export -------------------------------------------------------------------------------

    async def export(self, fmt: str, *, output: str | None = None,
                     force: bool = False) -> Exported:
        """Render memory for another agent; never overwrites a file it did not write unless
        `force`. `output="-"` only returns the text (the face prints it)."""
        if fmt not in EXPORT_FILES:
            raise UsageError(f"Unknown export format '{fmt}'; use agents-md or claude-md.")
        name = EXPORT_FILES[fmt]
        text = await asyncio.to_thread(render_agents_md, self.memory, name)
        if output == "-":
            return Exported(format=fmt, path="", text=text, written=False)
        path = Path(output).expanduser() if output else self.workspace / name
        if not path.is_absolute():
            path = self.workspace / path

        def write() -> None:
            if path.exists() and not force:
                current = path.read_text(encoding="utf-8", errors="replace")
                if EXPORT_MARK not in current:
                    raise UsageError(f"{path} exists and was not written by lsp-agent; "
                                     "export with force (--force) to overwrite it, or choose "
                                     "another output file.")
            path.write_text(text, encoding="utf-8")

        await asyncio.to_thread(write)
        return Exported(format=fmt, path=str(path), text=text, written=True)
