"""`lsp-agent doctor`: what is damaged in a store, and its repair from what is intact.

Blocks are rebuilt from their newest versions (their settings from the mirror's frontmatter or
the defaults), a lost versions table from the blocks (one version each, marked repaired), and
meta anew with a note. A table that cannot be rebuilt is moved aside into `damaged-<time>/`
beside the tables (never deleted) and made again empty. Nothing is written before the user
asks for the repair.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from lsp_agent.memory import schema as S
from lsp_agent.memory.blocks import DEFAULT_BLOCKS, BlockManager
from lsp_agent.memory.damage import CREATED_PREFIX, REBUILDABLE, StoreDamaged, _check_table
from lsp_agent.memory.mirror import Mirror, parse
from lsp_agent.memory.schema import Block, BlockVersion, utcnow
from lsp_agent.memory.store import TABLES, MemoryStore, StoreError
from lsp_agent.paths import is_local_uri, local_path

REPAIRED_BY = "system"  # the Author of rows doctor writes; their reason says "repaired"


@dataclass
class TableState:
    name: str
    state: str  # "intact", "damaged", "missing", "absent" (never made: not damage)
    detail: str = ""
    rows: int | None = None


def check(store: MemoryStore) -> list[TableState]:
    """Every table's state, without writing anything."""
    _ = store.db  # opens and inspects
    existing = store._existing()
    out: list[TableState] = []
    for name in (*TABLES, *REBUILDABLE):
        if name in store.damage:
            why = store.damage[name]
            if why.startswith("is missing"):
                out.append(TableState(name, "missing", why.removeprefix("is missing").strip(" ()")))
            else:
                out.append(TableState(name, "damaged", why))
        elif name in REBUILDABLE and name in existing:  # read here: table() would drop it
            tbl, why = _check_table(store, name)
            out.append(TableState(name, "intact", rows=tbl.count_rows()) if tbl is not None
                       else TableState(name, "damaged", f"{why}; rebuilt on next use"))
        elif name in existing:
            out.append(TableState(name, "intact", rows=store.table(name).count_rows()))
        else:
            out.append(TableState(name, "absent", "not made yet"))
    return out


def repair(store: MemoryStore, mirror: Mirror, workspace: Path) -> list[str]:
    """Repair every damaged table; a line per action. The caller opens the memory again."""
    if not store.damage:
        return []
    if not is_local_uri(store.uri):
        raise StoreError(
            f"lsp-agent doctor --repair works on a local store; {store.uri} is remote. Copy it "
            "to a folder, repair it there with --store DIR, and copy it back.")
    import lancedb

    root = local_path(store.uri)
    damage = dict(store.damage)
    # read what rebuilding needs from the intact tables before anything moves
    versions = _rows(store, "block_versions") if "block_versions" not in damage else None
    # of two machines' rows of one version, the one committed first (memory/commits.py)
    latest = BlockManager(store).latest_versions() if versions is not None else None
    blocks = _rows(store, "blocks") if "blocks" not in damage else None
    files = _mirror_blocks(mirror)
    aside = root / f"damaged-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    done: list[str] = []
    for name in damage:
        if (root / f"{name}.lance").exists():
            aside.mkdir(exist_ok=True)
            shutil.move(root / f"{name}.lance", aside / f"{name}.lance")
            done.append(f"{name}: the damaged table was moved to {aside / f'{name}.lance'}")
    store.reset()
    db = lancedb.connect(str(root))

    def make(name: str, rows: list[dict[str, Any]]) -> None:
        schema = store._schema(name)
        db.create_table(name, data=pa.Table.from_pylist(rows, schema=schema), schema=schema)

    if "meta" in damage:
        have = set(db.list_tables().tables) | {n for n in damage if n not in REBUILDABLE}
        make("meta", [{"key": "schema_version", "value": str(_schema_version(db))},
                      {"key": "workspace", "value": str(workspace)},
                      {"key": "repaired", "value": f"meta recreated by lsp-agent doctor on "
                                                   f"{utcnow():%Y-%m-%d %H:%M} UTC"}]
             + [{"key": CREATED_PREFIX + n, "value": "1"} for n in sorted(have & set(TABLES))
                if n != "meta"])
        done.append("meta: recreated (schema version, workspace, a note of the repair)")
    if "blocks" in damage:
        rows, source = _blocks_from(latest, files)
        make("blocks", [b.model_dump() for b in rows])
        done.append(f"blocks: {len(rows)} rebuilt from {source}")
        if versions is None:  # both lost: the mirror's values become version rows too
            versions = [_version_of(b) for b in rows]
            make("block_versions", versions)
            done.append(f"block_versions: {len(versions)} rebuilt from the mirror files, "
                        "marked repaired (earlier versions are lost)")
    elif "block_versions" in damage:
        rows_v = [_version_of(Block(**r)) for r in blocks or []]
        make("block_versions", rows_v)
        done.append(f"block_versions: {len(rows_v)} rebuilt from the blocks, one version each "
                    "marked repaired (earlier versions are lost)")
    for name in ("conversations", "messages", "archival"):
        if name in damage:
            make(name, [])
            done.append(f"{name}: cannot be rebuilt from other tables; made again empty "
                        "(the damaged files are kept, see above)")
    store.reset()
    _ = store.db
    if store.damage:
        raise StoreDamaged(
            f"The repair did not restore every table of {store.where} "
            f"({', '.join(store.damage)}); restore the store from a backup.")
    return done


def _rows(store: MemoryStore, name: str) -> list[dict[str, Any]] | None:
    tbl = store.table(name, create=False)
    return None if tbl is None else tbl.search().limit(10_000_000).to_list()


def _mirror_blocks(mirror: Mirror) -> dict[str, tuple[dict[str, Any], str]]:
    """label -> (frontmatter, value) of every mirror file that parses."""
    out: dict[str, tuple[dict[str, Any], str]] = {}
    for file in sorted(mirror.folder.glob("*.md")) if mirror.folder.is_dir() else []:
        try:
            out[file.stem] = parse(file.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            continue
    return out


def _settings(label: str, files: dict[str, tuple[dict[str, Any], str]]) -> dict[str, Any]:
    """A block's description, limit, read-only flag and scope: from its mirror file, else the
    defaults (the versions table does not keep them)."""
    defaults = {d[0]: {"description": d[1], "limit": d[3]} for d in DEFAULT_BLOCKS}
    got: dict[str, Any] = dict(defaults.get(label, {}))
    front = files.get(label, ({}, ""))[0]
    for key in ("description", "limit", "read_only", "scope"):
        if front.get(key) is not None:
            got[key] = front[key]
    return got


def _blocks_from(latest: dict[str, BlockVersion] | None,
                 files: dict[str, tuple[dict[str, Any], str]]) -> tuple[list[Block], str]:
    if latest is None:
        rows = []
        for label, (front, value) in files.items():
            version = int(front.get("version") or 1)
            rows.append(_block(label, value, version, "mirror", utcnow(), files))
        return rows, "the mirror files (the versions table was lost too)"
    rows = [_block(v.label, v.new_value, v.version, v.author, v.timestamp, files)
            for v in latest.values()]
    return rows, "their newest versions"


def _block(label: str, value: str, version: int, author: str, when: datetime,
           files: dict[str, tuple[dict[str, Any], str]]) -> Block:
    got = _settings(label, files)
    limit = max(int(got.get("limit") or 5000), len(value))
    return Block(label=label, description=str(got.get("description") or ""), value=value,
                 limit=limit, read_only=bool(got.get("read_only", False)),
                 scope="shared" if got.get("scope") == "shared" else "agent", version=version,
                 updated_at=when, updated_by=author)


def _version_of(block: Block) -> dict[str, Any]:
    return BlockVersion(
        label=block.label, version=max(block.version, 1), author=REPAIRED_BY,
        timestamp=utcnow(), reason="repaired by lsp-agent doctor: rebuilt from the block's "
        "value (earlier versions are lost)", old_value="", new_value=block.value).model_dump()


def _schema_version(db: Any) -> int:
    """The version the tables' shapes show (messages without prev_id: 1, migrated on open)."""
    if "messages" in set(db.list_tables().tables):
        if "prev_id" not in db.open_table("messages").schema.names:
            return 1
    return S.SCHEMA_VERSION
