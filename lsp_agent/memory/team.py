"""Team memory: a project's shared memory in a team store, personal memory kept local.

With `teamStore` set, the blocks `project`, `commands` and `conventions` (and any block created
with the team scope), archival passages and code anchors live in the team store (any LanceDB
URI: s3://, gs://, az://, a shared folder). The human, persona and notes blocks and the
conversations stay in the local store: they are one person's.

When the team store cannot be reached the agent keeps working: blocks are read from a local
cache of their last values, and team writes go to a durable local queue (write_queue.py),
replayed in order when the store is back, each through BlockManager.edit so a write made
meanwhile elsewhere is merged (merge.replay_onto), never overwritten.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from lsp_agent.errors import LspAgentError
from lsp_agent.memory import commits
from lsp_agent.memory.archival import ArchivalMemory
from lsp_agent.memory.blocks import PEOPLE, BlockError, BlockManager, BlockNotFound
from lsp_agent.memory.commits import CommitConflict
from lsp_agent.memory.locking import file_lock
from lsp_agent.memory.merge import replay_onto
from lsp_agent.memory.mirror import atomic_write_bytes
from lsp_agent.memory.schema import Block, utcnow
from lsp_agent.memory.secrets import redact
from lsp_agent.memory.team_link import (
    TeamLink,
    TeamStore,
    TeamStoreUnavailable,
    open_deadline,
)
from lsp_agent.memory.write_queue import WriteQueue
from lsp_agent.paths import display_uri

log = logging.getLogger(__name__)

#: Blocks that are the team's when a team store is set (others are personal by default).
TEAM_LABELS = ("project", "commands", "conventions")
REPLAY_EVERY = 10.0  # seconds between background attempts while writes are queued


def who() -> str:
    """`user@machine` of this process, as the version history records it (commits.who)."""
    return "@".join(commits.who())


class TeamMemory:
    """The team store of one workspace's agent, its block cache and its write queue."""

    def __init__(self, uri: str, folder: Path, *, embedder: str = "default",
                 code_embedder: str = "none",
                 seed: Callable[[], dict[str, Block]] = dict) -> None:
        self.uri = uri
        self.store = TeamStore(uri, embedder_spec=embedder, code_embedder_spec=code_embedder)
        self.link = TeamLink(uri)
        self.folder = folder
        self.queue = WriteQueue(folder)
        self.blocks = BlockManager(self.store)
        from lsp_agent.memory.team_archival import TeamArchival

        self.archival = TeamArchival(self)
        self._seed = seed  # the local values of team blocks: the cache before the first read
        self._cache_path = folder / "blocks.json"
        self._cached_rows: list[dict[str, Any]] | None = None
        self._replay_lock = threading.Lock()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    # -- opening and background replay --------------------------------------------------------

    def connect(self) -> list[str]:
        """Open the team store (create the team blocks it lacks), replay queued writes;
        notices for the user. Never raises for an unreachable store."""
        def prepare() -> None:
            self.store.ensure_initialized()
            self.blocks.repair()
            have = {b.label for b in self.blocks.list()}
            seeds = self._seed()
            from lsp_agent.memory.blocks import DEFAULT_BLOCKS

            for label, description, value, limit in DEFAULT_BLOCKS:
                if label in TEAM_LABELS and label not in have:
                    seed = seeds.get(label)
                    try:
                        self.blocks.create(label, description, seed.value if seed else value,
                                           limit=max(limit, seed.limit if seed else 0),
                                           author="system", reason=f"team block, from {who()}")
                    except BlockError:
                        pass  # made meanwhile by another machine

        try:
            self.link.run(prepare, timeout=open_deadline())
            self.replay()
            self.refresh()
        except LspAgentError as exc:  # unreachable, or a replay lock held elsewhere: later
            return [str(exc)]
        return []

    def start(self) -> None:
        """Replay queued writes in the background while any are left (every REPLAY_EVERY s)."""
        if self._timer is None:
            self._timer = threading.Thread(target=self._run, name="lsp-agent-team-replay",
                                           daemon=True)
            self._timer.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(REPLAY_EVERY):
            if (self.link.reachable is False or self.queue.entries()) and self.link.available:
                try:
                    self.replay()
                except Exception:  # noqa: BLE001 - the next round tries again
                    log.info("team replay failed", exc_info=True)

    # -- the block cache ---------------------------------------------------------------------

    def cached(self) -> dict[str, Block]:
        """Team blocks as last read, with the queued writes on top (what the agent sees
        while the store is away)."""
        try:
            raw = json.loads(self._cache_path.read_text(encoding="utf-8"))
            blocks = {b["label"]: Block(**b) for b in raw["blocks"]}
        except (OSError, ValueError, KeyError, TypeError):  # never read yet: start from
            blocks = {k: b for k, b in self._seed().items() if k in TEAM_LABELS}  # local values
            from lsp_agent.memory.blocks import DEFAULT_BLOCKS

            for label, description, value, limit in DEFAULT_BLOCKS:
                if label in TEAM_LABELS and label not in blocks:
                    blocks[label] = Block(label=label, description=description, value=value,
                                          limit=limit)
        for entry in self.queue.entries():
            label = entry.get("label", "")
            old = blocks.get(label)
            if entry["kind"] == "block_create" and old is None:
                blocks[label] = Block(label=label, description=entry["description"],
                                      value=entry["value"], limit=entry["limit"],
                                      read_only=entry["read_only"], updated_by=entry["author"])
            elif entry["kind"] == "block_edit" and old is not None:
                # the version it will have if nothing else lands first (provisional)
                blocks[label] = old.model_copy(update={"value": entry["value"],
                                                       "version": old.version + 1,
                                                       "updated_by": entry["author"]})
            elif entry["kind"] == "block_settings" and old is not None:
                blocks[label] = old.model_copy(update={
                    k: entry[k] for k in ("description", "limit", "read_only")
                    if entry.get(k) is not None})
        return blocks

    def refresh(self) -> list[Block]:
        """Read the team blocks from the store and cache them (raises when unavailable)."""
        blocks = self.link.run(self.blocks.list)
        rows = [b.model_dump(mode="json") for b in blocks]
        if rows != self._cached_rows or not self._cache_path.exists():  # written on change
            self._write_cache(rows)
            self._cached_rows = rows
        return blocks

    def first_meeting(self) -> bool:
        """True once per workspace: the first time it opens this team store (the local mirror
        files of team blocks are then set aside, see team_blocks.py)."""
        marker = self.folder / "joined"
        if marker.exists():
            return False
        self.folder.mkdir(parents=True, exist_ok=True)
        marker.write_text(display_uri(self.uri) + "\n", encoding="utf-8")
        return True

    def list_blocks(self) -> list[Block]:
        if self.link.available:
            try:
                if self.queue.entries():
                    self.replay()
                if not self.queue.entries():
                    return self.refresh()
            except LspAgentError:  # unavailable (or a replay lock held elsewhere): the cache
                pass
        return list(self.cached().values())

    def labels(self) -> set[str]:
        return set(TEAM_LABELS) | set(self.cached())

    # -- writes ---------------------------------------------------------------------------

    def writable(self) -> bool:
        """Whether a write may go straight to the store (up, and nothing queued before it)."""
        if not self.link.available:
            return False
        if self.queue.entries():
            try:
                self.replay()
            except LspAgentError:  # unavailable, or another process's replay holds the lock
                return False
        return not self.queue.entries() and self.link.available

    def edit(self, label: str, change: Callable[[str], str], *, author: str,
             reason: str) -> Block:
        if self.writable():
            abandoned = threading.Event()  # set when the call overran and the write is queued

            def guarded(old: str) -> str:
                # a call that lands after it was given up changes nothing: the queue has it
                return old if abandoned.is_set() else change(old)

            try:
                done = self.link.run(lambda: self.blocks.edit(label, guarded, author=author,
                                                              reason=reason))
                self._cache_one(done)
                return done
            except TeamStoreUnavailable:
                abandoned.set()
        block = self.cached().get(label)
        if block is None:
            raise BlockNotFound(f"No memory block '{label}' in the team's cached memory "
                                f"(the team store is away: {self.link.error}).")
        if block.read_only and author not in PEOPLE:
            raise BlockError(f"Memory block '{label}' is read-only: the agent cannot change it. "
                             "Ask the user to edit it.")
        new = redact(change(block.value))
        if len(new) > block.limit:
            raise BlockError(f"Memory block '{label}' would hold {len(new)} characters, over its "
                             f"limit of {block.limit}. Shorten or summarise the text.")
        if new == block.value:
            return block
        self.queue.append({"kind": "block_edit", "label": label, "base": block.value,
                           "value": new, "author": author, "reason": reason, "by": who(),
                           "description": block.description, "limit": block.limit})
        return block.model_copy(update={"value": new, "version": block.version + 1,
                                        "updated_by": author, "updated_at": utcnow()})

    def create(self, label: str, description: str, value: str, *, limit: int, read_only: bool,
               author: str, reason: str) -> Block:
        if self.writable():
            try:
                block = self.link.run(lambda: self.blocks.create(
                    label, description, value, limit=limit, read_only=read_only, author=author,
                    reason=reason))
                self._cache_one(block)
                return block
            except TeamStoreUnavailable:
                pass
        if label in self.cached():
            raise BlockError(f"A memory block '{label}' already exists; edit it instead.")
        self.queue.append({"kind": "block_create", "label": label, "value": redact(value),
                           "description": redact(description), "limit": limit,
                           "read_only": read_only, "author": author, "reason": reason,
                           "by": who()})
        return self.cached()[label]

    def update_settings(self, label: str, *, description: str | None, limit: int | None,
                        read_only: bool | None) -> Block:
        if self.writable():
            try:
                done = self.link.run(lambda: self.blocks.update_settings(
                    label, description=description, limit=limit, read_only=read_only))
                self._cache_one(done)
                return done
            except TeamStoreUnavailable:
                pass
        block = self.cached().get(label)
        if block is None:
            raise BlockNotFound(f"No memory block '{label}' in the team's cached memory.")
        wanted = {"description": redact(description) if description is not None else None,
                  "limit": limit, "read_only": read_only}
        if all(v is None or getattr(block, k) == v for k, v in wanted.items()):
            return block  # nothing to change (the mirror asks on every edited file)
        if limit is not None and limit < len(block.value):
            raise BlockError(f"Memory block '{label}' holds {len(block.value)} characters, over "
                             f"the limit of {limit} asked for.")
        self.queue.append({"kind": "block_settings", "label": label, **wanted, "by": who()})
        return self.cached()[label]

    def _cache_one(self, block: Block) -> None:
        """After a write that landed: put its block in the cache (no second round trip)."""
        try:
            raw = json.loads(self._cache_path.read_text(encoding="utf-8"))
            rows = [r for r in raw["blocks"] if r.get("label") != block.label]
        except (OSError, ValueError, KeyError, TypeError):
            rows = []
        rows.append(block.model_dump(mode="json"))
        self._write_cache(rows)
        self._cached_rows = None  # the next refresh compares against the store again

    def _write_cache(self, rows: list[dict[str, Any]]) -> None:
        data = {"uri": display_uri(self.uri), "at": utcnow().isoformat(), "blocks": rows}
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self._cache_path, json.dumps(data, ensure_ascii=False).encode())

    # -- replay -----------------------------------------------------------------------------

    def replay(self) -> int:
        """Apply queued writes in order while the store takes them; returns how many landed.
        Raises TeamStoreUnavailable when none could be tried."""
        if not self._replay_lock.acquire(blocking=False):
            return 0  # another thread is replaying: it will take what is queued
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with file_lock(self.folder / "replay.lock", timeout=120):
                landed = 0
                for entry in self.queue.entries():
                    try:
                        self.link.run(lambda e=entry: self._apply(e))  # type: ignore[misc]
                    except TeamStoreUnavailable:
                        if not landed:
                            raise
                        break
                    except CommitConflict as exc:  # busy now, not refused: stays queued
                        log.info("team replay paused: %s", exc)
                        break
                    except (LspAgentError, ValueError, KeyError) as exc:
                        why = str(exc)
                        self.queue.set_aside(entry, why)
                        log.warning("a queued team write was refused and set aside: %s", why)
                        continue
                    self.queue.remove(entry["id"])
                    landed += 1
                if landed:
                    log.info("replayed %d queued team writes", landed)
                return landed
        finally:
            self._replay_lock.release()

    def _apply(self, entry: dict[str, Any]) -> None:
        kind, label = entry["kind"], entry.get("label", "")
        when = entry.get("queued_at", "")[:19].replace("T", " ")
        note = f" (written offline by {entry.get('by', '?')} at {when} UTC, replayed)"
        if kind == "block_edit":
            base, ours = entry["base"], entry["value"]
            try:
                self.blocks.edit(label, lambda theirs: replay_onto(base, ours, theirs),
                                 author=entry["author"], reason=entry["reason"] + note)
            except BlockNotFound:
                self.blocks.create(label, entry.get("description", ""), ours,
                                   limit=max(entry.get("limit", 5000), len(ours)),
                                   author=entry["author"], reason=entry["reason"] + note)
        elif kind == "block_create":
            try:
                self.blocks.get(label)
            except BlockNotFound:
                self.blocks.create(label, entry["description"], entry["value"],
                                   limit=entry["limit"], read_only=entry["read_only"],
                                   author=entry["author"], reason=entry["reason"] + note)
                return
            value = entry["value"]
            self.blocks.edit(label, lambda theirs: replay_onto("", value, theirs),
                             author=entry["author"], reason=entry["reason"] + note)
        elif kind == "block_settings":
            self.blocks.update_settings(label, description=entry.get("description"),
                                        limit=entry.get("limit"),
                                        read_only=entry.get("read_only"))
        elif kind == "archival_insert":
            if self.archival.find_stored(entry["content"], entry["tags"]) is None:
                ArchivalMemory.insert_many(  # the store's own insert, not the queueing one
                    self.archival, [entry["content"]], entry["tags"],
                    source=entry.get("source", ""),
                    created_at=datetime.fromisoformat(entry["created_at"]),
                    ids=[entry["passage_id"]] if entry.get("passage_id") else None)
        elif kind == "anchor_save":
            from lsp_agent.memory.anchors import AnchorTable
            from lsp_agent.memory.schema import Anchor

            AnchorTable(self.store).save([Anchor(**a) for a in entry["anchors"]], redacted=True,
                                         automatic=bool(entry.get("automatic")))
        else:
            raise ValueError(f"unknown queued write kind {kind!r}")

    # -- status -----------------------------------------------------------------------------

    def status(self, probe: bool = True) -> dict[str, Any]:
        """The store (no secrets), whether it answers, and the queue."""
        if probe and self.link.available:
            try:
                self.link.run(lambda: self.store.table("blocks").count_rows())
            except TeamStoreUnavailable:
                pass
        entries = self.queue.entries()
        return {"store": display_uri(self.uri), "reachable": self.link.reachable,
                "error": str(self.link.error) if self.link.error else "",
                "queued": len(entries),
                "oldest_queued": entries[0]["queued_at"] if entries else "",
                "set_aside": len(self.queue.set_aside_entries()),
                "queue_file": str(self.queue.path)}
