"""Table schemas of an agent's store, and the pydantic records read from them.

Bump SCHEMA_VERSION with a migration in `migrations.py` whenever a table of memories changes
shape. Tables derived from the workspace or from other rows (the code index, the embedding
cache: `store.REBUILDABLE`) need no migration: the store drops them and they are built anew
when their columns or vector width are not the ones below.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, Field

SCHEMA_VERSION = 3
DEFAULT_DIM = 384

Author = Literal["user", "agent", "reflection", "mirror", "system", "init"]
Scope = Literal["agent", "shared"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts() -> pa.DataType:
    return pa.timestamp("us", tz="UTC")


META = pa.schema([("key", pa.string()), ("value", pa.string())])

BLOCKS = pa.schema(
    [
        ("label", pa.string()),
        ("description", pa.string()),
        ("value", pa.string()),
        ("limit", pa.int64()),
        ("read_only", pa.bool_()),
        ("scope", pa.string()),
        ("version", pa.int64()),
        ("updated_at", _ts()),
        ("updated_by", pa.string()),
    ]
)

BLOCK_VERSIONS = pa.schema(
    [
        ("label", pa.string()),
        ("version", pa.int64()),
        ("author", pa.string()),
        ("timestamp", _ts()),
        ("reason", pa.string()),
        ("old_value", pa.string()),
        ("new_value", pa.string()),
        # schema version 3: who made the edit, and the id its claim of the version carries
        # (memory/commits.py: of two rows of one (label, version), the first committed wins)
        ("user", pa.string()),
        ("machine", pa.string()),
        ("edit_id", pa.string()),
    ]
)

#: columns added to tables by migrations: an older store lacks them until it is migrated
ADDED_BY_MIGRATION: dict[str, frozenset[str]] = {
    "messages": frozenset({"prev_id"}),
    "block_versions": frozenset({"user", "machine", "edit_id"}),
}

CONVERSATIONS = pa.schema(
    [
        ("id", pa.string()),
        ("title", pa.string()),
        ("created_at", _ts()),
        ("parent_id", pa.string()),
        ("summary", pa.string()),
        ("summarized_until", pa.int64()),  # seq of the last message folded into the summary
    ]
)


def messages_schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            ("id", pa.string()),
            ("conversation_id", pa.string()),
            ("seq", pa.int64()),
            ("role", pa.string()),
            ("content", pa.string()),
            ("tool_calls", pa.string()),  # JSON list, "" when none
            ("tool_call_id", pa.string()),
            ("name", pa.string()),
            ("created_at", _ts()),
            ("search_text", pa.string()),
            ("vector", pa.list_(pa.float32(), dim)),
            ("embedder", pa.string()),
            # id of the message before this one in its conversation ("" for the first): a hit's
            # neighbours are found by id, without scanning its conversation (schema version 2)
            ("prev_id", pa.string()),
        ]
    )


def archival_schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            ("id", pa.string()),
            ("content", pa.string()),
            ("tags", pa.list_(pa.string())),
            ("created_at", _ts()),
            ("source", pa.string()),
            ("search_text", pa.string()),
            ("vector", pa.list_(pa.float32(), dim)),
            ("embedder", pa.string()),
        ]
    )


def code_chunks_schema(dim: int) -> pa.Schema:
    """The code index: one row per chunk of a workspace file (learning/code_index.py)."""
    return pa.schema(
        [
            ("id", pa.string()),
            ("path", pa.string()),  # workspace-relative, POSIX
            ("start_line", pa.int32()),  # 1-based, inclusive
            ("end_line", pa.int32()),
            ("kind", pa.string()),
            ("symbol", pa.string()),
            ("language", pa.string()),
            ("category", pa.string()),  # code, test, docs, config (what the file is for)
            ("context", pa.string()),  # the enclosing signatures of a piece of a definition
            ("text", pa.string()),
            ("search_text", pa.string()),
            ("file_hash", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), dim), nullable=True),
            ("embedder", pa.string()),  # "" until embedded
        ]
    )


# The files the code index has read: how it notices changed files without reading them.
CODE_FILES = pa.schema(
    [("path", pa.string()), ("hash", pa.string()), ("size", pa.int64()),
     ("mtime", pa.int64()), ("chunks", pa.int32())]
)


# Anchors: where in the code a memory is about, and the code it was about when written.
ANCHORS = pa.schema(
    [("id", pa.string()), ("memory_kind", pa.string()), ("memory_id", pa.string()),
     ("lesson", pa.string()), ("path", pa.string()), ("symbol", pa.string()),
     ("whole_symbol", pa.bool_()), ("start_line", pa.int32()), ("end_line", pa.int32()),
     ("code", pa.string()), ("code_hash", pa.string()), ("state", pa.string()),
     ("note", pa.string()), ("author", pa.string()), ("created_at", _ts()),
     ("updated_at", _ts())]
)


class Anchor(BaseModel):
    """A memory's place in the code. `state`: ok (the code is as it was, or nearly), changed
    (the code changed beyond the threshold), lost (not found), forgotten (the user dropped it;
    kept so it can be restored). Lines are 0-based and inclusive; `path` is workspace-relative."""

    id: str
    memory_kind: str  # archival | block
    memory_id: str
    lesson: str
    path: str
    symbol: str = ""
    whole_symbol: bool = False
    start_line: int = 0
    end_line: int = 0
    code: str = ""
    code_hash: str = ""
    state: str = "ok"
    note: str = ""
    author: str = "user"
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


def embedding_cache_schema(dim: int) -> pa.Schema:
    return pa.schema([("key", pa.string()), ("vector", pa.list_(pa.float32(), dim))])


class Block(BaseModel):
    label: str
    description: str = ""
    value: str = ""
    limit: int = 5000
    read_only: bool = False
    scope: Scope = "agent"
    version: int = 0
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str = "system"

    @property
    def chars(self) -> int:
        return len(self.value)

    def public(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["chars"] = self.chars
        return data


class BlockVersion(BaseModel):
    label: str
    version: int
    author: str
    timestamp: datetime
    reason: str
    old_value: str
    new_value: str
    user: str | None = ""  # "" in rows written before schema version 3
    machine: str | None = ""
    edit_id: str | None = ""

    @property
    def by(self) -> str:
        """user@machine, or the author for rows from before attribution."""
        return f"{self.user}@{self.machine}" if self.user else self.author

    def public(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "author": self.author,
            "user": self.user or "",
            "machine": self.machine or "",
            "timestamp": self.timestamp.isoformat(),
            "reason": self.reason,
            "old": self.old_value,
            "new": self.new_value,
        }


class Message(BaseModel):
    id: str
    conversation_id: str
    seq: int
    role: str
    content: str = ""
    tool_calls: str = ""
    tool_call_id: str = ""
    name: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    prev_id: str = ""  # the message before this one in its conversation


class Conversation(BaseModel):
    id: str
    title: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    parent_id: str = ""
    summary: str = ""
    summarized_until: int = -1


class Passage(BaseModel):
    id: str
    content: str
    tags: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    source: str = ""
