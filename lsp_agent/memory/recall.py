"""Recall memory: every message of every conversation, durable and searchable.

Each message is indexed with its context (its date, its speaker, and the messages just before
it), because a reply like "yes, the blue one" means nothing alone; the stored `content` stays
exactly what was said.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from lsp_agent.memory import schema as S
from lsp_agent.memory.backfill import VectorBackfill
from lsp_agent.memory.commits import retrying
from lsp_agent.memory.index_upkeep import MAINTAINER, maintain
from lsp_agent.memory.message_search import search_messages
from lsp_agent.memory.reply_context import ReplyRefresher, with_reply
from lsp_agent.memory.schema import Conversation, Message, utcnow
from lsp_agent.memory.search import Hit, Mode
from lsp_agent.memory.secrets import redact
from lsp_agent.memory.store import MemoryStore, sql_str


@dataclass(frozen=True)
class ContextIndexing:
    """How much context goes into a message's search text (tuned on LoCoMo)."""

    previous: int = 2
    previous_chars: int = 300
    with_date: bool = True
    with_speaker: bool = True
    previous_with_speaker: bool = True
    embed_previous: int = 0  # previous messages put before the message in the embedded text
    # the embedded text reports the message in the third person ('Ann said, "..."'), the way
    # questions about past conversations are asked; "plain" embeds 'Ann: ...'
    embed_style: str = "reported"


DEFAULT_INDEXING = ContextIndexing()
# full-text indexes of the messages table besides `search_text` (e.g. "content", the raw message,
# fused through RECALL_FUSION.extra_text): none, a raw-text column did not help (docs/benchmarks.md)
EXTRA_TEXT_COLUMNS: tuple[str, ...] = ()
SEARCHABLE_ROLES = ("user", "assistant", "tool", "system", "summary")
_seq_lock = threading.Lock()
_last_seq = 0


def next_seq() -> int:
    """A per-process increasing sequence that also orders messages across processes by time."""
    global _last_seq
    with _seq_lock:
        now = time.time_ns() // 1000
        _last_seq = max(now, _last_seq + 1)
        return _last_seq


def _speaker(msg: Message) -> str:
    return msg.name or msg.role


def _said(name: str, role: str, content: str) -> str:
    """A message as one line of context: 'speaker: content' (the speaker is its name or role)."""
    return f"{name or role}: {content}"


def _takes_part_in_replies(role: str, content: str) -> bool:
    """Whether a message answers its predecessor and can be answered (see _add_replies):
    the reply to a question is the answer after the agent's tool calls, not the calls."""
    return bool(content) and role != "tool"


class RecallMemory:
    def __init__(self, store: MemoryStore, indexing: ContextIndexing | None = None) -> None:
        self.store = store
        self.indexing = indexing or DEFAULT_INDEXING
        self._recent: dict[str, deque[str]] = {}
        # conversation -> id of its newest message (the next one's prev_id). Per process, like
        # `_recent`: if two processes append to the same conversation at once, two messages can
        # get the same prev_id, and both then count as the message after it.
        self._last_id: dict[str, str] = {}
        self._lock = threading.Lock()
        self._backfill: VectorBackfill | None = None
        self._replies: ReplyRefresher | None = None
        # conversation id -> (id, search text) of its last message written or read here
        self._last: dict[str, tuple[str, str] | None] = {}

    # -- conversations ----------------------------------------------------------------------

    def new_conversation(self, title: str = "", parent_id: str = "") -> Conversation:
        conv = Conversation(id=uuid.uuid4().hex[:12], title=redact(title or "New conversation"),
                            parent_id=parent_id)
        self.store.table("conversations").add(
            pa.Table.from_pylist([conv.model_dump()], schema=S.CONVERSATIONS)
        )
        return conv

    def conversations(self) -> list[Conversation]:
        rows = self.store.table("conversations").search().limit(100_000).to_list()
        return sorted((Conversation(**r) for r in rows), key=lambda c: c.created_at)

    def conversation(self, conv_id: str) -> Conversation:
        rows = (self.store.table("conversations").search()
                .where(f"id = {sql_str(conv_id)}").limit(1).to_list())
        if not rows:
            known = ", ".join(c.id for c in self.conversations()[-10:]) or "none"
            raise KeyError(f"No conversation '{conv_id}'. Recent conversations: {known}.")
        return Conversation(**rows[0])

    def update_conversation(self, conv_id: str, **fields: str | int) -> None:
        """Change only these fields of a conversation: a rename made while a turn summarises
        it (a model call of many seconds) keeps both, from any process or machine."""
        values = {k: redact(v) if isinstance(v, str) else v for k, v in fields.items()}
        retrying(lambda: self.store.table("conversations").update(
            where=f"id = {sql_str(conv_id)}", values=values), "save the conversation")

    def fork(self, conv_id: str, title: str = "") -> Conversation:
        """A new conversation starting with a copy of `conv_id`'s messages (and its summary)."""
        source = self.conversation(conv_id)
        new = self.new_conversation(title or f"Fork of {source.title}", parent_id=conv_id)
        msgs = self.messages(conv_id)
        new_ids = {m.id: uuid.uuid4().hex for m in msgs}
        copies = [m.model_copy(update={"id": new_ids[m.id], "conversation_id": new.id,
                                       "prev_id": new_ids.get(m.prev_id, "")})
                  for m in msgs]
        if copies:
            self._write(copies, keep_prev=True)
        if source.summary:
            self.update_conversation(new.id, summary=source.summary,
                                     summarized_until=source.summarized_until)
        return self.conversation(new.id)

    def delete_conversation(self, conv_id: str) -> None:
        """Forget a conversation and its messages (they leave recall search too)."""
        where = f"conversation_id = {sql_str(conv_id)}"
        self.store.table("messages").delete(where)
        self.store.table("conversations").delete(f"id = {sql_str(conv_id)}")

    def page(self, conv_id: str, *, before: int | None = None,
             limit: int = 50) -> tuple[list[Message], bool]:
        """The `limit` messages just before seq `before` (default: the newest), oldest first,
        and whether older ones remain. Reads only the seqs of the rest of the conversation."""
        where = f"conversation_id = {sql_str(conv_id)}"
        if before is not None:
            where += f" AND seq < {int(before)}"
        table = self.store.table("messages")
        seqs = sorted(table.search().where(where).select(["seq"]).limit(10_000_000)
                      .to_arrow()["seq"].to_pylist())
        if not seqs:
            return [], False
        window = seqs[-limit:]
        cols = ["id", "conversation_id", "seq", "role", "content", "tool_calls", "tool_call_id",
                "name", "created_at", "prev_id"]
        rows = (table.search().where(f"{where} AND seq >= {int(window[0])}").select(cols)
                .limit(len(window) + 1).to_list())
        return sorted((Message(**r) for r in rows), key=lambda m: m.seq), len(seqs) > limit

    def message_counts(self) -> dict[str, int]:
        return {cid: n for cid, (n, _last) in self.message_stats().items()}

    def message_stats(self) -> dict[str, tuple[int, datetime]]:
        """conversation id -> (number of messages, time of the newest)."""
        tbl = self.store.table("messages")
        if tbl.count_rows() == 0:
            return {}
        data = (tbl.search().select(["conversation_id", "created_at"]).limit(10_000_000)
                .to_arrow())
        stats: dict[str, tuple[int, datetime]] = {}
        for cid, when in zip(data["conversation_id"].to_pylist(),
                             data["created_at"].to_pylist(), strict=True):
            n, last = stats.get(cid, (0, when))
            stats[cid] = (n + 1, max(last, when))
        return stats

    # -- messages ---------------------------------------------------------------------------

    def append(
        self, conversation_id: str, role: str, content: str = "", *,
        tool_calls: list[dict[str, Any]] | None = None, tool_call_id: str = "", name: str = "",
        created_at: datetime | None = None, defer_vectors: bool = False,
    ) -> Message:
        msg = Message(
            id=uuid.uuid4().hex, conversation_id=conversation_id, seq=next_seq(), role=role,
            content=redact(content or ""),
            tool_calls=redact(json.dumps(tool_calls, ensure_ascii=False)) if tool_calls else "",
            tool_call_id=tool_call_id, name=name, created_at=created_at or utcnow(),
        )
        self._write([msg], defer_vectors=defer_vectors)
        return msg

    def append_many(self, messages: list[dict[str, Any]], *,
                    defer_vectors: bool = False) -> list[Message]:
        """Append several messages in one durable write (dicts with append()'s arguments).

        `defer_vectors`: return once the rows are stored; their vectors follow in the background
        (full-text search finds them meanwhile). The agent loop uses it to keep steps fast.
        """
        msgs = []
        for m in messages:
            calls = m.get("tool_calls")
            msgs.append(Message(
                id=uuid.uuid4().hex, conversation_id=m["conversation_id"], seq=next_seq(),
                role=m["role"], content=redact(m.get("content") or ""),
                tool_calls=redact(json.dumps(calls, ensure_ascii=False)) if calls else "",
                tool_call_id=m.get("tool_call_id", ""), name=m.get("name", ""),
                created_at=m.get("created_at") or utcnow(),
            ))
        self._write(msgs, defer_vectors=defer_vectors)
        return msgs

    @property
    def backfill(self) -> VectorBackfill:
        if self._backfill is None:
            self._backfill = VectorBackfill(self.store, "messages")
        return self._backfill

    @property
    def replies(self) -> ReplyRefresher:
        if self._replies is None:
            self._replies = ReplyRefresher(self.store, "messages")
        return self._replies

    def _write(self, msgs: list[Message], defer_vectors: bool = False,
               keep_prev: bool = False) -> None:
        """Store `msgs` (each gets its `prev_id` unless `keep_prev`: a fork's copies)."""
        texts, embed_texts = [], []
        for m in msgs:
            text, before = self._search_text(m, keep_prev=keep_prev)
            texts.append(text)
            embed_texts.append(_embed_text(m, before[-self.indexing.embed_previous:]
                                           if self.indexing.embed_previous else [],
                                           style=self.indexing.embed_style))
        refresh = self._add_replies(msgs, texts)
        if defer_vectors:
            vectors: list[list[float] | None] = [None] * len(msgs)
        else:
            vectors = self.store.embed_documents(embed_texts)
        name = self.store.embedder_name
        rows = []
        for m, text, vec in zip(msgs, texts, vectors, strict=True):
            row = m.model_dump()
            row.update(search_text=text, vector=vec, embedder=name if vec is not None else "")
            rows.append(row)
        tbl = self.store.table("messages")
        tbl.add(pa.Table.from_pylist(rows, schema=tbl.schema))
        MAINTAINER.note_writes(tbl, len(rows), extra_columns=EXTRA_TEXT_COLUMNS)
        if defer_vectors and self.store.embedder is not None:
            self.backfill.submit([(m.id, t) for m, t in zip(msgs, embed_texts, strict=True)])
        self.replies.submit(refresh)

    def _add_replies(self, msgs: list[Message], texts: list[str]) -> dict[str, str]:
        """Give each message's predecessor this message as its reply (reply_context.py):
        in `texts` when both are in this batch; returned (id -> new search text) for one
        already stored. Only messages with text that are not tool results take part: the
        reply to a question is the answer after the agent's tool calls."""
        refresh: dict[str, str] = {}
        position: dict[str, int] = {}
        with self._lock:
            for i, m in enumerate(msgs):
                if not _takes_part_in_replies(m.role, m.content):
                    continue
                prev = self._last.get(m.conversation_id)
                if prev is not None:
                    new = with_reply(prev[1], _said(m.name, m.role, m.content))
                    if prev[0] in position:
                        texts[position[prev[0]]] = new
                    else:
                        refresh[prev[0]] = new
                position[m.id] = i
                self._last[m.conversation_id] = (m.id, texts[i])
        return refresh

    def resume_vectors(self) -> int:
        """Queue messages left without vectors (by a crash, or written while deferred)."""
        def text_of(row: dict[str, Any]) -> str:
            return _embed_text(Message(**{k: row[k] for k in Message.model_fields if k in row}))

        return self.backfill.resume(text_of)

    def optimize(self) -> None:
        """Fold every written message into the search indexes now (upkeep does it over time)."""
        maintain(self.store.table("messages"), "search_text", EXTRA_TEXT_COLUMNS)

    def _search_text(self, msg: Message, keep_prev: bool = False) -> tuple[str, list[str]]:
        """The message's full-text search text, and the previous messages' lines it used.

        Also sets `msg.prev_id` to the conversation's newest message so far (unless
        `keep_prev`), and makes `msg` the newest.
        """
        ix = self.indexing
        keep = max(ix.previous, ix.embed_previous, 1)
        with self._lock:
            recent = self._recent.get(msg.conversation_id)
            if recent is None:
                lines, last, last_id = self._load_recent(msg.conversation_id, keep)
                recent = deque(lines, maxlen=keep)
                self._recent[msg.conversation_id] = recent
                self._last[msg.conversation_id] = last
                self._last_id[msg.conversation_id] = last_id
            if not keep_prev:
                msg.prev_id = self._last_id[msg.conversation_id]
            self._last_id[msg.conversation_id] = msg.id
            earlier = list(recent)
            said = _said(msg.name, msg.role, msg.content)
            line = said if ix.with_speaker else msg.content
            recent.append(said[: ix.previous_chars])
        before = [b if ix.previous_with_speaker else b.split(": ", 1)[-1]
                  for b in (earlier[-ix.previous:] if ix.previous else [])]
        parts = []
        if ix.with_date:
            parts.append(msg.created_at.strftime("%d %B %Y"))
        parts.append(line)
        if msg.tool_calls:
            parts.append(msg.tool_calls)
        if before:
            parts.append("(after: " + " / ".join(before) + ")")
        return "\n".join(parts), earlier

    def _load_recent(
        self, conv_id: str, n: int,
    ) -> tuple[list[str], tuple[str, str] | None, str]:
        """What a process that did not write a conversation needs to go on with it: the
        lines of its last `n` messages, the (id, search text) of its last message that can
        take a reply (see _add_replies), and the id of its last message."""
        rows = (self.store.table("messages").search()
                .where(f"conversation_id = {sql_str(conv_id)}")
                .select(["id", "seq", "role", "name", "content", "search_text"])
                .limit(10_000_000).to_list())
        rows.sort(key=lambda r: r["seq"])
        lines = [_said(r["name"], r["role"], r["content"])[: self.indexing.previous_chars]
                 for r in rows[-n:]] if n > 0 else []
        chain = [r for r in rows if _takes_part_in_replies(r["role"], r["content"])]
        last = (chain[-1]["id"], chain[-1]["search_text"] or "") if chain else None
        return lines, last, rows[-1]["id"] if rows else ""

    def messages(self, conversation_id: str, *, after_seq: int | None = None) -> list[Message]:
        where = f"conversation_id = {sql_str(conversation_id)}"
        if after_seq is not None:
            where += f" AND seq > {int(after_seq)}"
        cols = ["id", "conversation_id", "seq", "role", "content", "tool_calls", "tool_call_id",
                "name", "created_at", "prev_id"]
        rows = (self.store.table("messages").search().where(where).select(cols)
                .limit(10_000_000).to_list())
        return sorted((Message(**r) for r in rows), key=lambda m: m.seq)

    def search(
        self, query: str, *, mode: Mode = "hybrid", roles: list[str] | None = None,
        conversation_id: str | None = None, start: datetime | None = None,
        end: datetime | None = None, limit: int = 10,
    ) -> list[Hit]:
        """Messages matching `query` (message_search.py: fusion, date focus, neighbours)."""
        return search_messages(self.store, query, mode=mode, roles=roles,
                               conversation_id=conversation_id, start=start, end=end,
                               limit=limit)


def _embed_text(msg: Message, before: list[str] | None = None, style: str = "reported") -> str:
    if not msg.content:
        text = _speaker(msg)
    elif style == "reported":
        text = f'{_speaker(msg)} said, "{msg.content}"'
    else:
        text = _said(msg.name, msg.role, msg.content)
    if before:
        text = "\n".join([*before, text])
    return text[-2000:] if before else text[:2000]
