"""Damage to a store, found when it opens: which tables are missing, unreadable or of the
wrong shape, and which are intact.

A damaged store is never written to (nor its mirror rewritten) until the user acts: every
table is handed out behind `ReadOnlyTable`, so reads of the intact parts work and any write
is refused with a sentence that says what is damaged and how to repair it (`lsp-agent
doctor`). Without this, a deleted `blocks.lance` looked like an empty memory and the mirror
was rewritten empty.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from lsp_agent.memory import schema as S
from lsp_agent.memory.store import TABLES, StoreError

if TYPE_CHECKING:
    from lsp_agent.memory.store import MemoryStore

#: Tables every store has once opened (expected when its meta is lost).
ALWAYS = ("meta", "blocks", "block_versions")
#: meta key recording that a table was created (so its absence later is damage).
CREATED_PREFIX = "table:"
#: Tables whose rows can be made again (the code index by `lsp-agent index`, the cache by
#: embedding again): never expected, and a broken one (e.g. half made on a full disk) is
#: dropped and made again on use rather than making the whole store read-only.
REBUILDABLE = ("embedding_cache", "code_chunks", "code_files")
WRITES = frozenset({
    "add", "merge_insert", "delete", "update", "add_columns", "alter_columns", "drop_columns",
    "optimize", "create_index", "create_fts_index", "create_scalar_index", "compact_files",
    "cleanup_old_versions", "restore", "drop_index", "migrate_v2_manifest_paths",
})
# Rust source locations (`, /rustc/<hash>/library/...rs:250:5`, `/root/.cargo/...rs:258:9`)
# and error-kind prefixes lance adds to its messages: noise to a person.
_NOISE = (re.compile(r",?\s*(?:/|[A-Za-z]:\\)\S*\.rs:\d+:\d+"), re.compile(r"lance error: "),
          re.compile(r"LanceError\(\w+\): "), re.compile(r"Generic memory error: "))


def clean(exc: BaseException | str) -> str:
    """An error's message without lance's internal locations and prefixes."""
    text = str(exc)
    for pattern in _NOISE:
        text = pattern.sub("", text)
    return text.strip().rstrip(".") or type(exc).__name__


class StoreDamaged(StoreError):
    """Part of the store is damaged: it is read-only until `lsp-agent doctor` repairs it."""


def _required_columns(name: str) -> set[str]:
    """The columns this version of lsp-agent reads from `name` (vector width aside)."""
    shapes = {"meta": S.META, "blocks": S.BLOCKS, "block_versions": S.BLOCK_VERSIONS,
              "conversations": S.CONVERSATIONS, "messages": S.messages_schema(S.DEFAULT_DIM),
              "archival": S.archival_schema(S.DEFAULT_DIM),
              "embedding_cache": S.embedding_cache_schema(S.DEFAULT_DIM),
              "code_chunks": S.code_chunks_schema(S.DEFAULT_DIM), "code_files": S.CODE_FILES}
    # columns added by a migration, which runs after this check
    return set(shapes[name].names) - S.ADDED_BY_MIGRATION.get(name, frozenset())


def _check_table(store: MemoryStore, name: str) -> tuple[Any, str]:
    """(the opened table, "") or (None, what is wrong with it). A rebuildable table of
    another shape is not damage: the store drops and rebuilds it (store.REBUILDABLE)."""
    try:
        tbl = store._open_existing(name)  # waits for a table another process is making
    except StoreError as exc:
        cause = exc.__cause__ or exc
        return None, f"cannot be read ({clean(cause)})"
    if name in REBUILDABLE:
        return tbl, ""
    missing = sorted(_required_columns(name) - set(tbl.schema.names))
    if missing:
        return None, f"does not have the columns {', '.join(missing)} (schema mismatch)"
    return tbl, ""


def inspect(store: MemoryStore) -> tuple[dict[str, str], dict[str, Any]]:
    """(damage: table -> what is wrong, opened: intact core tables by name)."""
    existing = store._existing()
    damage: dict[str, str] = {}
    opened: dict[str, Any] = {}
    expected: set[str] = set()
    if "meta" in existing:
        tbl, why = _check_table(store, "meta")
        if why:
            damage["meta"] = why
            expected.update(ALWAYS)
        else:
            opened["meta"] = tbl
            # only tables recorded once made: a version alone is no promise (another process
            # may be between writing the version and making the blocks)
            keys = [r["key"] for r in tbl.search().select(["key"]).limit(10_000).to_list()]
            expected.update(k[len(CREATED_PREFIX):] for k in keys if k.startswith(CREATED_PREFIX))
    elif store.expects_meta and existing & set(TABLES):
        damage["meta"] = "is missing (the other tables are there)"
        expected.update(ALWAYS)
    # list again: a table is recorded in meta only after it is made, so every table recorded
    # when meta was read exists by now (the first listing may predate another process making it)
    existing = store._existing()
    for name in TABLES:  # rebuildable tables: checked on use, dropped and made again
        if name == "meta" or name in damage:
            continue
        if name not in existing:
            if name in expected:
                damage[name] = "is missing"
            continue
        tbl, why = _check_table(store, name)
        if why:
            damage[name] = why
        else:
            opened[name] = tbl
    return damage, opened


def describe(store: MemoryStore) -> str:
    """The refusal: what is damaged, what is intact, what to do."""
    where = store.where
    wrong = "; ".join(f"table '{n}' {why}" for n, why in store.damage.items())
    intact = [n for n in (*TABLES, *REBUILDABLE)
              if n not in store.damage and n in store._existing()]
    return (
        f"The memory store {where} is damaged and cannot be read in full: {wrong}. Intact: "
        f"{', '.join(intact) or 'nothing'}. It is read-only until you act; nothing was changed "
        "or overwritten. Run `lsp-agent doctor --repair` to rebuild what can be rebuilt (blocks "
        f"from their versions, versions from blocks), or move it aside (`mv {where} "
        f"{where}.broken`) to start with empty memory, or restore it from a backup."
    )


def notice(store: MemoryStore) -> str:
    """One line for the user when a damaged store opens (details: `lsp-agent doctor`)."""
    names = ", ".join(store.damage)
    return (f"The memory store {store.where} is damaged ({names}): it is read-only until you "
            "run `lsp-agent doctor` (and `lsp-agent doctor --repair`).")


class ReadOnlyTable:
    """A table of a damaged store: reads pass through, writes are refused with the report."""

    def __init__(self, tbl: Any, store: MemoryStore) -> None:
        self._tbl = tbl
        self._store = store

    def __getattr__(self, name: str) -> Any:
        if name in WRITES:
            def refuse(*_args: Any, **_kwargs: Any) -> Any:
                raise StoreDamaged(describe(self._store))
            return refuse
        return getattr(self._tbl, name)


def read_only_table(store: MemoryStore, name: str, create: bool) -> Any:
    """`store.table(name)` of a damaged store: refused if damaged (or to be made), else
    read-only."""
    if name in store.damage:
        raise StoreDamaged(describe(store))
    if name not in store._tables:
        if name not in store._existing():
            if not create:
                return None
            raise StoreDamaged(describe(store))
        store._tables[name] = store._open_existing(name)
    return ReadOnlyTable(store._tables[name], store)


def record_tables(store: MemoryStore) -> None:
    """Record the tables of a store made before creations were recorded (once; a sound
    store's later opens write nothing)."""
    for name in sorted(store._existing() & set(TABLES) - {"meta"}):
        if store.get_meta(CREATED_PREFIX + name) is None:
            store.set_meta(CREATED_PREFIX + name, "1")
