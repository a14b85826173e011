"""A readable mirror of the blocks: one markdown file per block, with frontmatter.

People read, grep and diff memory there. An edit a person makes to a file is taken in as a new
version the next time the agent loads (`sync`). When the block also changed in the store since
the file was written, the person's text still becomes the newest version and the other edit
stays in the history, so a conflicting edit is never lost.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from lsp_agent.memory.locking import file_lock
from lsp_agent.memory.schema import Block
from lsp_agent.memory.secrets import redact

if TYPE_CHECKING:
    from lsp_agent.memory.blocks import BlockManager

log = logging.getLogger(__name__)
STATE_FILE = ".mirror-state.json"


def render(block: Block) -> str:
    """The block's file text; secrets redacted even if a block was stored before redaction."""
    front = {
        "label": block.label,
        "description": redact(block.description),
        "limit": block.limit,
        "read_only": block.read_only,
        "scope": block.scope,
        "version": block.version,
    }
    head = yaml.safe_dump(front, sort_keys=False, allow_unicode=True).strip()
    return f"---\n{head}\n---\n{redact(block.value)}"


def parse(text: str) -> tuple[dict[str, Any], str]:
    """Split a mirror file into (frontmatter, value); raise ValueError when malformed."""
    if not text.startswith("---\n"):
        raise ValueError("missing '---' frontmatter at the top")
    end = text.find("\n---\n", 4)
    if end < 0:
        if text.endswith("\n---"):
            end, body = len(text) - 4, ""
        else:
            raise ValueError("frontmatter is not closed by a '---' line")
    else:
        body = text[end + 5 :]
    meta = yaml.safe_load(text[4:end]) or {}
    if not isinstance(meta, dict):
        raise ValueError("frontmatter is not a mapping")
    return meta, body


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Mirror:
    """The memory folder of one agent."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.warnings: list[str] = []

    def path(self, label: str) -> Path:
        return self.folder / f"{label}.md"

    def _state(self) -> dict[str, dict[str, Any]]:
        try:
            return json.loads((self.folder / STATE_FILE).read_text())
        except (OSError, ValueError):
            return {}

    def _save_state(self, state: dict[str, dict[str, Any]]) -> None:
        _atomic_write(self.folder / STATE_FILE, json.dumps(state, indent=1, sort_keys=True))

    def write(self, block: Block) -> None:
        """Write one block's file (after each store change)."""
        with file_lock(self.folder / ".mirror.lock"):
            text = render(block)
            state = self._state()
            if self._edited_by_person(block.label, state.get(block.label), text):
                # Not taken in yet: overwriting would lose it. The next sync takes it in (as a
                # conflict, since the store moved on) and rewrites the file.
                return
            _atomic_write(self.path(block.label), text)
            state[block.label] = {"version": block.version, "hash": _hash(text)}
            self._save_state(state)

    def sync(self, manager: BlockManager) -> list[str]:
        """Take in people's edits to the files, then rewrite every file from the store.

        Returns a line per change taken in, for the log and the user.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        taken: list[str] = []
        skipped: set[str] = set()
        with file_lock(self.folder / ".mirror.lock"):
            state = self._state()
            blocks = {b.label: b for b in manager.list()}
            for file in sorted(self.folder.glob("*.md")):
                label = file.stem
                try:
                    text = file.read_text(encoding="utf-8")
                except UnicodeDecodeError as exc:
                    taken.append(self._set_aside(file, file.read_bytes(), f"it is not UTF-8 ({exc})"))
                    continue
                except OSError as exc:
                    self.warnings.append(f"Could not read {file}: {exc}; it was left as it is.")
                    skipped.add(label)
                    continue
                known = state.get(label)
                if known and known.get("hash") == _hash(text):
                    continue  # unchanged since written
                if known is None and label in blocks and text == render(blocks[label]):
                    continue
                taken.extend(self._take_in(manager, file, text, blocks.get(label), known))
            blocks = {b.label: b for b in manager.list()}
            before = dict(state)
            for block in blocks.values():
                if block.label in skipped or self._behind(block, state.get(block.label)):
                    continue
                rendered = render(block)
                entry = {"version": block.version, "hash": _hash(rendered)}
                if not self._holds(block.label, rendered):  # a sound open writes nothing
                    _atomic_write(self.path(block.label), rendered)
                state[block.label] = entry
            if state != before or not (self.folder / STATE_FILE).exists():
                self._save_state(state)
        return taken

    def _holds(self, label: str, text: str) -> bool:
        try:
            return self.path(label).read_bytes() == text.encode("utf-8")
        except OSError:
            return False

    def _behind(self, block: Block, known: dict[str, Any] | None) -> bool:
        """Whether the store holds an older version than the file was written from: the store
        lost something (restored from an old backup, damaged). The file is kept as it is,
        never rewritten with less; the store's history keeps both."""
        if known is None or int(known.get("version", 0)) <= block.version:
            return False
        msg = (f"{self.path(block.label).name} was written from version {known['version']} of "
               f"'{block.label}', but the store holds version {block.version}: the file was "
               "left as it is. Check the store (`lsp-agent doctor`), then edit the file or the "
               "block to settle it.")
        if msg not in self.warnings:
            self.warnings.append(msg)
            log.warning(msg)
        return True

    def _take_in(
        self, manager: BlockManager, file: Path, text: str, block: Block | None,
        known: dict[str, Any] | None,
    ) -> list[str]:
        from lsp_agent.memory.blocks import BlockError

        label = file.stem
        try:
            meta, value = parse(text)
        except (ValueError, yaml.YAMLError) as exc:
            return [self._set_aside(file, text, f"it could not be parsed ({exc})")]
        try:
            if block is None:
                manager.create(
                    label, _text(meta.get("description")), value,
                    limit=int(meta.get("limit", 5000)), read_only=bool(meta.get("read_only", False)),
                    author="mirror", reason=f"created from {file.name}",
                )
                return [f"{label}: created from {file.name}"]
            conflict = known is not None and block.version != known.get("version")
            reason = f"edited in {file.name}"
            if conflict:
                reason += (
                    f" (conflict: the store had moved to version {block.version} since the file was"
                    " written; that version stays in the history)"
                )
            manager.update_settings(
                label,
                description=_text(meta.get("description", block.description)),
                limit=max(int(meta.get("limit", block.limit)), len(value)) if "limit" in meta
                else None,
                read_only=bool(meta.get("read_only", block.read_only)),
            )
            if value != block.value:
                manager.edit(label, lambda _old: value, author="mirror", reason=reason)
            return [f"{label}: {reason}"]
        except (BlockError, ValueError, TypeError) as exc:
            return [self._set_aside(file, text, str(exc))]

    def _edited_by_person(self, label: str, known: dict[str, Any] | None, text: str) -> bool:
        """Whether the file holds text that was not written by the mirror (nor is `text`)."""
        try:
            current = self.path(label).read_bytes()
        except FileNotFoundError:
            return False
        except OSError:
            return True
        if current == text.encode("utf-8"):
            return False
        return known is None or known.get("hash") != hashlib.sha256(current).hexdigest()

    def _set_aside(self, file: Path, text: str | bytes, why: str) -> str:
        """Keep a file that cannot be taken in beside the mirror, so the edit is not lost.

        `text` is what was read from the file: it is saved as such (other writes may have
        replaced the file since), under a name no earlier rejected file uses, secrets redacted
        (undecodable bytes are kept as they are).
        """
        raw = text.encode("utf-8") if isinstance(text, str) else text
        data = redact(raw.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
        stamp, n = int(time.time()), 0
        while True:
            kept = file.with_name(f"{file.stem}.rejected-{stamp}{f'-{n}' if n else ''}.md.txt")
            try:
                with open(kept, "xb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                break
            except FileExistsError:
                n += 1
        try:
            if file.read_bytes() == raw:
                file.unlink()
        except OSError:
            pass
        reason = " ".join(why.split())  # YAML's errors span lines: one line for a notice
        reason = reason if len(reason) <= 200 else reason[:199] + "…"
        msg = f"{file.name} was not taken in because {reason}; your text is kept in {kept.name}."
        if msg not in self.warnings:
            self.warnings.append(msg)
        log.warning(msg)
        return msg


def _text(value: Any) -> str:
    """A frontmatter string field; a blank one (`description:`) is YAML null, i.e. empty."""
    return "" if value is None else str(value)


def _atomic_write(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (a reader sees the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
