"""Recall (messages) and archival (passages): durable writes, ordering, search with filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lsp_agent.memory import index_upkeep
from lsp_agent.memory.archival import MAX_PASSAGE_CHARS
from lsp_agent.memory.message_search import RECALL_FUSION

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _ids(hits):
    return [h.id for h in hits]


# -- recall ----------------------------------------------------------------------------------


def test_append_is_durable_and_ordered(memory, workspace, open_memory):
    conv = memory.recall.new_conversation("build issues")
    other = memory.recall.new_conversation("other")
    sent = []
    for i in range(15):
        role = "user" if i % 2 == 0 else "assistant"
        sent.append(memory.recall.append(conv.id, role, f"message number {i}"))
        memory.recall.append(other.id, "user", f"unrelated {i}")
    sent += memory.recall.append_many([
        {"conversation_id": conv.id, "role": "tool", "content": "tool output",
         "tool_call_id": "c1", "name": "grep"},
        {"conversation_id": conv.id, "role": "assistant", "content": "",
         "tool_calls": [{"id": "c2", "function": {"name": "read"}}]},
    ])
    again = open_memory(workspace)  # a new process
    got = again.recall.messages(conv.id)
    assert [m.id for m in got] == [m.id for m in sent]
    assert [m.content for m in got][:3] == ["message number 0", "message number 1",
                                            "message number 2"]
    assert [m.seq for m in got] == sorted(m.seq for m in got)
    assert len({m.seq for m in got}) == len(got)
    assert (got[-2].role, got[-2].name, got[-2].tool_call_id) == ("tool", "grep", "c1")
    assert '"c2"' in got[-1].tool_calls
    assert len(again.recall.messages(other.id)) == 15
    assert again.recall.conversation(conv.id).title == "build issues"
    assert again.recall.message_counts() == {conv.id: 17, other.id: 15}
    after = again.recall.messages(conv.id, after_seq=got[9].seq)
    assert [m.id for m in after] == [m.id for m in got[10:]]


def test_unknown_conversation(memory):
    with pytest.raises(KeyError, match="No conversation"):
        memory.recall.conversation("nope")
    with pytest.raises(KeyError):
        memory.recall.fork("nope")


@pytest.fixture
def chat(memory, settle):
    conv = memory.recall.new_conversation("a")
    conv_b = memory.recall.new_conversation("b")
    rec = memory.recall
    msgs = {
        "u1": rec.append(conv.id, "user", "the deploy script fails on staging",
                         created_at=T0),
        "a1": rec.append(conv.id, "assistant", "the deploy needs the VPN_TOKEN variable",
                         created_at=T0 + timedelta(days=1)),
        "u2": rec.append(conv.id, "user", "thanks, the pipeline is green now",
                         created_at=T0 + timedelta(days=10)),
        "b1": rec.append(conv_b.id, "user", "how do I deploy the docs site",
                         created_at=T0 + timedelta(days=20)),
    }
    assert rec.replies.drain(30)  # each message's reply joins its search text in the background
    settle()
    rec.optimize()  # what upkeep converges to: every row folded into the index
    return memory, conv, conv_b, msgs


def test_recall_text_search_with_filters(chat):
    memory, conv, conv_b, m = chat
    rec = memory.recall
    hits = rec.search("deploy", mode="text")
    assert set(_ids(hits)) >= {m["u1"].id, m["a1"].id, m["b1"].id}
    # u2 holds the word only in its context (the messages around it): never the best match
    assert hits[0].id in {m["u1"].id, m["a1"].id, m["b1"].id}
    for rank, h in enumerate(hits, start=1):
        assert h.text_rank == rank and h.vector_rank is None and h.score > 0
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    by_role = rec.search("deploy", mode="text", roles=["assistant"])
    assert _ids(by_role) == [m["a1"].id]
    by_conv = rec.search("deploy", mode="text", conversation_id=conv_b.id)
    assert _ids(by_conv) == [m["b1"].id]
    window = rec.search("deploy", mode="text", start=T0 + timedelta(hours=1),
                        end=T0 + timedelta(days=15))
    assert m["a1"].id in _ids(window)
    assert not {m["u1"].id, m["b1"].id} & set(_ids(window))
    # bounds are inclusive, and naive datetimes are read as UTC
    exact = rec.search("deploy", mode="text", start=datetime(2025, 3, 1, 12, 0),
                       end=datetime(2025, 3, 1, 12, 0))
    assert _ids(exact) == [m["u1"].id]
    assert rec.search("deploy", mode="text", roles=["tool"]) == []


def test_recall_hybrid_without_embedder_is_full_text(chat):
    memory, conv, conv_b, m = chat
    hits = memory.recall.search("staging deploy", mode="hybrid")
    assert hits and hits[0].id == m["u1"].id
    assert all(h.text_rank is not None and h.vector_rank is None for h in hits)
    vec = memory.recall.search("staging deploy", mode="vector")
    assert vec and vec[0].id == m["u1"].id  # vector mode falls back to full text


def test_search_text_with_punctuation_does_not_crash(chat):
    memory, *_ = chat
    for q in ['"deploy', "deploy AND (", "staging:*", "a OR", "-", "deploy's"]:
        memory.recall.search(q, mode="text")
        memory.archival.search(q, mode="text")


def test_rows_after_fts_index_still_found(memory, settle):
    conv = memory.recall.new_conversation()
    for i in range(5):
        memory.recall.append(conv.id, "user", f"early message {i} about kubernetes")
    tbl = memory.store.table("messages")
    index_upkeep.maintain(tbl)
    assert any(getattr(i, "index_type", "") == "FTS" for i in index_upkeep.indices(tbl))
    late = memory.recall.append(conv.id, "user", "late message mentions zeppelin")
    assert _ids(memory.recall.search("zeppelin", mode="text"))[0] == late.id
    assert memory.recall.replies.drain(30)
    # the message before it now carries it as its reply (reply_context.py): found too
    hits = _ids(memory.recall.search("zeppelin", mode="text"))
    assert late.id in hits and len(hits) == 2
    assert len(memory.recall.search("kubernetes", mode="text")) == 6  # 5 + late's context

    passages = [memory.archival.insert(f"passage {i} on caching") for i in range(3)]
    atbl = memory.store.table("archival")
    index_upkeep.maintain(atbl)
    new = memory.archival.insert("a passage about quokkas")
    assert _ids(memory.archival.search("quokkas", mode="text")) == [new.id]
    assert len(memory.archival.search("caching", mode="text")) == len(passages)


def test_message_with_the_words_ranks_first_after_early_index(memory, settle):
    """An index built on the first row scores it below later, unindexed rows (idf from one
    row); the upkeep refolds young tables each time they double, so after it settles the
    message holding the words ranks first."""
    conv = memory.recall.new_conversation()
    cat = memory.recall.append(conv.id, "user", "My cat sleeps on the keyboard all afternoon.")
    settle()  # the first write builds the index in the background
    tbl = memory.store.table("messages")
    index_upkeep.ensure_fts_index(tbl)
    assert [i.num_indexed_rows for i in index_upkeep.indices(tbl)] == [1]
    memory.recall.append(conv.id, "assistant", "The database migration added an index to orders.")
    memory.recall.append(conv.id, "user", "Compile the rust crate with the release profile.")
    other = memory.recall.new_conversation()
    memory.recall.append(other.id, "user", "The kitten naps near the warm laptop.")
    settle()
    assert _ids(memory.recall.search("cat keyboard", mode="text"))[0] == cat.id


def test_fork_copies_messages(memory, workspace, open_memory):
    rec = memory.recall
    conv = rec.new_conversation("original")
    originals = [rec.append(conv.id, r, f"turn {i}") for i, r in
                 enumerate(["user", "assistant", "user"])]
    rec.update_conversation(conv.id, summary="talked about turns",
                            summarized_until=originals[0].seq)
    fork = rec.fork(conv.id)
    assert fork.parent_id == conv.id and fork.id != conv.id
    assert fork.summary == "talked about turns" and fork.summarized_until == originals[0].seq
    rec.append(fork.id, "assistant", "only in the fork")
    again = open_memory(workspace)
    copied = again.recall.messages(fork.id)
    assert [(c.role, c.content) for c in copied] == [
        ("user", "turn 0"), ("assistant", "turn 1"), ("user", "turn 2"),
        ("assistant", "only in the fork")]
    assert not {c.id for c in copied} & {o.id for o in originals}
    assert [o.content for o in again.recall.messages(conv.id)] == ["turn 0", "turn 1", "turn 2"]
    hits = again.recall.search("turn", mode="text", conversation_id=fork.id)
    assert {h.row["conversation_id"] for h in hits} == {fork.id}


@pytest.mark.parametrize("spec", ["none", "onnx:/nonexistent"])
def test_fallback_without_embedder(workspace, open_memory, spec):
    mem = open_memory(workspace, embedder=spec)
    conv = mem.recall.new_conversation()
    msg = mem.recall.append(conv.id, "user", "the flux capacitor is broken")
    passage = mem.archival.insert("flux capacitor repair manual", ["hardware"])
    assert _ids(mem.recall.search("flux capacitor", mode="hybrid")) == [msg.id]
    assert _ids(mem.recall.search("flux capacitor", mode="vector")) == [msg.id]
    assert _ids(mem.archival.search("capacitor repair", mode="hybrid")) == [passage.id]
    hits = mem.search("capacitor", kind="all")
    assert {h["kind"] for h in hits} == {"message", "archival"}
    status = mem.status()
    assert "full-text" in status["embedder"]
    if spec != "none":
        assert any("onnx:/nonexistent" in w and "full text" in w for w in mem.store.warnings)
        assert status["warnings"] == mem.store.warnings


@pytest.mark.vectors
def test_vector_and_hybrid_search(vmemory):
    rec = vmemory.recall
    conv = rec.new_conversation()
    cat = rec.append(conv.id, "user", "My cat sleeps on the keyboard all afternoon.")
    rec.append(conv.id, "assistant", "The database migration added an index to orders.")
    rec.append(conv.id, "user", "Compile the rust crate with the release profile.")
    other = rec.new_conversation()
    rec.append(other.id, "user", "The kitten naps near the warm laptop.")

    vec = rec.search("a feline taking a nap", mode="vector")
    assert vec[0].row["content"] in (cat.content, "The kitten naps near the warm laptop.")
    for rank, h in enumerate(vec, start=1):
        assert h.vector_rank == rank and h.text_rank is None
        assert h.vector_distance is not None
    assert vec[0].score >= vec[-1].score

    hyb = rec.search("cat keyboard", mode="hybrid")
    by_id = {h.id: h for h in hyb}
    h = by_id[cat.id]
    assert h.text_rank is not None and h.vector_rank == 1
    f = RECALL_FUSION
    assert f.method == "convex"
    # convex fusion: each retriever adds weight x its normalised score (full text: score / the
    # best score of its list; vector: similarity min-max scaled over its list)
    best_text = next(x.text_score for x in hyb if x.text_rank == 1)
    sims = [1 - x.vector_distance for x in hyb if x.vector_distance is not None]
    assert len(sims) == 4  # every message has a vector and all four are returned
    expected = (f.text_weight * h.text_score / best_text
                + f.vector_weight * ((1 - h.vector_distance) - min(sims)) / (max(sims) - min(sims))
                + h.extra.get("neighbour_score", 0.0))
    assert h.score == pytest.approx(expected)
    assert _ids(hyb)[:2].count(cat.id) == 1
    assert [x.score for x in hyb] == sorted((x.score for x in hyb), reverse=True)
    only_conv = rec.search("a feline taking a nap", mode="hybrid", conversation_id=conv.id)
    assert {h.row["conversation_id"] for h in only_conv} == {conv.id}
    assert cat.id in _ids(only_conv)
    rows = vmemory.store.table("messages").search().limit(10).to_list()
    assert all(r["vector"] is not None and r["embedder"] for r in rows)

    p = vmemory.archival.insert("Use exponential backoff when the payment API times out.",
                                ["payments"])
    vmemory.archival.insert("The logo is blue and orange.", ["design"])
    ah = vmemory.archival.search("retry strategy for a slow billing service", mode="vector")
    assert ah[0].id == p.id


@pytest.mark.vectors
def test_hybrid_without_text_hits_keeps_vector_order(vmemory):
    rec = vmemory.recall
    conv = rec.new_conversation()
    cat = rec.append(conv.id, "user", "My cat sleeps on the keyboard all afternoon.")
    rec.append(conv.id, "assistant", "The database migration added an index to orders.")
    rec.append(conv.id, "user", "Compile the rust crate with the release profile.")
    vec = rec.search("a feline taking a nap", mode="vector", conversation_id=conv.id)
    assert _ids(vec)[0] == cat.id
    hyb = rec.search("a feline taking a nap", mode="hybrid", conversation_id=conv.id)
    assert all(h.text_rank is None for h in hyb)  # no message holds these words
    assert _ids(hyb) == _ids(vec)


# -- archival --------------------------------------------------------------------------------


@pytest.fixture
def passages(memory, settle):
    arch = memory.archival
    found = {
        "py": arch.insert("Tests run with pytest -q in the repo root", [" Python ", "testing"],
                          created_at=T0),
        "js": arch.insert("Frontend tests run with vitest", ["javascript", "testing"],
                          created_at=T0 + timedelta(days=5)),
        "dep": arch.insert("Deploy runs via GitHub Actions after tests pass", ["ci"],
                           created_at=T0 + timedelta(days=30), source="cli"),
    }
    # a search while the background upkeep folds a young table can miss a row once (LanceDB,
    # also before the upkeep ran this often); these tests are about filters, not upkeep
    settle()
    return memory, found


def test_archival_insert_with_tags(passages, workspace, open_memory):
    memory, p = passages
    assert p["py"].tags == ["python", "testing"]  # trimmed, lower-cased, sorted
    again = open_memory(workspace)
    stored = again.archival.get(p["dep"].id)
    assert (stored.content, stored.tags, stored.source) == (
        "Deploy runs via GitHub Actions after tests pass", ["ci"], "cli")
    assert [x.id for x in again.archival.all()] == [p["py"].id, p["js"].id, p["dep"].id]


def test_archival_search_tags_dates_top_k(passages):
    memory, p = passages
    arch = memory.archival
    assert set(_ids(arch.search("tests", mode="text"))) == {p["py"].id, p["js"].id, p["dep"].id}
    anyof = arch.search("tests", tags=["python", "ci"], mode="text")
    assert set(_ids(anyof)) == {p["py"].id, p["dep"].id}
    allof = arch.search("tests", tags=["testing", "javascript"], tag_match="all", mode="text")
    assert _ids(allof) == [p["js"].id]
    assert arch.search("tests", tags=["Testing", "CI"], tag_match="all", mode="text") == []
    dated = arch.search("tests", start=T0 + timedelta(days=1), end=T0 + timedelta(days=6),
                        mode="text")
    assert _ids(dated) == [p["js"].id]
    both = arch.search("tests", tags=["testing"], start=T0 + timedelta(days=1), mode="text")
    assert _ids(both) == [p["js"].id]
    top = arch.search("tests", top_k=2, mode="hybrid")
    assert len(top) == 2
    for h in top:
        assert h.score > 0 and h.text_rank is not None
    assert [h.text_rank for h in arch.search("tests", top_k=3, mode="text")] == [1, 2, 3]


def test_archival_rejects_empty_and_too_long(memory):
    arch = memory.archival
    for bad in ("", "   \n\t"):
        with pytest.raises(ValueError, match="needs some text"):
            arch.insert(bad)
    with pytest.raises(ValueError, match=str(MAX_PASSAGE_CHARS)):
        arch.insert("x" * (MAX_PASSAGE_CHARS + 1))
    with pytest.raises(ValueError):
        arch.insert_many(["fine", ""])  # all or nothing
    assert arch.all() == []
    ok = arch.insert("y" * MAX_PASSAGE_CHARS)
    assert len(arch.get(ok.id).content) == MAX_PASSAGE_CHARS


def test_archival_delete(passages):
    memory, p = passages
    memory.archival.delete(p["js"].id)
    with pytest.raises(KeyError):
        memory.archival.get(p["js"].id)
    with pytest.raises(KeyError):
        memory.archival.delete("missing")
    assert len(memory.archival.all()) == 2


def test_memory_search_across_kinds(passages):
    memory, p = passages
    memory.blocks.set("commands", "run tests with pytest -q", author="user")
    conv = memory.recall.new_conversation()
    memory.recall.append(conv.id, "user", "why do the pytest tests hang?")
    hits = memory.search("pytest", kind="all")
    kinds = {h["kind"] for h in hits}
    assert kinds == {"message", "archival", "block"}
    assert all("score" in h and h["snippet"] for h in hits)
    assert [h["id"] for h in memory.search("pytest", kind="blocks")] == ["commands"]
    with pytest.raises(ValueError, match="Unknown search kind"):
        memory.search("x", kind="bogus")
    with pytest.raises(ValueError, match="search query"):
        memory.search("  ")
    with pytest.raises(ValueError, match="lsp-agent init"):
        memory.search("x", kind="code")


def test_a_rename_during_a_summary_keeps_both(memory):
    """The agent loop read the conversation, then summarised it for many seconds; the user
    renamed it meanwhile (maybe from another process): both changes stay."""
    rec = memory.recall
    conv = rec.new_conversation("first title")
    read_by_the_turn = rec.conversation(conv.id)
    rec.update_conversation(conv.id, title="renamed meanwhile")
    rec.update_conversation(read_by_the_turn.id, summary="what was said", summarized_until=3)
    got = rec.conversation(conv.id)
    assert (got.title, got.summary, got.summarized_until) == ("renamed meanwhile",
                                                              "what was said", 3)
