"""Searching recall memory: the messages table's retrievers fused, with a date focus and the
neighbour share.

Full text (each message's contextual search text) and vector search are fused by normalised
scores (RECALL_FUSION); a query that names a date is searched again among the messages of that
time (query_dates.py); each of the best hits passes a share of its score to the message just
before and after it (found by `prev_id`), since a terse reply is often where the answer is.
Settings were chosen on the LoCoMo benchmark (docs/benchmarks.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lsp_agent.memory.query_dates import date_window
from lsp_agent.memory.search import FusionConfig, Hit, Mode, search_table, spread_to_neighbours
from lsp_agent.memory.store import MemoryStore, sql_str

RECALL_FUSION = FusionConfig(method="convex", text_weight=0.5, vector_weight=0.5, pool=60,
                             neighbour_share=0.2, neighbour_top=10)
# A query naming a date ("on 7 July, 2023", "in March 2024", "yesterday") is also searched
# among the messages of that time (query_dates.date_window); those hits add this share of
# their score within the window (LoCoMo: docs/benchmarks.md).
DATE_FOCUS_WEIGHT = 0.3
DATE_FOCUS_AFTER_DAYS = 10
_COLUMNS = ["id", "conversation_id", "seq", "role", "content", "name", "created_at", "tool_calls"]
_ROW_COLUMNS = [*_COLUMNS, "prev_id"]
_LEAN_COLUMNS = ["id", "prev_id"]  # what fusion and the neighbour share need of a hit


def search_messages(
    store: MemoryStore, query: str, *, mode: Mode = "hybrid", roles: list[str] | None = None,
    conversation_id: str | None = None, start: datetime | None = None,
    end: datetime | None = None, limit: int = 10,
) -> list[Hit]:
    """Search the messages table (see the module docstring); each hit has its full row."""
    where = build_filter(roles=roles, conversation_id=conversation_id, start=start, end=end)
    vector = store.embed_query(query) if mode != "text" else None
    fusion = RECALL_FUSION
    if mode == "hybrid" and vector is None:
        mode = "text"  # no embedder: hybrid is the full-text search, as documented
    expand = mode == "hybrid" and fusion.neighbour_share > 0
    tbl = store.table("messages")
    pool = max(fusion.pool, limit * 2)

    def focus(found: list[Hit], columns: list[str]) -> list[Hit]:
        if mode != "hybrid" or DATE_FOCUS_WEIGHT <= 0:
            return found
        return _date_focus(store, query, vector, found, columns=columns, roles=roles,
                           conversation_id=conversation_id, start=start, end=end, pool=pool)

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
    rows = _rows_for(store, hits[:limit], top, where)
    hits = spread_to_neighbours(hits, _neighbours(top, rows), fusion.neighbour_share,
                                top=fusion.neighbour_top)[:limit]
    for hit in hits:
        full = rows.get(hit.id)
        if full is not None and full is not hit.row:
            hit.row = {**full, **hit.row}  # keeps the retrievers' _score / _distance
    return hits


def _date_focus(
    store: MemoryStore, query: str, vector: list[float] | None, hits: list[Hit], *, pool: int,
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
    focused = search_table(store.table("messages"), query, vector, mode="hybrid",
                           where=where, limit=2 * pool, pool=pool, fusion=RECALL_FUSION,
                           columns=columns)
    by_id = {h.id: h for h in hits}
    for hit in focused:
        target = by_id.get(hit.id)
        if target is None:
            target = by_id[hit.id] = Hit(row=hit.row, score=0.0)
        target.extra["date_focus_score"] = DATE_FOCUS_WEIGHT * hit.score
        target.score += DATE_FOCUS_WEIGHT * hit.score
    return sorted(by_id.values(), key=lambda h: -h.score)

def _rows_for(store: MemoryStore, best: list[Hit], top: list[Hit],
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
    got = (store.table("messages").search().where(cond).select(_ROW_COLUMNS)
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
