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
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from lsp_agent.memory import schema as S
from lsp_agent.memory.backfill import VectorBackfill
from lsp_agent.memory.query_dates import date_window
from lsp_agent.memory.reply_context import ReplyRefresher, with_reply
from lsp_agent.memory.schema import Conversation, Message, utcnow
from lsp_agent.memory.search import (
    MAINTAINER,
    FusionConfig,
    Hit,
    Mode,
    maintain,
    search_table,
    spread_to_neighbours,
)
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
RECALL_FUSION = FusionConfig(method="convex", text_weight=0.5, vector_weight=0.5, pool=60,
                             neighbour_share=0.2, neighbour_top=10)
# A query naming a date ("on 7 July, 2023", "in March 2024", "yesterday") is also searched
# among the messages of that time (query_dates.date_window); those hits add this share of
# their score within the window (LoCoMo: docs/benchmarks.md).
DATE_FOCUS_WEIGHT = 0.3
DATE_FOCUS_AFTER_DAYS = 10
# full-text indexes of the messages table besides `search_text` (e.g. "content", the raw message,
# fused through RECALL_FUSION.extra_text): none, a raw-text column did not help (docs/benchmarks.md)
EXTRA_TEXT_COLUMNS: tuple[str, ...] = ()
_COLUMNS = ["id", "conversation_id", "seq", "role", "content", "name", "created_at", "tool_calls"]
_ROW_COLUMNS = [*_COLUMNS, "prev_id"]
_LEAN_COLUMNS = ["id", "prev_id"]  # what fusion and the neighbour share need of a hit
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

    def update_conversation(self, conv: Conversation) -> None:
        conv = conv.model_copy(update={"title": redact(conv.title),
                                       "summary": redact(conv.summary)})
        self.store.table("conversations").merge_insert("id").when_matched_update_all() \
            .when_not_matched_insert_all().execute(
                pa.Table.from_pylist([conv.model_dump()], schema=S.CONVERSATIONS))

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
            self.update_conversation(new.model_copy(update={
                "summary": source.summary, "summarized_until": source.summarized_until}))
        return self.conversation(new.id)

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
                if not m.content or m.role == "tool":
                    continue
                prev = self._last.get(m.conversation_id)
                if prev is not None:
                    new = with_reply(prev[1], f"{_speaker(m)}: {m.content}")
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
            line = f"{_speaker(msg)}: {msg.content}" if ix.with_speaker else msg.content
            recent.append(f"{_speaker(msg)}: {msg.content}"[: ix.previous_chars])
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
        lines = [f"{r['name'] or r['role']}: {r['content']}"[: self.indexing.previous_chars]
                 for r in rows[-n:]] if n > 0 else []
        chain = [r for r in rows if r["content"] and r["role"] != "tool"]
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
        where = build_filter(roles=roles, conversation_id=conversation_id, start=start, end=end)
        vector = self.store.embed_query(query) if mode != "text" else None
        fusion = RECALL_FUSION
        if mode == "hybrid" and vector is None:
            mode = "text"  # no embedder: hybrid is the full-text search, as documented
        expand = mode == "hybrid" and fusion.neighbour_share > 0
        tbl = self.store.table("messages")
        pool = max(fusion.pool, limit * 2)

        def focus(found: list[Hit], columns: list[str]) -> list[Hit]:
            if mode != "hybrid" or DATE_FOCUS_WEIGHT <= 0:
                return found
            return self._date_focus(query, vector, found, columns=columns, roles=roles,
                                    conversation_id=conversation_id, start=start, end=end,
                                    pool=pool)

        if not expand:
            hits = search_table(tbl, query, vector, mode=mode, where=where,
                                limit=2 * pool if mode == "hybrid" else limit, pool=pool,
                                fusion=fusion, columns=_COLUMNS)
            return focus(hits, _COLUMNS)[:limit]
        # fuse on lean rows (id, prev_id); read full rows only for what can be returned
        hits = search_table(tbl, query, vector, mode=mode, where=where, limit=2 * pool,
                            pool=pool, fusion=fusion, columns=_LEAN_COLUMNS)
        hits = focus(hits, _LEAN_COLUMNS)
        if not hits:
            return hits
        top = hits[: fusion.neighbour_top]
        rows = self._rows_for(hits[:limit], top, where)
        hits = spread_to_neighbours(hits, _neighbours(top, rows), fusion.neighbour_share,
                                    top=fusion.neighbour_top)[:limit]
        for hit in hits:
            full = rows.get(hit.id)
            if full is not None and full is not hit.row:
                hit.row = {**full, **hit.row}  # keeps the retrievers' _score / _distance
        return hits

    def _date_focus(
        self, query: str, vector: list[float] | None, hits: list[Hit], *, pool: int,
        roles: list[str] | None, conversation_id: str | None, start: datetime | None,
        end: datetime | None, columns: list[str],
    ) -> list[Hit]:
        """When the query names a date, search again among the messages of that time and add
        DATE_FOCUS_WEIGHT x each such hit's score: the right day's messages rise, and ones
        too far down the whole-store lists join. Returns the hits re-sorted."""
        window = date_window(query, after_days=DATE_FOCUS_AFTER_DAYS)
        if window is None:
            return hits
        lo = max(window.start, start) if start else window.start
        hi = min(window.end, end) if end else window.end
        if lo >= hi:
            return hits
        where = build_filter(roles=roles, conversation_id=conversation_id, start=lo, end=hi)
        focused = search_table(self.store.table("messages"), query, vector, mode="hybrid",
                               where=where, limit=2 * pool, pool=pool, fusion=RECALL_FUSION,
                               columns=columns)
        by_id = {h.id: h for h in hits}
        for hit in focused:
            target = by_id.get(hit.id)
            if target is None:
                target = by_id[hit.id] = Hit(row=hit.row, score=0.0, text_rank=None,
                                             vector_rank=None)
            target.extra["date_focus_score"] = DATE_FOCUS_WEIGHT * hit.score
            target.score += DATE_FOCUS_WEIGHT * hit.score
        return sorted(by_id.values(), key=lambda h: -h.score)

    def _rows_for(self, best: list[Hit], top: list[Hit],
                  where: str | None) -> dict[str, dict[str, Any]]:
        """Full rows (that pass `where`) of every message a search can return: the `best`
        fused hits, and the messages just before and after each of the `top` hits.

        The neighbour share only raises scores, so a hit outside the fused best `limit` can
        only end up among the results as someone's neighbour: one query reads them all.
        """
        ids = {h.id for h in best} | {str(h.row.get("prev_id") or "") for h in top}
        ids.discard("")
        cond = (f"id IN ({','.join(sql_str(i) for i in sorted(ids))}) OR "
                f"prev_id IN ({','.join(sql_str(h.id) for h in top)})")
        if where:
            cond = f"({cond}) AND ({where})"
        got = (self.store.table("messages").search().where(cond).select(_ROW_COLUMNS)
               .limit(len(ids) + 4 * len(top) + 16).to_list())
        return {str(r["id"]): r for r in got}


def _neighbours(top: list[Hit], rows: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """For each hit of `top`, the rows of `rows` just before (its prev_id) and after it (rows
    whose prev_id is the hit): messages outside the search's filter are not in `rows`."""
    after: dict[str, list[dict[str, Any]]] = {}
    for row in rows.values():
        if row.get("prev_id"):
            after.setdefault(str(row["prev_id"]), []).append(row)
    out: dict[str, list[dict[str, Any]]] = {}
    for hit in top:
        prev = rows.get(str(hit.row.get("prev_id") or ""))
        out[hit.id] = ([prev] if prev is not None else []) + after.get(hit.id, [])
    return out


def _embed_text(msg: Message, before: list[str] | None = None, style: str = "reported") -> str:
    if not msg.content:
        text = _speaker(msg)
    elif style == "reported":
        text = f'{_speaker(msg)} said, "{msg.content}"'
    else:
        text = f"{_speaker(msg)}: {msg.content}"
    if before:
        text = "\n".join([*before, text])
    return text[-2000:] if before else text[:2000]


def _ts_literal(value: datetime) -> str:
    """A UTC timestamp literal for LanceDB filters (naive datetimes are taken as UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return f"arrow_cast('{value.isoformat(sep=' ')}', 'Timestamp(Microsecond, Some(\"UTC\"))')"


def build_filter(
    *, roles: list[str] | None = None, conversation_id: str | None = None,
    start: datetime | None = None, end: datetime | None = None, column: str = "created_at",
) -> str | None:
    parts = []
    if roles:
        parts.append("role IN (" + ",".join(sql_str(r) for r in roles) + ")")
    if conversation_id:
        parts.append(f"conversation_id = {sql_str(conversation_id)}")
    if start is not None:
        parts.append(f"{column} >= {_ts_literal(start)}")
    if end is not None:
        parts.append(f"{column} <= {_ts_literal(end)}")
    return " AND ".join(parts) or None
