"""Archival memory in the team store: inserts queued while it is away, searches refused with
a sentence saying why (the passages are not cached locally)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lsp_agent.memory.archival import ArchivalMemory, check_passages, clean_tags
from lsp_agent.memory.schema import utcnow
from lsp_agent.memory.secrets import redact
from lsp_agent.memory.team_link import TeamStoreUnavailable, deadline

if TYPE_CHECKING:
    from lsp_agent.memory.team import TeamMemory


class TeamArchival(ArchivalMemory):
    """Archival memory in the team store; inserts are queued while it is away."""

    def __init__(self, team: TeamMemory) -> None:
        super().__init__(team.store)
        self.team = team

    def insert_many(self, contents: list[str], tags: list[str] | None = None, *,
                    source: str = "", created_at: datetime | None = None,
                    ids: list[str] | None = None) -> list[Any]:
        if self.team.writable():
            _ = self.store.embedder  # load the model here: it is no network time
            try:
                return self.team.link.run(lambda: super(TeamArchival, self).insert_many(
                    contents, tags, source=source, created_at=created_at, ids=ids),
                    timeout=3 * deadline())
            except TeamStoreUnavailable:
                pass
        from lsp_agent.memory.schema import Passage
        from lsp_agent.memory.team import who

        check_passages(contents)  # refused now, not set aside at the replay
        wanted = clean_tags(tags)
        out = []
        for content, pid in zip(contents, ids or [""] * len(contents), strict=True):
            when = created_at or utcnow()
            # its id for good: an anchor or a delete made before the replay still finds it
            entry = self.team.queue.append({
                "kind": "archival_insert", "content": redact(content), "tags": wanted,
                "source": source, "created_at": when.isoformat(), "by": who(),
                "passage_id": pid or uuid.uuid4().hex})
            out.append(Passage(id=entry["passage_id"], content=entry["content"],
                               tags=wanted, created_at=when, source=source))
        return out

    def find_stored(self, content: str, tags: list[str]) -> Any:
        return super().find(content, tags)

    def get(self, passage_id: str) -> Any:
        return self.team.link.run(lambda: super(TeamArchival, self).get(passage_id))

    def delete(self, passage_id: str) -> None:
        self.team.link.run(lambda: super(TeamArchival, self).delete(passage_id))

    def find(self, content: str, tags: list[str]) -> Any:
        """The stored (or queued) passage with this text and tags; None while the store is
        away and none is queued (an insert then queues, and replay skips duplicates)."""
        try:
            return self.team.link.run(lambda: super(TeamArchival, self).find(content, tags))
        except TeamStoreUnavailable:
            pass
        from lsp_agent.memory.schema import Passage

        wanted = clean_tags(tags)
        for e in self.team.queue.entries():
            if (e["kind"] == "archival_insert" and e["content"] == redact(content)
                    and e["tags"] == wanted):
                return Passage(id=e.get("passage_id") or f"queued-{e['id'][:12]}",
                               content=e["content"], tags=wanted,
                               created_at=datetime.fromisoformat(e["created_at"]),
                               source=e.get("source", ""))
        return None

    def all(self) -> list[Any]:
        return self.team.link.run(lambda: super(TeamArchival, self).all())

    def search(self, query: str, **kwargs: Any) -> list[Any]:  # type: ignore[override]
        return self.team.link.run(lambda: super(TeamArchival, self).search(query, **kwargs))
