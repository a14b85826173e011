"""Recall search's neighbour share through `prev_id` (schema 2), the fork's remapped prev_id, and
the migration of a version-1 store (messages without prev_id)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest

from lsp_agent.memory import index_upkeep, schema
from lsp_agent.memory import search as msearch
from lsp_agent.memory.embedders import register_embedder
from lsp_agent.memory.message_search import _COLUMNS, RECALL_FUSION, build_filter
from lsp_agent.memory.recall import RecallMemory

DIM = 32


class BagOfWords:
    """A tiny deterministic embedder (hashed words), so hybrid search runs without the model."""

    name = "test-bow"
    dim = DIM

    def _vec(self, text: str) -> np.ndarray:
        v = np.full(DIM, 1e-3, np.float32)
        for word in text.lower().split():
            h = int(hashlib.md5(word.encode()).hexdigest(), 16)
            v[h % DIM] += 1.0 + (h >> 64) % 1000 / 1000
        return v / np.linalg.norm(v)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, DIM), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)


register_embedder("test-bow")(lambda arg: BagOfWords())

WORDS = ("deploy staging zeppelin kernel cache orders invoice garden piano river lantern "
         "copper meadow violet harbour signal").split()


@pytest.fixture
def hmemory(workspace, open_memory):
    return open_memory(workspace, embedder="test-bow")


def _chat(recall: RecallMemory, conversations: int = 4, turns: int = 12) -> list[list[Any]]:
    """Messages of random words; lengths and word counts vary so that ranking ties (which
    LanceDB breaks arbitrarily) are unlikely."""
    rng = np.random.default_rng(3)
    convs = []
    for c in range(conversations):
        conv = recall.new_conversation(f"c{c}")
        msgs = recall.append_many([
            {"conversation_id": conv.id, "role": "user" if i % 2 == 0 else "assistant",
             "content": " ".join([*rng.choice(WORDS, size=int(rng.integers(2, 9))),
                                  f"w{c}x{i}"] * int(rng.integers(1, 3)))}
            for i in range(turns)])
        convs.append(msgs)
    return convs


def _reference(recall: RecallMemory, query: str, limit: int = 10, **filters: Any):
    """The neighbour share as it was defined before prev_id: full rows fused, then each of the
    top hits' messages just before and after it in its conversation (by seq), when they pass
    the filter, get the share."""
    fusion = RECALL_FUSION
    where = build_filter(**filters)
    tbl = recall.store.table("messages")
    pool = max(fusion.pool, limit * 2)
    hits = msearch.search_table(tbl, query, recall.store.embed_query(query), where=where,
                                limit=2 * pool, pool=pool, fusion=fusion, columns=_COLUMNS)
    rows = tbl.search().select(_COLUMNS).limit(100_000).to_list()
    passing = {r["id"] for r in (tbl.search().where(where).select(["id"]).limit(100_000)
                                 .to_list() if where else rows)}
    by_conv: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(rows, key=lambda r: r["seq"]):
        by_conv.setdefault(r["conversation_id"], []).append(r)
    neighbours = {}
    for h in hits[: fusion.neighbour_top]:
        seq = by_conv[h.row["conversation_id"]]
        i = [r["id"] for r in seq].index(h.id)
        neighbours[h.id] = [seq[j] for j in (i - 1, i + 1)
                            if 0 <= j < len(seq) and seq[j]["id"] in passing]
    return msearch.spread_to_neighbours(hits, neighbours, fusion.neighbour_share,
                                        top=fusion.neighbour_top)[:limit]


def test_prev_id_chains_each_conversation(hmemory):
    convs = _chat(hmemory.recall)
    later = hmemory.recall.append(convs[0][0].conversation_id, "user", "one more")
    for msgs in convs:
        stored = hmemory.recall.messages(msgs[0].conversation_id)
        assert [m.prev_id for m in stored[: len(msgs)]] == ["", *[m.id for m in msgs[:-1]]]
    assert later.prev_id == convs[0][-1].id


@pytest.mark.parametrize("filters", [{}, {"roles": ["user"]}, {"conversation_id": 1}])
def test_neighbour_share_matches_seq_neighbours(hmemory, filters):
    recall = hmemory.recall
    convs = _chat(recall)
    if "conversation_id" in filters:
        filters = {"conversation_id": convs[1][0].conversation_id}
    recall.optimize()
    for query in ("zeppelin kernel", "copper harbour signal", "piano", "deploy orders river"):
        got = recall.search(query, limit=10, **filters)
        want = _reference(recall, query, **filters)
        assert [(h.id, round(h.score, 12)) for h in got] == \
               [(h.id, round(h.score, 12)) for h in want]
        for h, w in zip(got, want, strict=True):
            assert (h.text_rank, h.vector_rank, h.extra.get("neighbour_score")) == \
                   (w.text_rank, w.vector_rank, w.extra.get("neighbour_score"))
            assert {k: h.row[k] for k in _COLUMNS} == {k: w.row[k] for k in _COLUMNS}
        assert any("neighbour_score" in h.extra for h in got) == (filters.get("roles") is None)


def test_neighbours_before_and_after_and_filter(hmemory):
    recall = hmemory.recall
    conv = recall.new_conversation()
    before, hit, after, far = recall.append_many([
        {"conversation_id": conv.id, "role": "assistant", "content": "lantern meadow"},
        {"conversation_id": conv.id, "role": "user", "content": "where is the zeppelin hangar"},
        {"conversation_id": conv.id, "role": "assistant", "content": "violet garden"},
        {"conversation_id": conv.id, "role": "user", "content": "copper kernel"},
    ])
    other = recall.new_conversation()
    recall.append_many([{"conversation_id": other.id, "content": w,
                         "role": "user" if i % 2 == 0 else "assistant"}
                        for i, w in enumerate(WORDS[4:10])])
    hits = {h.id: h for h in recall.search("zeppelin hangar", limit=10)}

    def base(h: Any) -> float:  # its own score, before any share
        return h.score - h.extra.get("neighbour_score", 0.0)

    share = RECALL_FUSION.neighbour_share
    # each takes the larger share of the hits next to it (its reply context and the one after
    # it carry the question's words too, so they can be hits themselves)
    assert hits[before.id].extra["neighbour_score"] == pytest.approx(share * base(hits[hit.id]))
    assert hits[after.id].extra["neighbour_score"] == pytest.approx(
        share * max(base(hits[m.id]) for m in (hit, far) if m.id in hits))
    assert hits[before.id].row["content"] == "lantern meadow"  # full rows, not lean ones
    assert hits[after.id].row["conversation_id"] == conv.id
    # neighbours outside the filter get no share (the user messages' neighbours are replies)
    only_users = recall.search("zeppelin hangar", roles=["user"], limit=4)
    assert {h.row["role"] for h in only_users} == {"user"}
    assert not any("neighbour_score" in h.extra for h in only_users)
    assert far.id in {h.id for h in only_users}


def test_fork_remaps_prev_id(hmemory, workspace, open_memory):
    recall = hmemory.recall
    conv = recall.new_conversation("source")
    originals = [recall.append(conv.id, r, f"turn {i}")
                 for i, r in enumerate(["user", "assistant", "user"])]
    fork = recall.fork(conv.id)
    recall.append(fork.id, "assistant", "only in the fork")
    copies = open_memory(workspace, embedder="test-bow").recall.messages(fork.id)
    assert [c.prev_id for c in copies] == ["", *[c.id for c in copies[:-1]]]
    assert not {c.id for c in copies} & {o.id for o in originals}
    assert [o.prev_id for o in recall.messages(conv.id)] == ["", originals[0].id,
                                                            originals[1].id]


def test_version_1_store_migrates(hmemory, workspace, open_memory):
    convs = _chat(hmemory.recall, conversations=3, turns=8)
    tbl = hmemory.store.table("messages")
    index_upkeep.maintain(tbl)
    index_upkeep.maintain(tbl)
    # make it a version-1 store: messages without prev_id
    tbl.drop_columns(["prev_id"])
    hmemory.store.set_meta("schema_version", "1")
    assert "prev_id" not in tbl.schema.names

    again = open_memory(workspace, embedder="test-bow")
    assert again.store.get_meta("schema_version") == str(schema.SCHEMA_VERSION) == "3"
    migrated = again.store.table("messages")
    assert migrated.schema.names == schema.messages_schema(DIM).names
    for msgs in convs:
        stored = again.recall.messages(msgs[0].conversation_id)
        assert [m.id for m in stored] == [m.id for m in msgs]
        assert [m.prev_id for m in stored] == ["", *[m.id for m in msgs[:-1]]]
    # the rewritten rows were folded back into the indexes
    for index in index_upkeep.indices(migrated):
        assert migrated.index_stats(index.name).num_unindexed_rows == 0, index.name
    got = again.recall.search("zeppelin kernel", limit=10)
    assert any("neighbour_score" in h.extra for h in got)
    assert [h.id for h in got] == [h.id for h in _reference(again.recall, "zeppelin kernel")]
    # and new messages chain on
    new = again.recall.append(convs[0][0].conversation_id, "user", "after the migration")
    assert new.prev_id == convs[0][-1].id


def test_vector_index_keeps_its_partitions_through_upkeep(tmp_path, monkeypatch):
    """LanceDB 0.40's optimize() re-partitions an IVF_PQ index made with `num_partitions` into a
    few huge partitions; `maintain` builds it by partition size, which optimize() keeps."""
    import re

    import lancedb
    import pyarrow as pa

    monkeypatch.setattr(index_upkeep, "VECTOR_INDEX_MIN_ROWS", 2000)
    rng = np.random.default_rng(0)

    def rows(start: int, n: int) -> pa.Table:
        vec = rng.standard_normal((n, DIM)).astype(np.float32)
        return pa.table({"id": [f"r{i}" for i in range(start, start + n)],
                         "search_text": [f"row {i}" for i in range(start, start + n)],
                         "vector": pa.FixedSizeListArray.from_arrays(vec.ravel(), DIM)})

    tbl = lancedb.connect(str(tmp_path / "db")).create_table("t", rows(0, 4000))
    index_upkeep.maintain(tbl)  # the FTS index
    index_upkeep.maintain(tbl)  # BTREE on id, IVF_PQ, optimize

    def one_partition() -> int:
        plan = (tbl.search(rng.standard_normal(DIM).tolist(), vector_column_name="vector")
                .metric("cosine").nprobes(1).select(["id", "_distance"]).limit(5).analyze_plan())
        found = re.search(r"ANNSubIndex.*?index_comparisons=([0-9.]+)( K)?", plan)
        assert found, plan
        return int(float(found.group(1)) * (1000 if found.group(2) else 1))

    assert index_upkeep.has_vector_index(tbl)
    assert one_partition() < 400  # about sqrt(4000) = 63 rows per partition
    for start in (4000, 4500):
        tbl.add(rows(start, 500))
        index_upkeep.maintain(tbl)
    assert one_partition() < 600  # the index plus its deltas: still small partitions
