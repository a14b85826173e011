"""Memory blocks: labelled, size-limited texts always in the agent's prompt.

Every change is a new version (who, when, why, old, new) written before the block itself, so
nothing is ever silently overwritten and any version can be restored. Shared blocks live in the
user-level shared store; the agent's own store only records that it uses them. Versions are
claimed by the commit protocol of memory/commits.py, so edits from many machines on one store
in a bucket are all kept; the local lock only spares one machine's processes the retries.
"""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from lsp_agent.errors import LspAgentError, NotFound
from lsp_agent.memory import schema as S
from lsp_agent.memory.block_rows import advance_row, read_rows, write_row
from lsp_agent.memory.commits import (
    Claim,
    CommitConflict,
    HistoryUnreadable,
    VersionLedger,
    backoff,
    new_edit_id,
    who,
)
from lsp_agent.memory.merge import rebase
from lsp_agent.memory.schema import Block, BlockVersion, utcnow
from lsp_agent.memory.secrets import redact
from lsp_agent.memory.store import MemoryStore, sql_str
from lsp_agent.memory.version_upkeep import VersionUpkeep

if TYPE_CHECKING:
    from lsp_agent.memory.mirror import Mirror

LABEL_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
log = logging.getLogger(__name__)
PEOPLE = {"user", "mirror"}  # authors allowed to change read-only blocks
INIT = "init"  # the author of text `init` imported from the workspace's files (not the agent)
MAX_CLAIMS = 60  # attempts of one edit against other machines' edits before it gives up

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
        self.ledger = VersionLedger(store)
        self.upkeep = VersionUpkeep(self)
        self.lost_claims = 0  # versions this manager claimed and another machine won first
        self._shared_mgr: BlockManager | None = (
            BlockManager(shared) if shared is not None and shared is not store else None
        )

    # -- reading ----------------------------------------------------------------------------

    def _rows(self) -> dict[str, Block]:
        return read_rows(self.store)

    def list(self) -> builtins.list[Block]:
        blocks = []
        for label, block in sorted(self._rows().items(), key=lambda kv: block_order(kv[0])):
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
        rows = self.ledger.rows(f"label = {sql_str(label)}")
        if not rows and label not in self._rows():
            self.get(label)  # raises BlockNotFound with the list of labels
        return self.ledger.winners(rows)

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
            self._write_row(shared.model_copy(update={"scope": "shared", "value": ""}),
                            insert=True)
            attached = shared.model_copy(update={"scope": "shared"})
            if self.mirror:
                self.mirror.write(attached)
            return attached
        with self.store.lock():
            if label in self._rows():
                raise BlockError(f"A memory block '{label}' already exists; edit it instead.")
            # a creation killed before its row was written
            head = self.ledger.head(label, strict=True)
            block = Block(
                label=label, description=description, value=value, limit=limit,
                read_only=read_only, scope="agent", version=(head.version if head else 0) + 1,
                updated_by=author,
            )
            claim = self._claim(block, author, reason, old="")
            if not claim.won:
                self.ledger.retract(claim.edit_id)
                raise BlockError(f"A memory block '{label}' was just created by "
                                 f"{claim.rivals[0].by}; edit it instead.")
            self._advance_row(block, insert=True)
            # an edit that won a later version before this row existed could not write it
            head = self.ledger.head(label, strict=True)
            if head is not None and head.version > block.version:
                block = self._advance_row(_at(block, head))
        if self.mirror:
            self.mirror.write(block)
        return block

    def edit(self, label: str, change: Callable[[str], str], *, author: str, reason: str) -> Block:
        """Apply `change(old_value) -> new_value` as a new version.

        Another machine's edit that claims the same version first wins; this one is then
        applied again on top of it (memory/merge.py), never dropped. Read-only blocks change
        only when a person is the author (user, or their mirror edit).
        """
        row = self._rows().get(label)
        owner = self._owner(label, row)
        if owner is not self:
            updated = owner.edit(label, change, author=author, reason=reason)
            updated = updated.model_copy(update={"scope": "shared"})
            if self.mirror:
                self.mirror.write(updated)
            return updated
        with self.store.lock():
            updated = self._commit_edit(label, change, author, reason, row)
        if self.mirror:
            self.mirror.write(updated)
        return updated

    def _commit_edit(self, label: str, change: Callable[[str], str], author: str,
                     reason: str, row: Block | None) -> Block:
        first: tuple[str, str] | None = None  # (base, ours) of the first attempt
        rivals: builtins.list[BlockVersion] = []
        for attempt in range(MAX_CLAIMS):
            block, base = self._current(label, row if attempt == 0 else None)
            if block.read_only and author not in PEOPLE:
                raise BlockError(
                    f"Memory block '{label}' is read-only: the agent cannot change it. "
                    "Ask the user to edit it (lsp-agent memory set, or its file in the memory folder)."
                )
            note = ""
            if first is None:
                new_value = redact(change(base.value))
                first = (base.value, new_value)
            else:
                got = rebase(lambda old: redact(change(old)), first[0], first[1], base.value,
                             "this edit", f"version {base.version} by {rivals[-1].by}")
                new_value = got.value
                note = f" ({got.how}: a concurrent edit by {rivals[-1].by} came first)"
                if len(new_value) > block.limit and got.how == "both kept":
                    new_value, note = first[1], (f" (replaces a concurrent edit by "
                                                 f"{rivals[-1].by}, kept as version "
                                                 f"{base.version}: both would exceed the limit)")
            if len(new_value) > block.limit:
                raise BlockError(_too_long(label, len(new_value), block.limit))
            if new_value == base.value:
                return base
            updated = base.model_copy(update={
                "value": new_value, "version": base.version + 1, "updated_at": utcnow(),
                "updated_by": author})
            claim = self._claim(updated, author, reason + note, old=base.value)
            if claim.won:
                updated = self._advance_row(updated)
                self.upkeep.committed()
                return updated
            self.ledger.retract(claim.edit_id)
            self.lost_claims += 1
            rivals = claim.rivals
            backoff(attempt)
        raise CommitConflict(f"Memory block '{label}' is being changed by too many machines at "
                         f"once: this edit was not saved after {MAX_CLAIMS} tries. Try again.")

    def _current(self, label: str, row: Block | None = None) -> tuple[Block, Block]:
        """(its row, the block as its newest version has it): the row may lag a version whose
        writer was killed, or that another machine is writing right now."""
        block = row or self._rows().get(label)
        if block is None:
            self.get(label)
            raise BlockNotFound(label)
        head = self.ledger.head(label, block.version, strict=True)
        return block, (_at(block, head) if head is not None and head.version > block.version
                       else block)

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
        """Change a block's description, limit or read-only flag (the user's call): written
        only over the row it was read from, so a concurrent edit's text is never undone."""
        with self.store.lock():
            for attempt in range(MAX_CLAIMS):
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
                if updated == block or self._write_row(updated, "target.version = source.version"):
                    break
                backoff(attempt)
            else:
                raise BlockError(f"Memory block '{label}' kept changing on other machines; its "
                                 "settings were not saved. Try again.")
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

    def repair(self) -> bool:
        """Finish edits whose version was written but whose block row was not (a writer
        killed, or one on another machine right now), and take back losing claims whose
        writer was killed before it could.

        Looks first without the lock: opening a sound store (every read-only command) takes
        no lock and writes nothing, so it works on a full or read-only disk. When the store
        cannot tell which of two versions came first, nothing is repaired now (False): the
        next opening does it."""
        try:
            unfinished = self.unfinished()
            leftovers = self.ledger.leftovers(strict=True)
            if not unfinished and not leftovers:
                return True
            # the lock only around the writes (each safe alone: a retract is idempotent, a row
            # is written only over an older one): judging claims may take long on a busy
            # store, and this machine's edits wait for the lock meanwhile
            with self.store.lock():
                for v in leftovers:
                    self.ledger.retract(str(v.edit_id))
                for block, v in unfinished:
                    self._advance_row(_at(block, v))
            return True
        except HistoryUnreadable as exc:
            log.info("repair left for later: %s", exc)
            return False

    def unfinished(self) -> builtins.list[tuple[Block, BlockVersion]]:
        """(block row, its newer version) for every agent block whose row lags its versions."""
        rows = self._rows()
        latest = self.latest_versions(strict=True)
        return [(rows[label], v) for label, v in latest.items()
                if label in rows and v.version > rows[label].version
                and rows[label].scope == "agent"]

    def latest_versions(self, *, strict: bool = False) -> dict[str, BlockVersion]:
        """The newest version of each label in the versions table (what doctor rebuilds from;
        `strict`: HistoryUnreadable rather than a guess)."""
        columns = ["label", "version", "edit_id", "timestamp"]
        tops: dict[str, int] = {}
        for r in self.ledger.rows(columns=columns):
            tops[r["label"]] = max(tops.get(r["label"], 0), int(r["version"]))
        if not tops:
            return {}
        where = " OR ".join(f"(label = {sql_str(label)} AND version = {n})"
                            for label, n in tops.items())
        return {v.label: v for v in self.ledger.winners(self.ledger.rows(where), strict=strict)}

    # -- internals --------------------------------------------------------------------------

    def _owner(self, label: str, row: Block | None = None) -> BlockManager:
        row = row or self._rows().get(label)
        if row is not None and row.scope == "shared" and self._shared_mgr is not None:
            return self._shared_mgr
        return self

    def _claim(self, block: Block, author: str, reason: str, *, old: str) -> Claim:
        user, machine = who()
        row = BlockVersion(
            label=block.label, version=block.version, author=author, timestamp=utcnow(),
            reason=reason, old_value=old, new_value=block.value, user=user, machine=machine,
            edit_id=new_edit_id(),
        )
        return self.ledger.claim(row)

    def _append_version(self, block: Block, author: str, reason: str, *, old: str) -> None:
        """Claim `block`'s version without writing its row: what a writer killed right after
        its claim leaves (tests make such stores with it)."""
        self._claim(block, author, reason, old=old)

    def _advance_row(self, block: Block, *, insert: bool = False) -> Block:
        return advance_row(self.store, block, insert=insert)

    def _write_row(self, block: Block, where: str = "", *, insert: bool = False) -> bool:
        return write_row(self.store, block, where, insert=insert)


def _too_long(label: str, size: int, limit: int) -> str:
    return (
        f"Memory block '{label}' would hold {size} characters, over its limit of {limit}. "
        "Shorten or summarise the text, move details to archival memory, or raise the limit."
    )


def _at(block: Block, v: BlockVersion) -> Block:
    """`block` as version `v` has it."""
    return block.model_copy(update={"value": v.new_value, "version": v.version,
                                    "updated_by": v.author, "updated_at": v.timestamp})


def block_order(label: str) -> tuple[int, str]:
    """Where a block goes in lists and the prompt: the defaults first, in their order."""
    names = [d[0] for d in DEFAULT_BLOCKS]
    return (names.index(label) if label in names else len(names), label)
