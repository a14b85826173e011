"""Schema migrations, applied on open under the store lock. One function per version step."""

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
    tbl.add_columns({"prev_id": "CAST('' AS STRING)"})
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


STEPS = {0: _v0_to_v1, 1: _v1_to_v2}


def migrate(store: MemoryStore, from_version: int) -> None:
    with store.lock():
        version = from_version
        while version < SCHEMA_VERSION:
            STEPS[version](store)
            version += 1
            store.set_meta("schema_version", str(version))
