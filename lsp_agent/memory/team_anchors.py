"""Code anchors in the team store: read from the last copy and queued while it is away.

Hover and code lens read anchors on every request, so a read never waits on an unreachable
store: it gets the rows last read (and the anchors queued since), at once.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import TYPE_CHECKING

from lsp_agent.memory.anchors import AnchorTable
from lsp_agent.memory.schema import Anchor
from lsp_agent.memory.team_link import TeamStoreUnavailable

if TYPE_CHECKING:
    from lsp_agent.memory.team import TeamMemory


class TeamAnchors(AnchorTable):
    def __init__(self, team: TeamMemory) -> None:
        super().__init__(team.store)
        self.team = team
        self._last: dict[str, builtins.list[Anchor]] = {}

    def _load(self) -> dict[str, builtins.list[Anchor]]:
        if self.team.link.available:
            try:
                self._last = self.team.link.run(super()._load)
                return self._with_queued(self._last)
            except TeamStoreUnavailable:
                pass
        return self._with_queued(self._last)

    def _with_queued(self, rows: dict[str, builtins.list[Anchor]]) -> dict[str, builtins.list[Anchor]]:
        queued = [Anchor(**a) for e in self.team.queue.entries() if e["kind"] == "anchor_save"
                  for a in e["anchors"]]
        if not queued:
            return rows
        ids = {a.id for a in queued}
        out = {p: [a for a in anchors if a.id not in ids] for p, anchors in rows.items()}
        for a in queued:
            out.setdefault(a.path, []).append(a)
        return out

    def save(self, anchors: Iterable[Anchor], *, redacted: bool = False,
             automatic: bool = False) -> None:
        rows = list(anchors)
        if self.team.writable():
            try:
                self.team.link.run(lambda: AnchorTable.save(self, rows, redacted=redacted,
                                                            automatic=automatic))
                return
            except TeamStoreUnavailable:
                pass
        if rows:
            from lsp_agent.memory.secrets import redact

            self.team.queue.append({"kind": "anchor_save", "anchors": [
                a.model_copy(update={"lesson": redact(a.lesson), "code": redact(a.code),
                                     "note": redact(a.note)}).model_dump(mode="json")
                for a in rows], "automatic": automatic})

    def delete_memory(self, kind: str, memory_id: str) -> None:
        self.team.link.run(lambda: AnchorTable.delete_memory(self, kind, memory_id))
