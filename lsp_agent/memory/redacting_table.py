"""The one choke point for secrets: every write to a store table passes through here.

`MemoryStore.table()` hands out tables wrapped in `RedactingTable`, whose `add`,
`merge_insert(...).execute` and `update` replace secrets (`secrets.redact`) in every text
column (and list of texts) of the rows written, so no writer (blocks and their versions and
reasons, messages and tool calls, conversations, archival, the code index, meta) can store a
secret in clear, now or later. Only identifier columns are left as they are: they are keys
that merges match on, and never free text.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from lsp_agent.memory.secrets import redact, redact_values

# keys, ids, hashes and enums: never free text (a changed key would break the merge on it)
KEEP = frozenset({
    "id", "key", "label", "path", "conversation_id", "prev_id", "parent_id", "tool_call_id",
    "file_hash", "hash", "embedder", "role", "scope", "kind", "language",
})


def _keep(name: str) -> bool:
    return name in KEEP


def redact_arrow(data: Any) -> Any:
    """`data` (an Arrow table or batch, or a list of row dicts) with secrets replaced in every
    text column but the identifier ones; other shapes are returned as they are."""
    if isinstance(data, list):
        return redact_values(data, _keep)
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if not isinstance(data, pa.Table):
        return data
    for i, field in enumerate(data.schema):
        if _keep(field.name):
            continue
        column = data.column(i)
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            values = column.to_pylist()
            clean = [redact(v) if v else v for v in values]
            if clean != values:
                data = data.set_column(i, field, pa.array(clean, field.type))
        elif (pa.types.is_list(field.type) or pa.types.is_large_list(field.type)) and (
                pa.types.is_string(field.type.value_type)):
            values = column.to_pylist()
            clean = [[redact(s) if s else s for s in v] if v else v for v in values]
            if clean != values:
                data = data.set_column(i, field, pa.array(clean, field.type))
    return data


class _RedactingMerge:
    """A LanceDB merge-insert builder whose `execute` redacts the rows first."""

    def __init__(self, builder: Any) -> None:
        self._builder = builder

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._builder, name)
        if not callable(attr):
            return attr

        def chained(*args: Any, **kwargs: Any) -> Any:
            out = attr(*args, **kwargs)
            return _RedactingMerge(out) if out is self._builder or _is_builder(out) else out

        return chained

    def execute(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        return self._builder.execute(redact_arrow(data), *args, **kwargs)


def _is_builder(obj: Any) -> bool:
    return type(obj).__name__.endswith("MergeInsertBuilder")


class RedactingTable:
    """A LanceDB table whose writes never store a secret in clear; reads pass through."""

    def __init__(self, table: Any) -> None:
        self._table = table

    @property
    def inner(self) -> Any:
        """The LanceDB table itself (for reads that need its exact type)."""
        return self._table

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def add(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        return self._table.add(redact_arrow(data), *args, **kwargs)

    def add_redacted(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        """Rows whose text went through `secrets.redact` where they were made, written as
        they are: the code index's chunking workers redact each file before cutting it, so
        scanning its rows again here would double the cost of indexing for nothing."""
        return self._table.add(data, *args, **kwargs)

    def merge_insert(self, on: Any) -> _RedactingMerge:
        return _RedactingMerge(self._table.merge_insert(on))

    def update(self, where: str | None = None, values: dict[str, Any] | None = None,
               **kwargs: Any) -> Any:
        if values is not None:
            values = redact_values(values, _keep)
        return self._table.update(where=where, values=values, **kwargs)


def guard(table: Any) -> Any:
    """`table` wrapped so its writes are redacted (once: a wrapped table is returned as is)."""
    return table if isinstance(table, RedactingTable) or table is None else RedactingTable(table)
