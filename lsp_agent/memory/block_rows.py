"""The `blocks` table's rows: read one per label, written only over an older version.

A block's row is its current text and settings, a copy of its newest version for fast reads.
Machines write rows in any order, so a row is written only over an older version's row (and
over the settings the edit read): an edit that finishes late never undoes a newer one.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from lsp_agent.memory import schema as S
from lsp_agent.memory.commits import retrying
from lsp_agent.memory.schema import Block
from lsp_agent.memory.store import MemoryStore

SETTINGS = ("description", "limit", "read_only")
_SAME_SETTINGS = " AND ".join(f"target.{c} = source.{c}"
                              for c in ("`limit`", "read_only", "description"))


def read_rows(store: MemoryStore) -> dict[str, Block]:
    """label -> its row (of two rows of a label, inserted by machines attaching the same
    shared block at once, the newer version)."""
    out: dict[str, Block] = {}
    for r in store.table("blocks").search().limit(10_000).to_list():
        if r["label"] not in out or r["version"] > out[r["label"]].version:
            out[r["label"]] = Block(**r)
    return out


def write_row(store: MemoryStore, block: Block, where: str = "", *,
              insert: bool = False) -> bool:
    """Upsert the row (only over a row for which `where` holds); whether it was written."""
    data = pa.Table.from_pylist([block.model_dump()], schema=S.BLOCKS)
    tbl = store.table("blocks")

    def write() -> Any:
        merge = tbl.merge_insert("label").when_matched_update_all(where=where or None)
        if insert:
            merge = merge.when_not_matched_insert_all()
        return merge.execute(data)

    result = retrying(write, f"save memory block '{block.label}'")
    return bool(getattr(result, "num_updated_rows", 1) or getattr(result, "num_inserted_rows", 0))


def advance_row(store: MemoryStore, block: Block, *, insert: bool = False) -> Block:
    """Write the row of a version that won, unless a newer version's row is there. An edit's
    row carries the settings it read: when they changed meanwhile, it takes the new ones and
    writes again."""
    for attempt in range(4):
        # the last try without the settings: a description stored before a redaction rule
        # existed never equals its redacted copy
        where = "target.version < source.version" + (f" AND {_SAME_SETTINGS}"
                                                      if attempt < 3 else "")
        if write_row(store, block, where, insert=insert):
            return block
        row = read_rows(store).get(block.label)
        if row is None or row.version >= block.version:
            return block
        block = block.model_copy(update={c: getattr(row, c) for c in SETTINGS})
    return block
