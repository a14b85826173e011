"""Scrub a store that already holds secrets in clear (written before redaction, or by a rule
that has since learned a new format).

Redaction at the write path (redacting_table.py) keeps new secrets out; this removes old
ones: every text table is rewritten with its rows redacted, and every older LanceDB version is
deleted (old versions are whole files on disk, so a secret edited away stays readable in them
until they go). The code index drops the chunks of files that hold a secret and forgets those
files, so the next index run reads them again and leaves them out. The block history (the
`block_versions` table) is kept, redacted: only LanceDB's own file versions are removed.

Run it while no other lsp-agent process uses the store (`lsp-agent doctor --scrub`): a reader
still on an old version would lose it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from lsp_agent.memory import mirror
from lsp_agent.memory.index_upkeep import maintain
from lsp_agent.memory.mirror import atomic_write_bytes
from lsp_agent.memory.redacting_table import redact_arrow
from lsp_agent.memory.secrets import redact
from lsp_agent.memory.store import CODE_INDEX, TABLES, MemoryStore, sql_str

log = logging.getLogger(__name__)

# tables whose indexes (full text of search_text, scalar, vector) are rebuilt after the rewrite
_INDEXED = frozenset({"messages", "archival", "code_chunks"})


@dataclass
class ScrubReport:
    """What `scrub_store` changed: rows redacted per table, code files dropped from the index,
    LanceDB versions deleted, mirror files rewritten."""

    rows_redacted: dict[str, int] = field(default_factory=dict)
    code_files_dropped: list[str] = field(default_factory=list)
    versions_removed: int = 0
    mirror_files: list[str] = field(default_factory=list)

    @property
    def secrets_found(self) -> bool:
        return bool(sum(self.rows_redacted.values()) or self.code_files_dropped
                    or self.mirror_files)

    def to_dict(self) -> dict[str, Any]:
        return {"rows_redacted": dict(self.rows_redacted),
                "code_files_dropped": list(self.code_files_dropped),
                "versions_removed": self.versions_removed,
                "mirror_files": list(self.mirror_files),
                "secrets_found": self.secrets_found}


def scrub_store(store: MemoryStore, mirror_folder: Path | None = None) -> ScrubReport:
    """Rewrite every table of `store` with secrets redacted, drop code-index chunks of files
    holding secrets, delete all older LanceDB versions, and redact the files of
    `mirror_folder` (the memory folder's markdown files and set-aside texts) in place.

    Safe to run again (a clean store is rewritten unchanged). Returns what changed.
    """
    from lsp_agent.memory.blocks import BlockManager
    from lsp_agent.memory.store import StoreError

    report = ScrubReport()
    # the rewrite leaves one version: two claims of a block version still open would lose the
    # history that says which came first, so they are settled before
    if not BlockManager(store).repair():
        raise StoreError("Scrubbing must wait: the store could not say which of two concurrent "
                         "block edits came first. Nothing was changed; try again.")
    with store.lock(), store.lock("code-index"):
        for name in (*TABLES, *CODE_INDEX):  # the embedding cache holds no text
            if not store.has_tables(name):
                continue
            tbl = store.table(name)
            data = tbl.to_arrow()
            if name == "code_chunks":
                data = _drop_secret_chunks(store, data, report)
            clean = redact_arrow(data)
            changed = _changed_rows(data, clean)
            if changed:
                report.rows_redacted[name] = changed
            before = len(tbl.list_versions())
            # new files only: nothing of the old ones is kept (rows without vectors stay so)
            tbl.add(clean, mode="overwrite", on_bad_vectors="null")
            if name in _INDEXED:
                maintain(tbl)
            with warnings.catch_warnings():  # "removes every version but the latest": intended
                warnings.simplefilter("ignore", UserWarning)
                tbl.optimize(cleanup_older_than=timedelta(0), delete_unverified=True)
            report.versions_removed += max(0, before + 1 - len(tbl.list_versions()))
    if mirror_folder is not None and mirror_folder.is_dir():
        report.mirror_files = _scrub_mirror(mirror_folder)
    return report


def _drop_secret_chunks(store: MemoryStore, data: pa.Table, report: ScrubReport) -> pa.Table:
    """The chunks of files that hold no secret; the others' files are forgotten by the index."""
    texts = data.column("text").to_pylist()
    paths = data.column("path").to_pylist()
    bad = sorted({p for p, t in zip(paths, texts, strict=True) if t and redact(t) != t})
    if not bad:
        return data
    report.code_files_dropped = bad
    files = store.table("code_files")
    for start in range(0, len(bad), 500):
        group = bad[start:start + 500]
        files.delete("path IN (" + ",".join(sql_str(p) for p in group) + ")")
    keep = pa.array([p not in set(bad) for p in paths])
    return data.filter(keep)


def _changed_rows(before: pa.Table, after: pa.Table) -> int:
    if before.num_rows != after.num_rows:
        return 0
    rows_a, rows_b = before.to_pylist(), after.to_pylist()
    return sum(a != b for a, b in zip(rows_a, rows_b, strict=True))


def _scrub_mirror(folder: Path) -> list[str]:
    """Redact the memory folder's files in place; the mirror's state follows the block files
    so the next sync does not take the rewrite for a person's edit."""
    changed: list[str] = []
    state_path = folder / mirror.STATE_FILE
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError):
        state = {}
    for path in sorted([*folder.glob("*.md"), *folder.glob("*.md.txt")]):
        try:
            raw = path.read_bytes()
        except OSError as exc:
            log.warning("could not read %s to scrub it: %s", path, exc)
            continue
        text = raw.decode("utf-8", "surrogateescape")
        clean = redact(text)
        if clean == text:
            continue
        _replace(path, clean.encode("utf-8", "surrogateescape"))
        changed.append(path.name)
        label = path.name[:-3] if path.name.endswith(".md") else ""
        if label in state and state[label].get("hash") == _sha256(raw):
            state[label]["hash"] = _sha256(clean.encode("utf-8", "surrogateescape"))
    if changed and state:
        _replace(state_path, json.dumps(state, indent=1, sort_keys=True).encode())
    return changed


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()  # the mirror state's hash of a file's text


def _replace(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (a reader sees the old file or the new one)."""
    atomic_write_bytes(path, data)
