"""Memory blocks: labelled, size-limited texts always in the agent's prompt.

Every change is a new version (who, when, why, old, new) written before the block itself, so
nothing is ever silently overwritten and any version can be restored. Shared blocks live in the
user-level shared store; the agent's own store only records that it uses them.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pyarrow as pa

from lsp_agent.errors import LspAgentError, NotFound
from lsp_agent.memory import schema as S
from lsp_agent.memory.schema import Block, BlockVersion, utcnow
from lsp_agent.memory.secrets import redact
from lsp_agent.memory.store import MemoryStore, sql_str

if TYPE_CHECKING:
    from lsp_agent.memory.mirror import Mirror

LABEL_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
PEOPLE = {"user", "mirror"}  # authors allowed to change read-only blocks
INIT = "init"  # the author of text `init` imported from the workspace's files (not the agent)

DEFAULT_BLOCKS: list[tuple[str, str, str, int]] = [
    (
        "persona",
        "Who the agent is and how it works in this workspace. Edit to change its behaviour.",
        "I am the coding agent of this workspace. I remember what I learn here, check facts in "
        "the code before acting, keep changes small and tested, and ask before risky actions.",
        3000,
    ),
    ("human", "What the agent knows about the user: preferences, habits, corrections.", "", 3000),
    ("project", "What this codebase is: purpose, layout, languages, key modules.", "", 6000),
    ("commands", "How to build, test, lint and run this project, and where each comes from.", "", 4000),
    ("conventions", "Code style and rules of this project that every change must follow.", "", 5000),
    ("notes", "Lessons, gotchas and facts learned while working that fit no other block.", "", 6000),
]


class BlockError(LspAgentError, ValueError):
    """A block operation that cannot be done; the message says why and what to do instead."""


class BlockNotFound(BlockError, NotFound):
    pass


class BlockManager:
    """Reads and edits the blocks of one agent (and its shared blocks)."""

    def __init__(
        self,
        store: MemoryStore,
        shared: MemoryStore | None = None,
        mirror: Mirror | None = None,
    ) -> None:
        self.store = store
        self.shared = shared
        self.mirror = mirror
        self._shared_mgr: BlockManager | None = (
            BlockManager(shared) if shared is not None and shared is not store else None
        )

    # -- reading ----------------------------------------------------------------------------

    def _rows(self) -> dict[str, Block]:
        rows = self.store.table("blocks").search().limit(10_000).to_list()
        return {r["label"]: Block(**r) for r in rows}

    def list(self) -> builtins.list[Block]:
        blocks = []
        for label, block in sorted(self._rows().items(), key=lambda kv: _order(kv[0])):
            if block.scope == "shared" and self._shared_mgr is not None:
                try:
                    shared = self._shared_mgr.get(label)
                    blocks.append(shared.model_copy(update={"scope": "shared"}))
                    continue
                except BlockNotFound:
                    pass
            blocks.append(block)
        return blocks

    def get(self, label: str) -> Block:
        for block in self.list():
            if block.label == label:
                return block
        labels = ", ".join(b.label for b in self.list()) or "none yet"
        raise BlockNotFound(f"No memory block '{label}'. Existing blocks: {labels}.")

    def history(self, label: str) -> builtins.list[BlockVersion]:
        _ = self.store.db  # opened and checked: with its blocks damaged, the versions still read
        owner = self if "blocks" in self.store.damage else self._owner(label)
        if owner is not self:
            return owner.history(label)
        tbl = self.store.table("block_versions")
        rows = tbl.search().where(f"label = {sql_str(label)}").limit(100_000).to_list()
        if not rows and label not in self._rows():
            self.get(label)  # raises BlockNotFound with the list of labels
        return sorted((BlockVersion(**r) for r in rows), key=lambda v: v.version)

    # -- writing ----------------------------------------------------------------------------

    def create(
        self,
        label: str,
        description: str = "",
        value: str = "",
        *,
        limit: int = 5000,
        read_only: bool = False,
        scope: S.Scope = "agent",
        author: str = "user",
        reason: str = "created",
    ) -> Block:
        if not LABEL_RE.match(label):
            raise BlockError(
                f"Invalid block label '{label}': use 1-64 lowercase letters, digits, '_' or '-', "
                "starting with a letter."
            )
        if limit <= 0:
            raise BlockError(f"A block limit must be a positive number of characters, not {limit}.")
        value, description = redact(value), redact(description)
        if len(value) > limit:
            raise BlockError(_too_long(label, len(value), limit))
        if scope == "shared":
            if self._shared_mgr is None:
                raise BlockError("No shared store is configured, so a shared block cannot be made.")
            own = self._rows().get(label)
            if own is not None and own.scope != "shared":
                raise BlockError(
                    f"A memory block '{label}' already exists in this workspace; rename or "
                    "delete it before attaching the shared block of that name."
                )
            try:
                shared = self._shared_mgr.get(label)
            except BlockNotFound:
                shared = self._shared_mgr.create(
                    label, description, value, limit=limit, read_only=read_only,
                    author=author, reason=reason,
                )
            self._write_row(shared.model_copy(update={"scope": "shared", "value": ""}))
            attached = shared.model_copy(update={"scope": "shared"})
            if self.mirror:
                self.mirror.write(attached)
            return attached
        with self.store.lock():
            if label in self._rows():
                raise BlockError(f"A memory block '{label}' already exists; edit it instead.")
            block = Block(
                label=label, description=description, value=value, limit=limit,
                read_only=read_only, scope="agent", version=self._latest_version(label) + 1,
                updated_by=author,
            )
            self._append_version(block, author, reason, old="")
            self._write_row(block)
        if self.mirror:
            self.mirror.write(block)
        return block

    def edit(self, label: str, change: Callable[[str], str], *, author: str, reason: str) -> Block:
        """Apply `change(old_value) -> new_value` under the lock, as a new version.

        Read-only blocks change only when a person is the author (user, or their mirror edit).
        """
        owner = self._owner(label)
        if owner is not self:
            updated = owner.edit(label, change, author=author, reason=reason)
            updated = updated.model_copy(update={"scope": "shared"})
            if self.mirror:
                self.mirror.write(updated)
            return updated
        with self.store.lock():
            block = self._rows().get(label)
            if block is None:
                self.get(label)
                raise BlockNotFound(label)
            if block.read_only and author not in PEOPLE:
                raise BlockError(
                    f"Memory block '{label}' is read-only: the agent cannot change it. "
                    "Ask the user to edit it (lsp-agent memory set, or its file in the memory folder)."
                )
            new_value = redact(change(block.value))
            if len(new_value) > block.limit:
                raise BlockError(_too_long(label, len(new_value), block.limit))
            if new_value == block.value:
                return block
            # a process that died after writing a version but before the row left that number
            # taken: never reuse it (repair() on the next open makes it the block's value)
            version = max(block.version, self._latest_version(label)) + 1
            updated = block.model_copy(
                update={"value": new_value, "version": version,
                        "updated_at": utcnow(), "updated_by": author}
            )
            self._append_version(updated, author, reason, old=block.value)
            self._write_row(updated)
        if self.mirror:
            self.mirror.write(updated)
        return updated

    def set(self, label: str, value: str, *, author: str, reason: str = "") -> Block:
        return self.edit(label, lambda _old: value, author=author, reason=reason or "set")

    def revert(self, label: str, version: int, *, author: str = "user") -> Block:
        versions = {v.version: v for v in self.history(label)}
        if version not in versions:
            have = ", ".join(str(v) for v in sorted(versions)) or "none"
            raise BlockError(f"Block '{label}' has no version {version}. Versions: {have}.")
        target = versions[version].new_value
        return self.edit(
            label, lambda _old: target, author=author, reason=f"revert to version {version}"
        )

    def update_settings(
        self, label: str, *, description: str | None = None, limit: int | None = None,
        read_only: bool | None = None,
    ) -> Block:
        """Change a block's description, limit or read-only flag (the user's call)."""
        with self.store.lock():
            block = self._rows().get(label)
            if block is None:
                self.get(label)
                raise BlockNotFound(label)
            changes: dict[str, object] = {}
            if description is not None:
                changes["description"] = redact(description)
            if limit is not None:
                if limit < len(block.value):
                    raise BlockError(_too_long(label, len(block.value), limit))
                changes["limit"] = limit
            if read_only is not None:
                changes["read_only"] = read_only
            updated = block.model_copy(update=changes)
            self._write_row(updated)
        if self.mirror:
            self.mirror.write(updated)
        return updated

    def ensure_defaults(self) -> builtins.list[Block]:
        """Create the default coding-agent blocks that are missing; repair half-written edits."""
        self.repair()
        existing = self._rows()
        for label, description, value, limit in DEFAULT_BLOCKS:
            if label not in existing:
                try:
                    self.create(label, description, value, limit=limit, author="system",
                                reason="default block")
                except BlockError:
                    pass  # created meanwhile by another process
        return self.list()

    def repair(self) -> None:
        """Finish an edit whose version was written but whose block row was not (a crash).

        Looks first without the lock: opening a sound store (every read-only command) takes
        no lock and writes nothing, so it works on a full or read-only disk."""
        if not self._unfinished():
            return
        with self.store.lock():
            for block, v in self._unfinished():
                self._write_row(block.model_copy(update={
                    "value": v.new_value, "version": v.version, "updated_by": v.author,
                    "updated_at": v.timestamp}))

    def _unfinished(self) -> builtins.list[tuple[Block, BlockVersion]]:
        """(block row, its newer version) for every agent block whose row lags its versions."""
        rows = self._rows()
        latest = self.latest_versions()
        return [(rows[label], v) for label, v in latest.items()
                if label in rows and v.version > rows[label].version
                and rows[label].scope == "agent"]

    def latest_versions(self) -> dict[str, BlockVersion]:
        """The newest version of each label in the versions table (what doctor rebuilds from)."""
        latest: dict[str, BlockVersion] = {}
        for r in self.store.table("block_versions").search().limit(1_000_000).to_list():
            v = BlockVersion(**r)
            if v.label not in latest or v.version > latest[v.label].version:
                latest[v.label] = v
        return latest

    # -- internals --------------------------------------------------------------------------

    def _owner(self, label: str) -> BlockManager:
        row = self._rows().get(label)
        if row is not None and row.scope == "shared" and self._shared_mgr is not None:
            return self._shared_mgr
        return self

    def _latest_version(self, label: str) -> int:
        rows = (self.store.table("block_versions").search().where(f"label = {sql_str(label)}")
                .select(["version"]).limit(1_000_000).to_list())
        return max((int(r["version"]) for r in rows), default=0)

    def _append_version(self, block: Block, author: str, reason: str, *, old: str) -> None:
        row = BlockVersion(
            label=block.label, version=block.version, author=author, timestamp=utcnow(),
            reason=reason, old_value=old, new_value=block.value,
        )
        self.store.table("block_versions").add(
            pa.Table.from_pylist([row.model_dump()], schema=S.BLOCK_VERSIONS)
        )

    def _write_row(self, block: Block) -> None:
        data = pa.Table.from_pylist([block.model_dump()], schema=S.BLOCKS)
        tbl = self.store.table("blocks")
        tbl.merge_insert("label").when_matched_update_all().when_not_matched_insert_all().execute(
            data
        )


def _too_long(label: str, size: int, limit: int) -> str:
    return (
        f"Memory block '{label}' would hold {size} characters, over its limit of {limit}. "
        "Shorten or summarise the text, move details to archival memory, or raise the limit."
    )


def _order(label: str) -> tuple[int, str]:
    names = [d[0] for d in DEFAULT_BLOCKS]
    return (names.index(label) if label in names else len(names), label)
