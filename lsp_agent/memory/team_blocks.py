"""The agent's blocks with a team store: personal ones local, the team's routed to it."""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable
from typing import Any

from lsp_agent.memory.blocks import (
    DEFAULT_BLOCKS,
    LABEL_RE,
    BlockError,
    BlockManager,
    block_order,
)
from lsp_agent.memory.locking import file_lock
from lsp_agent.memory.mirror import STATE_FILE, Mirror, atomic_write_bytes
from lsp_agent.memory.schema import Block, BlockVersion
from lsp_agent.memory.team import TEAM_LABELS, TeamMemory


class TeamBlocks(BlockManager):
    """The agent's blocks: personal ones in the local store (inherited behaviour), the team's
    routed to TeamMemory. Callers use it exactly as a BlockManager."""

    def __init__(self, local: BlockManager, team: TeamMemory) -> None:
        super().__init__(local.store, local.shared, local.mirror)
        self.team = team
        self.notices: list[str] = []  # from connecting to the team store, for open()

    def _local_labels(self) -> set[str]:
        return {b.label for b in super().list()}

    def is_team(self, label: str) -> bool:
        return label in self.team.labels()

    def list(self) -> builtins.list[Block]:
        team = {b.label: b.model_copy(update={"scope": "team"}) for b in self.team.list_blocks()}
        local = [b for b in super().list() if b.label not in team and b.label not in TEAM_LABELS]
        return sorted(local + list(team.values()), key=lambda b: block_order(b.label))

    def history(self, label: str) -> builtins.list[BlockVersion]:
        if self.is_team(label):
            return self.team.link.run(lambda: self.team.blocks.history(label))
        return super().history(label)

    def create(self, label: str, description: str = "", value: str = "", *, limit: int = 5000,
               read_only: bool = False, scope: Any = "agent", author: str = "user",
               reason: str = "created") -> Block:
        if scope != "team" and label not in TEAM_LABELS:
            return super().create(label, description, value, limit=limit, read_only=read_only,
                                  scope=scope, author=author, reason=reason)
        if not LABEL_RE.match(label):
            raise BlockError(f"Invalid block label '{label}': use 1-64 lowercase letters, "
                             "digits, '_' or '-', starting with a letter.")
        if limit <= 0 or len(value) > limit:
            raise BlockError(f"A block limit must be positive and hold the value ({len(value)} "
                             f"characters), not {limit}.")
        if label not in TEAM_LABELS and label in self._local_labels():
            raise BlockError(f"A personal memory block '{label}' already exists; rename or "
                             "delete it before making a team block of that name.")
        block = self.team.create(label, description, value, limit=limit, read_only=read_only,
                                 author=author, reason=reason)
        return self._mirrored(block)

    def edit(self, label: str, change: Callable[[str], str], *, author: str,
             reason: str) -> Block:
        if not self.is_team(label):
            return super().edit(label, change, author=author, reason=reason)
        return self._mirrored(self.team.edit(label, change, author=author, reason=reason))

    def update_settings(self, label: str, *, description: str | None = None,
                        limit: int | None = None, read_only: bool | None = None) -> Block:
        if not self.is_team(label):
            return super().update_settings(label, description=description, limit=limit,
                                           read_only=read_only)
        return self._mirrored(self.team.update_settings(
            label, description=description, limit=limit, read_only=read_only))

    def ensure_defaults(self) -> builtins.list[Block]:
        """The personal default blocks here; the team's in the team store (TeamMemory.connect)."""
        self.repair()
        existing = self._local_labels()
        for label, description, value, limit in DEFAULT_BLOCKS:
            if label not in existing and label not in TEAM_LABELS:
                try:
                    super().create(label, description, value, limit=limit, author="system",
                                   reason="default block")
                except BlockError:
                    pass
        if self.mirror is not None and self.team.first_meeting():
            _set_aside_local_mirror(self.mirror, TEAM_LABELS)
        self.notices = self.team.connect()
        return self.list()

    def _mirrored(self, block: Block) -> Block:
        block = block.model_copy(update={"scope": "team"})
        if self.mirror:
            self.mirror.write(block)
        return block


def _set_aside_local_mirror(mirror: Mirror, labels: tuple[str, ...]) -> None:
    """Before a workspace first meets its team store: move the mirror files of the blocks that
    become the team's to `.before-team/` and forget their mirror state, so the team's values
    (with their own version numbers) are written there, and a local file is never taken in
    as an edit over the team's. The local values stay in the local store's history."""
    state_path = mirror.folder / STATE_FILE
    if not state_path.exists():
        return  # no mirror yet: nothing to set aside
    with file_lock(mirror.folder / ".mirror.lock"):
        try:
            state = json.loads(state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        aside = mirror.folder / ".before-team"
        for label in labels:
            if label in state and mirror.path(label).exists():
                aside.mkdir(exist_ok=True)
                mirror.path(label).replace(aside / mirror.path(label).name)
            state.pop(label, None)
        atomic_write_bytes(state_path, json.dumps(state, indent=1, sort_keys=True).encode())
