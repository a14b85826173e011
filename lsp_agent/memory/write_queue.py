"""A durable queue of writes to the team store made while it was unavailable.

One JSON line per write, fsync'd before the write is acknowledged, in the agent's local home
(never in the workspace). Entries are replayed in order when the store is back and removed one
by one as each lands; an entry the store refuses for good (over a block's limit, read-only) is
moved to a "set aside" file, shown by `status`, never dropped. Texts are redacted before they
are queued, as every table write is.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lsp_agent.memory.locking import file_lock

log = logging.getLogger(__name__)


class WriteQueue:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "queue.jsonl"
        self.aside_path = folder / "queue.set-aside.jsonl"
        self._lock_path = folder / "queue.lock"

    def append(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Queue `entry` (a dict with a "kind"); returns it with its id and time. Durable
        when this returns."""
        entry = {"id": uuid.uuid4().hex, "queued_at": datetime.now(UTC).isoformat(), **entry}
        self.folder.mkdir(parents=True, exist_ok=True)
        with file_lock(self._lock_path):
            _append_line(self.path, entry)
        return entry

    def entries(self) -> list[dict[str, Any]]:
        """Queued writes, oldest first (a line torn by a crash mid-append was never
        acknowledged: it is skipped)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                log.info("skipped a torn line in %s", self.path)
        return out

    def remove(self, entry_id: str) -> None:
        """Drop one entry (it has landed in the store)."""
        with file_lock(self._lock_path):
            keep = [e for e in self.entries() if e.get("id") != entry_id]
            _rewrite(self.path, keep)

    def set_aside(self, entry: dict[str, Any], why: str) -> None:
        """Move an entry the store refuses for good out of the way, with the reason."""
        with file_lock(self._lock_path):
            _append_line(self.aside_path, {**entry, "refused": why})
            _rewrite(self.path, [e for e in self.entries() if e.get("id") != entry.get("id")])

    def set_aside_entries(self) -> list[dict[str, Any]]:
        try:
            lines = self.aside_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def __len__(self) -> int:
        return len(self.entries())


def _append_line(path: Path, entry: dict[str, Any]) -> None:
    new = not path.exists()
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())
    if new:
        _fsync_dir(path.parent)


def _rewrite(path: Path, entries: list[dict[str, Any]]) -> None:
    """Replace the file atomically (a crash leaves the old list or the new one)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".queue-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        for entry in entries:
            f.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
