"""Ranking pieces of memory search: dates named in queries, convex fusion, the date focus."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lsp_agent.memory.query_dates import date_window
from lsp_agent.memory.search import FusionConfig, fuse


def _d(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


@pytest.mark.parametrize(("query", "start", "end"), [
    ("What did Maria do on 7 July, 2023?", _d(2023, 7, 7), _d(2023, 7, 18)),
    ("what happened on July 7th 2023", _d(2023, 7, 7), _d(2023, 7, 18)),
    ("the deploy of 2024-02-29 broke", _d(2024, 2, 29), _d(2024, 3, 11)),
    ("What did we decide in March 2024?", _d(2024, 3, 1), _d(2024, 4, 11)),
    ("notes from sept. 2022", _d(2022, 9, 1), _d(2022, 10, 11)),
])
def test_date_window_for_named_dates(query: str, start: datetime, end: datetime) -> None:
    w = date_window(query, after_days=10)
    assert w is not None and (w.start, w.end) == (start, end)


def test_date_window_relative_words_count_from_now() -> None:
    now = datetime(2026, 11, 21, 15, 30, tzinfo=UTC)  # a Saturday
    w = date_window("what did I say yesterday about caching", now=now)
    assert w is not None and (w.start, w.end) == (_d(2026, 11, 20), now)
    w = date_window("the bug from last week", now=now)
    assert w is not None and w.start == _d(2026, 11, 9)
    w = date_window("3 days ago we renamed it", now=now)
    assert w is not None and w.start == _d(2026, 11, 17)
    w = date_window("plans from last month", now=now)
    assert w is not None and w.start == _d(2026, 10, 1)


@pytest.mark.parametrize("query", [
    "you may want 2023 numbers",  # "may" the verb, not the month (no day)
    "version 31 of the schema",
    "February 30, 2023 is not a day",
    "how do I configure the linter",
])
def test_date_window_ignores_non_dates(query: str) -> None:
    w = date_window(query)
    assert w is None or w.text.lower().startswith("february")  # month-year fallback is fine
    if "30" in query:
        assert w is not None and w.start == _d(2023, 2, 1)  # the month, not a day that isn't


def test_convex_fusion_uses_normalised_scores() -> None:
    fusion = FusionConfig(method="convex", text_weight=0.5, vector_weight=0.5)
    text = [{"id": "a", "_score": 4.0}, {"id": "b", "_score": 2.0}]
    vector = [{"id": "b", "_distance": 0.1}, {"id": "c", "_distance": 0.3},
              {"id": "a", "_distance": 0.5}]
    hits = {h.id: h for h in fuse(text, vector, limit=10, fusion=fusion)}
    assert hits["a"].score == pytest.approx(0.5 * 1.0 + 0.5 * 0.0)
    assert hits["b"].score == pytest.approx(0.5 * 0.5 + 0.5 * 1.0)
    assert hits["c"].score == pytest.approx(0.5 * 0.5)
    assert [h.id for h in fuse(text, vector, limit=10, fusion=fusion)] == ["b", "a", "c"]
    # the same lists by reciprocal rank fusion: only the order counts
    rrf = fuse(text, vector, limit=10, fusion=FusionConfig(rrf_k=10.0))
    assert rrf[0].id in ("a", "b") and rrf[0].score == pytest.approx(1 / 11 + 1 / 12)


def test_convex_fusion_of_single_rows_counts_them_fully() -> None:
    fusion = FusionConfig(method="convex", text_weight=0.5, vector_weight=0.5)
    hits = fuse([{"id": "a", "_score": 0.7}], [{"id": "a", "_distance": 0.4}], limit=5,
                fusion=fusion)
    assert hits[0].score == pytest.approx(1.0)


@pytest.mark.vectors
def test_query_naming_a_date_prefers_messages_of_that_time(vmemory) -> None:
    rec = vmemory.recall
    march = rec.new_conversation("march")
    rec.append(march.id, "user", "We moved the release pipeline to the new runners.",
               created_at=datetime(2024, 3, 12, 10, tzinfo=UTC))
    june = rec.new_conversation("june")
    rec.append(june.id, "user", "We moved the release pipeline back to the old runners.",
               created_at=datetime(2024, 6, 3, 10, tzinfo=UTC))
    for i in range(6):  # unrelated chatter so the stores' lists are not trivially short
        rec.append(june.id, "assistant", f"Noted item {i} about lunch plans and the weather.",
                   created_at=datetime(2024, 6, 3, 11, i, tzinfo=UTC))

    dated = rec.search("What did we do with the release pipeline in March 2024?", limit=3)
    assert dated[0].row["conversation_id"] == march.id
    assert "date_focus_score" in dated[0].extra
    dated = rec.search("release pipeline runners on 3 June, 2024", limit=3)
    assert dated[0].row["conversation_id"] == june.id
    # a date outside the caller's own date filter adds nothing and finds nothing new
    clipped = rec.search("release pipeline in March 2024", limit=3,
                         start=datetime(2024, 6, 1, tzinfo=UTC))
    assert all(h.row["conversation_id"] == june.id for h in clipped)
    assert all("date_focus_score" not in h.extra for h in clipped)


def _search_texts(mem) -> dict[str, str]:
    rows = mem.store.table("messages").search().select(["id", "search_text"]).limit(1000).to_list()
    return {r["id"]: r["search_text"] for r in rows}


def test_reply_joins_the_search_text_of_the_message_it_answers(memory, workspace, open_memory):
    rec = memory.recall
    conv = rec.new_conversation()
    q, a = rec.append_many([
        {"conversation_id": conv.id, "role": "user", "content": "Where did the offsite happen?"},
        {"conversation_id": conv.id, "role": "assistant", "content": "In Lisbon, near the river."},
    ])
    texts = _search_texts(memory)
    assert "(then: assistant: In Lisbon, near the river.)" in texts[q.id]
    assert "(then:" not in texts[a.id]  # nothing answered it yet
    # the answer's words find the question too (before, only the answer itself)
    assert {h.id for h in rec.search("river", mode="text")} == {q.id, a.id}

    # one message at a time: the reply is added to the stored question in the background
    c = rec.append(conv.id, "user", "Which hotel did we book?")
    rec.append(conv.id, "assistant", "", tool_calls=[{"name": "search", "arguments": "{}"}])
    rec.append(conv.id, "tool", "3 results: Tivoli, Ritz, Ibis", tool_call_id="t1")
    d = rec.append(conv.id, "assistant", "The Tivoli, two nights.")
    assert rec.replies.drain(30)
    texts = _search_texts(memory)
    assert "The Tivoli" not in texts[c.id].split("(then:")[0]
    assert texts[c.id].count("(then:") == 1 and "The Tivoli" in texts[c.id]
    assert "(then: user: Which hotel" in texts[a.id]

    # another process (no cache of this conversation) goes on with it
    other = open_memory(workspace).recall
    e = other.append(conv.id, "user", "Book the Tivoli again for March.")
    assert other.replies.drain(30)
    texts = _search_texts(memory)
    assert texts[d.id].count("(then:") == 1 and "again for March" in texts[d.id]
    assert "(then:" not in texts[e.id]
    # the contents themselves are untouched
    assert [m.content for m in rec.messages(conv.id)][-1] == "Book the Tivoli again for March."
