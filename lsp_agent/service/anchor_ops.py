"""The service's anchored memories: remember at a place in the code, follow the code through
edits, renames and deletions, and say what the editor shows there (hover, code lens,
diagnostics) and what a turn that starts at a location should know.

A mixin of `AgentService`. The editor's calls (hover, lens, diagnostics) are synchronous and
read only the in-memory anchor cache and the open document, so they answer in milliseconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from lsp_agent.errors import NotFound, UsageError
from lsp_agent.learning import anchoring as A
from lsp_agent.learning.symbols import Symbol
from lsp_agent.memory.agent_memory import AgentMemory
from lsp_agent.memory.anchors import AnchorTable
from lsp_agent.memory.schema import Anchor

ACTIONS = ("reanchor", "forget", "keep")
_CACHE_LOCK = threading.Lock()
MOVE_CANDIDATES = 50  # new files of one batch searched for a deleted file's anchored code


class _Outline:
    """A file's symbols, parsed at most once per text, and only if an anchor needs them."""

    def __init__(self, rel: str, text: str | None) -> None:
        self.rel, self.text = rel, text
        self._symbols: list[Symbol] | None = None

    def __call__(self) -> list[Symbol]:
        if self._symbols is None:
            self._symbols = A.symbols_of(self.rel, self.text or "")
        return self._symbols


class AnchorOps:
    memory: AgentMemory
    workspace: Path
    _anchor_table: AnchorTable | None = None
    _anchor_lock = threading.RLock()  # one writer of anchors at a time: saves, fixes, renames
    _resolved: OrderedDict[tuple[str, str], list[Anchor]] | None = None
    _outline_of: dict[str, tuple[tuple[str, str], _Outline]]

    @property
    def anchors(self) -> AnchorTable:
        if self._anchor_table is None:
            if self.memory.team is not None:  # the team's anchors, readable while it is away
                from lsp_agent.memory.team_anchors import TeamAnchors

                self._anchor_table = TeamAnchors(self.memory.team)
            else:
                self._anchor_table = AnchorTable(self.memory.store)
        return self._anchor_table

    def relative(self, path: Path) -> str | None:
        try:
            return path.resolve().relative_to(self.workspace.resolve()).as_posix()
        except (ValueError, OSError):
            return None

    # -- writing ------------------------------------------------------------------------------

    def anchor_memory(self, kind: str, memory_id: str, lesson: str, at: str, *,
                      author: str = "user", text: str | None = None) -> tuple[Anchor, list[str]]:
        """Anchor an existing memory (an archival passage, a block line) at `PATH:START-END`."""
        path, rel, start, end = A.parse_at(self.workspace, at)
        source = text if text is not None else A.read_source(path)
        fields, warnings = A.place(rel, source, start, end)
        anchor = Anchor(id=self.anchors.new_id(), memory_kind=kind, memory_id=memory_id,
                        lesson=lesson, author=author, **fields)  # type: ignore[arg-type]
        with self._anchor_lock:
            self.anchors.save([anchor])
        return anchor, warnings

    async def remember_at(self, lesson: str, at: str,
                          text_of: Callable[[Path], str | None] | None = None,
                          ) -> tuple[Anchor, list[str]]:
        """Store `lesson` as an archival passage anchored at `at` (the user's own words);
        `text_of` gives an editor's unsaved text of the file, if it has it open."""
        if not lesson.strip():
            raise UsageError("Nothing to remember: give the lesson as text.")

        def run() -> tuple[Anchor, list[str]]:
            path, _rel, _s, _e = A.parse_at(self.workspace, at)
            text = text_of(path) if text_of is not None else None
            source = text if text is not None else A.read_source(path)  # refuse before storing
            passage = self.memory.archival.insert(lesson.strip(), ["anchored"], source="user")
            return self.anchor_memory("archival", passage.id, passage.content, at,
                                      text=source)

        return await asyncio.to_thread(run)

    async def anchor_action(self, anchor_id: str, action: str,
                            at: str | None = None) -> Anchor:
        """reanchor (here, or at `at`), forget (kept as forgotten, restorable) or keep (the
        code as it is now is what the memory is about)."""
        if action not in ACTIONS:
            raise UsageError(f"action must be one of {', '.join(ACTIONS)}.")

        def run() -> Anchor:
            with self._anchor_lock:
                return act()

        def act() -> Anchor:
            anchor = self.anchors.get(anchor_id)
            if anchor is None:
                raise NotFound(f"No anchored memory '{anchor_id}'; `lsp-agent anchors` lists "
                               "them.")
            if action == "forget":
                done = anchor.model_copy(update={"state": "forgotten"})
            else:
                where = at or f"{anchor.path}:{anchor.start_line + 1}-{anchor.end_line + 1}"
                path, rel, start, end = A.parse_at(self.workspace, where)
                fields, _ = A.place(rel, A.read_source(path), start, end)
                done = anchor.model_copy(update={**fields, "state": "ok", "note": ""})
            self.anchors.save([done])
            return done

        return await asyncio.to_thread(run)

    async def anchor_list(self, path: str | None, *, line: int | None = None,
                          include_forgotten: bool = False,
                          memory_id: str | None = None) -> list[Anchor]:
        """Anchored memories (of one file, one line, one memory), where their code is now."""
        def run() -> list[Anchor]:
            rows = self.anchors.all(live=not include_forgotten)
            if path is not None:
                rel = self.relative(self.workspace / path) or path
                rows = [a for a in rows if a.path == rel]
            if memory_id is not None:
                rows = [a for a in rows if a.memory_id == memory_id]
            current: list[Anchor] = []
            for rel in sorted({a.path for a in rows}):
                now = {a.id: a for a in self.resolved(rel, self._disk_text(self.workspace / rel))}
                current += [now.get(a.id, a) for a in rows if a.path == rel]
            if line is not None:
                current = [a for a in current if a.start_line <= line - 1 <= a.end_line]
            return current

        return await asyncio.to_thread(run)

    # -- following the code ---------------------------------------------------------------------

    def resolved(self, rel: str, text: str | None) -> list[Anchor]:
        """This file's anchors as they are in `text` (not saved; cached per text). Called
        from the editor's requests in worker threads: the cache is guarded, the work is not."""
        anchors = self.anchors.for_path(rel)
        if not anchors:
            return []
        key = (rel, hashlib.blake2b((text or "").encode(), digest_size=8).hexdigest()
               + str(self.anchors._version))
        with _CACHE_LOCK:
            if self._resolved is None:
                self._resolved, self._outline_of = OrderedDict(), {}
            if key in self._resolved:
                self._resolved.move_to_end(key)
                return self._resolved[key]
        outline = _Outline(rel, text)
        found = [A.resolve(a, text, outline) for a in anchors]
        with _CACHE_LOCK:
            self._resolved[key] = found
            self._outline_of[rel] = (key, outline)
            while len(self._resolved) > 64:
                self._resolved.popitem(last=False)
        return found

    def symbols_for(self, rel: str, text: str) -> list[Symbol]:
        """The file's symbols for this text: the outline `resolved` parsed, if it did."""
        self.resolved(rel, text)
        cached = self._outline_of.get(rel) if self._resolved is not None else None
        if cached is not None and cached[1].text == text:
            return cached[1]()
        return A.symbols_of(rel, text)

    def follow(self, paths: list[Path]) -> list[Anchor]:
        """After saves, branch switches or deletions: find each file's anchors again in what is
        on disk and store what moved or changed. A file deleted in the same batch as files
        were created (a rename outside the editor) hands its anchors to the new file that
        holds their code. Returns the anchors that changed."""
        with self._anchor_lock:  # read, re-find and save as one step (a fix may be running)
            changed = self._follow(paths)
            # moved or judged again, their text is as stored (already redacted)
            self.anchors.save(changed, redacted=True, automatic=True)
            return changed

    def _follow(self, paths: list[Path]) -> list[Anchor]:
        changed: list[Anchor] = []
        texts: dict[str, str] = {}
        gone: list[Anchor] = []
        for path in paths:
            rel = self.relative(path)
            if rel is None:
                continue
            text = self._disk_text(path)
            if text is not None:
                texts[rel] = text
            if not self.anchors.for_path(rel):
                continue
            for old, new in zip(self.anchors.for_path(rel), self.resolved(rel, text),
                                strict=True):
                if text is None:
                    gone.append(new)
                elif (new.state, new.start_line, new.end_line, new.symbol, new.note) != (
                        old.state, old.start_line, old.end_line, old.symbol, old.note):
                    changed.append(new)
        changed += [self._moved(a, texts) for a in gone]
        return changed

    def _moved(self, anchor: Anchor, texts: dict[str, str]) -> Anchor:
        """A deleted file's anchor, found in one of the files that appeared with it."""
        for rel, text in list(texts.items())[:MOVE_CANDIDATES]:
            if rel == anchor.path:
                continue
            found = A.resolve(anchor.model_copy(update={"path": rel}), text)
            if found.state == "ok":
                return found.model_copy(update={"note": f"moved from {anchor.path}"})
        return anchor

    @staticmethod
    def _disk_text(path: Path) -> str | None:
        try:
            return A.read_source(path) if path.is_file() else None
        except (UsageError, OSError):
            return None

    def renamed(self, pairs: list[tuple[Path, Path]]) -> int:
        """Files or folders renamed: their anchors move with them, in one commit, and memory
        blocks naming the old path name the new one (a new version each, revertible)."""
        with self._anchor_lock:
            return self._renamed(pairs)

    def _renamed(self, pairs: list[tuple[Path, Path]]) -> int:
        moved: list[Anchor] = []
        every = {a.path for a in self.anchors.all(live=False)}
        renames: list[tuple[str, str]] = []
        for old, new in pairs:
            old_rel, new_rel = self.relative(old), self.relative(new)
            if old_rel is None or new_rel is None or old_rel == new_rel:
                continue
            renames.append((old_rel, new_rel))
            for rel in every:
                if rel == old_rel or rel.startswith(old_rel + "/"):
                    target = new_rel + rel[len(old_rel):]
                    moved += [a.model_copy(update={"path": target})
                              for a in self.anchors.for_path(rel, live=False)]
        for old_rel, new_rel in renames:  # first: once anchors show the move, so do the blocks
            self._rename_in_blocks(old_rel, new_rel)
        self.anchors.save(moved, redacted=True, automatic=True)
        return len(moved)

    def _rename_in_blocks(self, old_rel: str, new_rel: str) -> None:
        pattern = re.compile(rf"(?<![\w./-]){re.escape(old_rel)}(?=/|[^\w.-]|$)")
        for block in self.memory.blocks.list():
            if not pattern.search(block.value):
                continue
            self.memory.blocks.edit(block.label, lambda v: pattern.sub(new_rel, v),
                                    author="user", reason=f"{old_rel} was renamed to {new_rel}")
