"""Archival memory: long-term passages the agent inserts and searches, with tags and dates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import pyarrow as pa

from lsp_agent.memory.index_upkeep import MAINTAINER
from lsp_agent.memory.message_search import build_filter
from lsp_agent.memory.schema import Passage, utcnow
from lsp_agent.memory.search import FusionConfig, Hit, Mode, search_table
from lsp_agent.memory.secrets import redact
from lsp_agent.memory.store import MemoryStore, sql_str

ARCHIVAL_FUSION = FusionConfig(rrf_k=10.0, text_weight=1.0, vector_weight=1.0, pool=50)
MAX_PASSAGE_CHARS = 20_000


class ArchivalMemory:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def insert(
        self, content: str, tags: list[str] | None = None, *, source: str = "",
        created_at: datetime | None = None,
    ) -> Passage:
        return self.insert_many([content], tags, source=source, created_at=created_at)[0]

    def insert_many(
        self, contents: list[str], tags: list[str] | None = None, *, source: str = "",
        created_at: datetime | None = None, ids: list[str] | None = None,
    ) -> list[Passage]:
        """Store passages (`ids`: ones given out already, by an insert queued offline)."""
        check_passages(contents)
        tagged = clean_tags(tags)
        passages = [
            Passage(id=pid or uuid.uuid4().hex, content=redact(c), tags=tagged,
                    created_at=created_at or utcnow(), source=source)
            for c, pid in zip(contents, ids or [""] * len(contents), strict=True)
        ]
        texts = [_search_text(p) for p in passages]
        vectors = self.store.embed_documents([p.content[:2000] for p in passages])
        rows = []
        for p, text, vec in zip(passages, texts, vectors, strict=True):
            row = p.model_dump()
            row.update(search_text=text, vector=vec,
                       embedder=self.store.embedder_name if vec is not None else "")
            rows.append(row)
        tbl = self.store.table("archival")
        tbl.add(pa.Table.from_pylist(rows, schema=tbl.schema))
        MAINTAINER.note_writes(tbl, len(rows))
        return passages

    def get(self, passage_id: str) -> Passage:
        rows = (self.store.table("archival").search().where(f"id = {sql_str(passage_id)}")
                .select(["id", "content", "tags", "created_at", "source"]).limit(1).to_list())
        if not rows:
            raise KeyError(f"No archival passage '{passage_id}'.")
        return Passage(**rows[0])

    def delete(self, passage_id: str) -> None:
        self.get(passage_id)
        self.store.table("archival").delete(f"id = {sql_str(passage_id)}")

    def find(self, content: str, tags: list[str]) -> Passage | None:
        """The stored passage with exactly this text and these tags, if any (no duplicates)."""
        wanted = clean_tags(tags)
        rows = (self.store.table("archival").search()
                .where(f"content = {sql_str(redact(content))}")
                .select(["id", "content", "tags", "created_at", "source"]).limit(50).to_list())
        return next((Passage(**r) for r in rows if sorted(r["tags"] or []) == wanted), None)

    def all(self) -> list[Passage]:
        rows = (self.store.table("archival").search()
                .select(["id", "content", "tags", "created_at", "source"]).limit(10_000_000)
                .to_list())
        return sorted((Passage(**r) for r in rows), key=lambda p: p.created_at)

    def search(
        self, query: str, *, tags: list[str] | None = None,
        tag_match: Literal["any", "all"] = "any", start: datetime | None = None,
        end: datetime | None = None, top_k: int = 10, mode: Mode = "hybrid",
    ) -> list[Hit]:
        where = build_filter(start=start, end=end)
        if tags:
            fn = "array_has_all" if tag_match == "all" else "array_has_any"
            tag_list = ", ".join(sql_str(t.strip().lower()) for t in tags)
            clause = f"{fn}(tags, [{tag_list}])"
            where = f"{where} AND {clause}" if where else clause
        vector = self.store.embed_query(query) if mode != "text" else None
        cols = ["id", "content", "tags", "created_at", "source"]
        return search_table(self.store.table("archival"), query, vector, mode=mode, where=where,
                            limit=top_k, fusion=ARCHIVAL_FUSION, columns=cols)


def check_passages(contents: list[str]) -> None:
    """Refuse the whole insert, before anything is written, if one passage cannot be kept."""
    for content in contents:
        if not content.strip():
            raise ValueError("An archival passage needs some text.")
        if len(content) > MAX_PASSAGE_CHARS:
            raise ValueError(
                f"An archival passage holds at most {MAX_PASSAGE_CHARS} characters "
                f"(got {len(content)}); split it into smaller passages."
            )


def clean_tags(tags: list[str] | None) -> list[str]:
    """Tags as stored: trimmed, lower case, no blanks or repeats, sorted."""
    return sorted({t.strip().lower() for t in tags or [] if t.strip()})


def _search_text(p: Passage) -> str:
    tags = (" [tags: " + ", ".join(p.tags) + "]") if p.tags else ""
    return f"{p.content}{tags}"
