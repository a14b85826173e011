"""Hybrid search over a LanceDB table: native full-text index + vector search, fused by
normalised scores (convex) or weighted reciprocal rank fusion (RRF). Each hit keeps its text
and vector ranks. The indexes themselves are kept by index_upkeep.py.
"""

from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from lsp_agent.memory.index_upkeep import (
    MAINTAINER,
    fts_index_in,
    has_vector_index,
    indices,
    vector_index_in,
)

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "vector", "text"]


@dataclass(frozen=True)
class FusionConfig:
    """Fusion and tokenizer settings, chosen by the LoCoMo benchmark (docs/benchmarks.md).

    `method="rrf"`: each retriever contributes `weight / (rrf_k + rank)` for its top `pool`
    rows: the main full-text column (`text_weight`), the vector (`vector_weight`) and any
    `extra_text` columns (`(column, weight)`: e.g. a row's raw text beside its contextual
    search text). `method="convex"`: each contributes `weight * normalised score` instead
    (full-text score / the list's best; vector similarity min-max scaled over the list), so
    how much better the best match is than the next counts, not only the order.
    `neighbour_share` > 0 lets callers that know a row's neighbours (the messages just before
    and after it) pass them a share of its score (see `spread_to_neighbours`).
    """

    method: Literal["rrf", "convex"] = "rrf"
    rrf_k: float = 60.0
    text_weight: float = 1.0
    vector_weight: float = 1.0
    pool: int = 50  # candidates taken from each retriever before fusion
    extra_text: tuple[tuple[str, float], ...] = ()
    neighbour_share: float = 0.0
    neighbour_top: int = 10  # the best hits whose neighbours get a share


DEFAULT_FUSION = FusionConfig()


@dataclass
class Hit:
    row: dict[str, Any]
    score: float
    text_rank: int | None = None
    vector_rank: int | None = None
    text_score: float | None = None
    vector_distance: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.row.get("id", ""))


_FTS_SPECIAL = re.compile(r"[^\w\s'-]+", re.UNICODE)


def clean_fts_query(text: str) -> str:
    """Plain words only: the FTS query parser must never see user punctuation as syntax."""
    return " ".join(_FTS_SPECIAL.sub(" ", text).split())


def text_search(
    table: Any, query: str, *, column: str, where: str | None, limit: int,
    columns: list[str] | None = None,
) -> list[dict[str, Any]]:
    q = clean_fts_query(query)
    if not q:
        return []
    builder = table.search(q, query_type="fts", fts_columns=column)
    if where:
        builder = builder.where(where, prefilter=True)
    if columns:
        builder = builder.select(columns if "_score" in columns else [*columns, "_score"])
    try:
        return builder.limit(limit).to_list()
    except Exception as exc:  # noqa: BLE001 - e.g. a query of only stop words
        log.debug("full-text search failed for %r: %s", q, exc)
        return []


# Approximate vector search settings (an index exists from VECTOR_INDEX_MIN_ROWS rows on), chosen
# by benchmarks/search_latency.py for recall@10 >= 0.9 against exact search (docs/benchmarks.md).
VECTOR_SEARCH: dict[str, int] = {
    "nprobes": 32,
    # PQ distances are re-ranked exactly for about this many candidates (refine_factor =
    # ceil(refine_candidates / limit), at least 1): recall@10 0.999 at 100k rows
    "refine_candidates": 100,
}


def vector_search(
    table: Any, vector: list[float] | None, *, where: str | None, limit: int,
    columns: list[str] | None = None, nprobes: int | None = None,
    refine_factor: int | None = None, indexed: bool | None = None,
) -> list[dict[str, Any]]:
    if vector is None:
        return []
    # rows without a vector (embedder off, or vectors still being backfilled) are skipped by
    # LanceDB itself; a "vector IS NOT NULL" filter would read every vector (10x slower at 100k)
    builder = table.search(vector, vector_column_name="vector").metric("cosine")
    if where:
        builder = builder.where(where, prefilter=True)
    if has_vector_index(table) if indexed is None else indexed:
        builder = builder.nprobes(nprobes or VECTOR_SEARCH["nprobes"])
        refine = (max(1, -(-VECTOR_SEARCH["refine_candidates"] // max(1, limit)))
                  if refine_factor is None else refine_factor)
        if refine:
            builder = builder.refine_factor(refine)
    if columns:
        builder = builder.select([*columns, "_distance"] if "_distance" not in columns else columns)
    return [r for r in builder.limit(limit).to_list() if r.get("_distance") is not None]


def _normalised(values: list[float]) -> list[float]:
    """Min-max scaled to [0, 1]; a list whose values are all equal scales to 1."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    if hi - lo <= 1e-12:
        return [1.0] * len(values)
    return [(v - lo) / (hi - lo) for v in values]


def contributions(rows: list[dict[str, Any]], weight: float, fusion: FusionConfig,
                  score: str) -> list[float]:
    """What each row of one ranked list adds to its fused score: `weight / (rrf_k + rank)`,
    or (convex) `weight` times its `score` field normalised over the list ("_distance": the
    similarity, min-max scaled; any other: divided by the list's best).

    The one fusion rule: the retrievers of a table (`fuse`) and the kinds of memory
    (AgentMemory.search) are both fused by it."""
    if fusion.method == "rrf":
        return [weight / (fusion.rrf_k + rank) for rank in range(1, len(rows) + 1)]
    if score == "_distance":
        return [weight * v for v in _normalised([1.0 - float(r.get("_distance") or 0.0)
                                                 for r in rows])]
    raw = [float(r.get(score) or 0.0) for r in rows]
    best = max(raw, default=0.0)
    return [weight * (v / best if best > 0 else 1.0) for v in raw]


def fuse(
    text_rows: list[dict[str, Any]], vector_rows: list[dict[str, Any]], *, limit: int,
    fusion: FusionConfig = DEFAULT_FUSION, key: str = "id",
    extra_rows: list[tuple[str, float, list[dict[str, Any]]]] | None = None,
) -> list[Hit]:
    hits: dict[str, Hit] = {}
    for rank, (row, add) in enumerate(
            zip(text_rows, contributions(text_rows, fusion.text_weight, fusion, "_score"),
                strict=True), start=1):
        hit = hits.setdefault(row[key], Hit(row=row, score=0.0))
        hit.text_rank, hit.text_score = rank, row.get("_score")
        hit.score += add
    for rank, (row, add) in enumerate(
            zip(vector_rows, contributions(vector_rows, fusion.vector_weight, fusion, "_distance"),
                strict=True), start=1):
        hit = hits.setdefault(row[key], Hit(row=row, score=0.0))
        hit.vector_rank, hit.vector_distance = rank, row.get("_distance")
        hit.score += add
    for column, weight, rows in extra_rows or []:
        for rank, (row, add) in enumerate(
                zip(rows, contributions(rows, weight, fusion, "_score"), strict=True), start=1):
            hit = hits.setdefault(row[key], Hit(row=row, score=0.0))
            hit.extra[f"{column}_rank"] = rank
            hit.score += add
    return sorted(hits.values(), key=lambda h: -h.score)[:limit]


def spread_to_neighbours(
    hits: list[Hit], neighbours: dict[str, list[dict[str, Any]]], share: float, *,
    top: int, key: str = "id",
) -> list[Hit]:
    """Give each row adjacent to one of the `top` best hits `share` of that hit's score (of its
    best such neighbour, when it has two: the bonus never adds up).

    `neighbours` maps a hit id to the rows next to it (a reply is often where the answer to
    a matched question is, and the question is what makes a terse reply findable). Rows not
    yet among the hits join them. Returns the hits re-sorted.
    """
    if share <= 0 or not neighbours:
        return hits
    by_id = {h.id: h for h in hits}
    bonus: dict[str, float] = {}
    rows: dict[str, dict[str, Any]] = {}
    for hit in hits[:top]:
        for row in neighbours.get(hit.id, []):
            rid = str(row[key])
            bonus[rid] = max(bonus.get(rid, 0.0), share * hit.score)
            rows.setdefault(rid, row)
    for rid, extra in bonus.items():
        target = by_id.get(rid)
        if target is None:
            target = by_id[rid] = Hit(row=rows[rid], score=0.0)
        target.extra["neighbour_score"] = extra
        target.score += extra
    return sorted(by_id.values(), key=lambda h: -h.score)


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """Shared threads for the retrievers of one hybrid search (LanceDB releases the GIL)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lsp-agent-search")
        return _POOL


def search_table(
    table: Any, query: str, vector: list[float] | None, *, mode: Mode = "hybrid",
    where: str | None = None, limit: int = 10, text_column: str = "search_text",
    fusion: FusionConfig = DEFAULT_FUSION, columns: list[str] | None = None,
    pool: int | None = None,
) -> list[Hit]:
    """Search one table by `mode`; vector mode without a vector falls back to full text.

    Each retriever returns `pool` rows (default: the larger of `fusion.pool` and 2 * limit).
    In hybrid mode the retrievers (full text, vector, extra full-text columns) run concurrently.
    """
    pool = pool or max(fusion.pool, limit * 2)
    MAINTAINER.wait_for(table)
    if mode == "vector" and vector is None:
        mode = "text"
    if mode == "text":
        text_rows = text_search(table, query, column=text_column, where=where, limit=pool,
                                columns=columns)
        return [Hit(row=r, score=float(r.get("_score", 0.0)), text_rank=i, text_score=r.get("_score"))
                for i, r in enumerate(text_rows[:limit], start=1)]
    if mode == "vector":
        vec_rows = vector_search(table, vector, where=where, limit=pool, columns=columns)
        return [Hit(row=r, score=1.0 - float(r.get("_distance", 0.0)), vector_rank=i,
                    vector_distance=r.get("_distance")) for i, r in enumerate(vec_rows[:limit], 1)]
    present = indices(table)
    extra_cols = [(col, weight) for col, weight in fusion.extra_text
                  if weight > 0 and fts_index_in(present, col)]
    ex = _executor()
    vec_f = ex.submit(vector_search, table, vector, where=where, limit=pool, columns=columns,
                      indexed=vector_index_in(present))
    extra_f = [(col, weight, ex.submit(text_search, table, query, column=col, where=where,
                                       limit=pool, columns=columns))
               for col, weight in extra_cols]
    text_rows = text_search(table, query, column=text_column, where=where, limit=pool,
                            columns=columns)
    extra = [(col, weight, f.result()) for col, weight, f in extra_f]
    return fuse(text_rows, vec_f.result(), limit=limit, fusion=fusion, extra_rows=extra)
