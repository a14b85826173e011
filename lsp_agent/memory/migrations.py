"""Schema migrations, applied on open. One function per version step.

Two machines may open an old store in a bucket at the same moment, and the store lock only
excludes the processes of one machine: every step is idempotent (it looks before it changes
and takes "already there" from a rival as done), so racing migrations change the store once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lsp_agent.memory.schema import SCHEMA_VERSION

if TYPE_CHECKING:
    from lsp_agent.memory.store import MemoryStore

log = logging.getLogger(__name__)


def _v0_to_v1(store: MemoryStore) -> None:
    """Version 0 is a store with tables but no recorded version: nothing changes shape."""


def _v1_to_v2(store: MemoryStore) -> None:
    """Messages get `prev_id`: the id of the message before each one in its conversation
    (by `seq`), which recall search uses to find a hit's neighbours."""
    if "messages" not in store._existing():
        return
    tbl = store.table("messages")
    if "prev_id" in tbl.schema.names:
        return
    if not _add_columns(tbl, {"prev_id": "CAST('' AS STRING)"}):
        return  # another machine added (and is filling) them
    update = previous_ids(tbl)
    if update.num_rows:
        tbl.merge_insert("id").when_matched_update_all().execute(update)
        # the update rewrote the rows, which left them outside the search indexes: fold them
        # back in now rather than searching them unindexed until the next upkeep
        try:
            tbl.optimize()
        except Exception as exc:  # noqa: BLE001 - the next upkeep retries
            log.info("optimize after the prev_id migration skipped: %s", exc)
    log.info("messages: prev_id filled for %d rows", update.num_rows)


def previous_ids(tbl: Any) -> pa.Table:
    """(id, prev_id) of every message with a predecessor in its conversation, by seq."""
    import pyarrow.compute as pc

    data = (tbl.search().select(["id", "conversation_id", "seq"])
            .limit(max(1, tbl.count_rows())).to_arrow())
    if data.num_rows == 0:
        return pa.table({"id": pa.array([], pa.string()), "prev_id": pa.array([], pa.string())})
    data = data.sort_by([("conversation_id", "ascending"), ("seq", "ascending")])
    ids = data["id"].combine_chunks()
    convs = data["conversation_id"].combine_chunks()
    same = pc.equal(convs.slice(1), convs.slice(0, len(convs) - 1))
    keep = pc.fill_null(same, False)
    return pa.table({"id": pc.filter(ids.slice(1), keep),
                     "prev_id": pc.filter(ids.slice(0, len(ids) - 1), keep)})


def _v2_to_v3(store: MemoryStore) -> None:
    """Block versions record who made them (user, machine) and carry the id of the edit that
    claimed them (memory/commits.py). Old rows read with the three empty."""
    if "block_versions" not in store._existing():
        return
    tbl = store.table("block_versions")
    _add_columns(tbl, {c: "CAST('' AS STRING)" for c in ("user", "machine", "edit_id")})


def _add_columns(tbl: Any, columns: dict[str, str]) -> bool:
    """Add the missing `columns`; False when a rival process added them first."""
    from lsp_agent.memory.commits import backoff, is_retryable

    for attempt in range(20):
        missing = {c: sql for c, sql in columns.items() if c not in tbl.schema.names}
        if not missing:
            return False
        try:
            tbl.add_columns(missing)
            return True
        except Exception as exc:  # noqa: BLE001 - a rival's schema change: look again
            if not (is_retryable(exc) or "already" in str(exc).lower()
                    or "exist" in str(exc).lower()):
                raise
            backoff(attempt)
    return False


STEPS = {0: _v0_to_v1, 1: _v1_to_v2, 2: _v2_to_v3}


def migrate(store: MemoryStore, from_version: int) -> None:
    with store.lock():
        version = from_version
        while version < SCHEMA_VERSION:
            STEPS[version](store)
            version += 1
            if int(store.get_meta("schema_version") or 0) < version:
                store.set_meta("schema_version", str(version))
