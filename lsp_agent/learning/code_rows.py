"""Rows of the codebase index: file -> chunk rows, search text, and hits.

Kept apart from `code_index` so that chunking worker processes import only this (no LanceDB).
The rows' tables belong to the store: their schemas are in memory/schema.py.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from lsp_agent.learning import workspace_files as wf
from lsp_agent.learning.chunker import chunk_file
from lsp_agent.memory.secrets import redact

log = logging.getLogger(__name__)

Progress = Callable[[str, "int | None"], None]  # message, percent (None: unknown)

MAX_EMBED_CHARS = 1500  # the embedder truncates at ~256 tokens anyway; less to tokenise
SNIPPET_LINES = 6
SNIPPET_CHARS = 400


@dataclass
class IndexReport:
    """What one indexing run did; `skipped` lists (path, reason) for files left out."""

    files_seen: int = 0
    files_indexed: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    chunks_added: int = 0
    chunks_total: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False
    redacted_files: int = 0  # indexed with their secrets replaced by tags

    @property
    def secret_files(self) -> int:
        """Files left out because their name says they hold secrets (.env, keys); files in
        which the detector finds one are indexed redacted (`redacted_files`)."""
        return sum(r.startswith(wf.SECRET_REASON) for _, r in self.skipped)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "secret_files": self.secret_files,
                "skipped": [{"path": p, "reason": r} for p, r in self.skipped]}


# -- files to rows (runs in worker processes) ----------------------------------------------------

Job = tuple[str, str, "str | None", "str | None"]  # absolute path, rel path, language, old hash


@dataclass
class FileResult:
    """One file read: rows is None when its content is unchanged (or it could not be read)."""

    path: str
    hash: str
    size: int
    mtime: int
    rows: list[dict[str, Any]] | None
    error: str = ""
    redacted: bool = False  # secrets were found and replaced by tags in its rows

    def file_row(self) -> dict[str, Any]:
        return {"path": self.path, "hash": self.hash, "size": self.size, "mtime": self.mtime,
                "chunks": len(self.rows or [])}


def read_and_chunk(job: Job) -> FileResult:
    """Hash a file and, when its content changed, cut it into chunk rows (without vectors)."""
    abs_path, rel, language, old_hash = job
    try:
        st = os.stat(abs_path)  # before reading: a later change then shows as a newer mtime
        with open(abs_path, "rb") as f:
            data = f.read()
    except OSError as exc:
        return FileResult(rel, "", 0, 0, None, f"unreadable ({exc.strerror})")
    digest = wf.content_hash(data)
    if digest == old_hash:
        return FileResult(rel, digest, st.st_size, st.st_mtime_ns, None)
    text = data.decode("utf-8", errors="replace")
    cleaned = redact(text)  # the index never holds a secret; the rest of the file stays findable
    redacted = cleaned is not text and cleaned != text
    category = wf.file_category(rel, language)
    rows = [
        chunk_row(rel, c.start_line, c.end_line, c.kind, c.symbol or "", language or "", c.text,
                  digest, category=category, context=c.context)
        for c in chunk_file(rel, cleaned, language)
    ]
    return FileResult(rel, digest, st.st_size, st.st_mtime_ns, rows, redacted=redacted)


def chunk_all(jobs: list[Job], pool_min_files: int, ahead: int = 32) -> Iterator[FileResult]:
    """Results in job order; worker processes when there are many files (tree-sitter holds
    the GIL, so threads would not help), in-process otherwise or if the workers fail. At most
    `ahead` files per worker are in flight: results never pile up in memory while the caller
    is writing (a 20,000-file tree would otherwise hold all its rows at once)."""
    done = 0
    if len(jobs) >= pool_min_files and (os.cpu_count() or 1) >= 2:
        workers = min(os.cpu_count() or 2, 4)
        # spawn, not fork: the parent runs LanceDB's threads, which must not be forked.
        pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
        try:
            pending: deque[Future[FileResult]] = deque()
            queued = 0
            while done < len(jobs):
                while queued < len(jobs) and len(pending) < workers * ahead:
                    pending.append(pool.submit(read_and_chunk, jobs[queued]))
                    queued += 1
                result = pending.popleft().result()
                done += 1
                yield result
        except (BrokenProcessPool, OSError) as exc:
            log.info("chunking workers failed (%s); continuing in-process", exc)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
    yield from map(read_and_chunk, jobs[done:])


def chunk_row(path: str, start: int, end: int, kind: str, symbol: str, language: str,
              text: str, file_hash: str, *, category: str = "code",
              context: str = "") -> dict[str, Any]:
    text_hash = hashlib.sha256(f"{context}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()
    chunk_id = hashlib.sha256(f"{path}\0{start}\0{end}\0{text_hash}".encode()).hexdigest()[:32]
    return {"id": chunk_id, "path": path, "start_line": start, "end_line": end, "kind": kind,
            "symbol": symbol, "language": language, "category": category, "context": context,
            "text": text, "search_text": search_text(path, kind, symbol, text, context),
            "file_hash": file_hash, "vector": None, "embedder": ""}


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def split_identifier(word: str) -> list[str]:
    """`parseHTTPSettings` / `parse_settings` -> its lower-case words."""
    return [p.lower() for piece in word.split("_") for p in _PART.findall(piece)]


def _camel_words(text: str) -> list[str]:
    """Words hidden inside camelCase identifiers. The full-text tokenizer already splits
    snake_case at underscores, but would keep `parseSettings` as one token."""
    words: dict[str, None] = {}
    for ident in set(_IDENT.findall(text)):
        if not ident.islower() and not ident.isupper():
            parts = split_identifier(ident)
            if len(parts) > 1:
                words.update(dict.fromkeys(parts))
    return list(words)


def search_text(path: str, kind: str, symbol: str, text: str, context: str = "") -> str:
    """What full-text search sees: a header naming the file and symbol, the signatures the
    piece sits in, the code, and the words of camelCase identifiers (so `settings` finds
    `parseSettings`)."""
    symbol_words = " ".join(split_identifier(symbol))
    extra = " ".join(_camel_words(f"{context}\n{text}"))
    return f"{path} {kind} {symbol}\n{symbol_words}\n{context}\n{text}\n{extra}"


def embed_text(row: dict[str, Any]) -> str:
    """What the embedder sees. No line numbers: moved code keeps its cached vector."""
    head = f"{row['path']} {row['symbol']}".strip()
    context = row.get("context") or ""
    return f"{head}\n{context}\n{row['text']}"[:MAX_EMBED_CHARS]


def expand_query(query: str) -> str:
    """The query plus the words of its camelCase identifiers."""
    extra = [w for w in _camel_words(query) if w not in query.lower()]
    return " ".join([query, *extra])


_CODE_TOKEN = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*")


def _identifiers(query: str) -> set[str]:
    """Tokens of a query written as code (`normalizeError`, `parse_args`, `got.extend`):
    lower-cased, with their last part."""
    out: set[str] = set()
    for tok in _CODE_TOKEN.findall(query):
        leaf = tok.rsplit(".", 1)[-1]
        if "." in tok or "_" in leaf.strip("_") or (leaf[1:] != leaf[1:].lower()
                                                     and leaf[1:] != leaf[1:].upper()):
            out.update({tok.lower(), leaf.lower()})
    return out


def name_tier(symbol: str, query: str) -> int:
    """2 when the query names one of the chunk's symbols (the whole query, or an identifier
    written in it), 1 when a short query's words all appear in one symbol's name, else 0."""
    if not symbol:
        return 0
    words = [w for q in query.split() for w in split_identifier(q)]
    if not words:
        return 0
    wanted = "".join(words)
    named = _identifiers(query)
    tier = 0
    for name in symbol.split(", "):
        leaf = name.rsplit(".", 1)[-1]
        if wanted in ("".join(split_identifier(leaf)), "".join(split_identifier(name))):
            return 2
        if named and (leaf.lower() in named or name.lower() in named):
            return 2
        if len(words) <= 4 and set(words) <= set(split_identifier(name)):
            tier = 1
    return tier


def ranked_score(tier: float, score: float) -> float:
    """The score a code hit reports, in the order hits are ranked: its name tier (0-2) plus its
    search score squashed into (0, 1) (full-text, vector and fused scores have any range)."""
    return tier + 0.5 + math.atan(score) / math.pi


# -- single paths (editor events) ----------------------------------------------------------------


def relative(root: Path, path: Path) -> str | None:
    """`path` relative to the workspace (POSIX), or None when it lies outside."""
    path = path if path.is_absolute() else root / path
    try:
        rel = Path(os.path.normpath(path)).relative_to(root)
    except ValueError:
        return None
    return rel.as_posix() if rel.parts else None


def classify_paths(
    root: Path, rels: list[str], known: dict[str, Any], all_known: Callable[[], Iterable[str]],
) -> tuple[list[wf.FileEntry], list[str], list[wf.SkippedFile]]:
    """Sort changed paths into files to (re)index, paths whose rows must go, and skipped files.

    A directory (created, or switched by git) is rescanned; a deleted directory removes every
    file under it; a changed .gitignore rescans its directory, a changed .git/HEAD everything.
    """
    entries: dict[str, wf.FileEntry] = {}
    gone: set[str] = set()
    skipped: list[wf.SkippedFile] = []
    dirs: set[str] = set()
    for rel in rels:
        path = root / rel
        if rel == ".git/HEAD":  # a branch switch: any file may have changed
            dirs.add("")
        if path.name == ".gitignore":
            parent = Path(rel).parent.as_posix()
            dirs.add("" if parent == "." else parent)
        if path.is_dir() and not path.is_symlink():
            dirs.add(rel)
        elif not path.exists():
            gone.add(rel)
            if rel not in known:  # maybe a deleted directory
                gone.update(p for p in all_known() if p.startswith(rel + "/"))
        else:
            verdict = wf.classify_file(root, rel)
            if isinstance(verdict, wf.FileEntry):
                entries[rel] = verdict
            else:
                gone.add(rel)
                if verdict is not None:
                    skipped.append(verdict)
    if dirs:
        prefixes = tuple("" if d == "" else d + "/" for d in dirs)
        seen: set[str] = set()
        for item in wf.iter_workspace_files(root):
            if not item.rel_path.startswith(prefixes):
                continue
            if isinstance(item, wf.SkippedFile):
                skipped.append(item)
            else:
                entries[item.rel_path] = item
                seen.add(item.rel_path)
        gone.update(p for p in all_known() if p.startswith(prefixes) and p not in seen)
    gone.difference_update(entries)
    return list(entries.values()), sorted(gone), skipped


# -- hits ------------------------------------------------------------------------------------------


def hit(root: Path, row: dict[str, Any], query: str, score: float, text_rank: int | None,
        vector_rank: int | None) -> dict[str, Any]:
    """A protocol `Hit` of kind "code" (0-based LSP range covering the chunk)."""
    lines = row["text"].split("\n")
    start, end = int(row["start_line"]), int(row["end_line"])
    symbol = row.get("symbol") or ""
    title = f"{row['path']}:{start}-{end}" + (f" {symbol}" if symbol else "")
    return {
        "kind": "code", "id": row["id"], "title": title, "snippet": snippet(lines, query),
        "score": round(score, 6), "path": row["path"], "start_line": start, "end_line": end,
        "symbol": symbol, "category": row.get("category") or "code",
        "language": row.get("language") or "", "text_rank": text_rank, "vector_rank": vector_rank,
        "location": {
            "uri": (root / row["path"]).as_uri(),
            "range": {"start": {"line": start - 1, "character": 0},
                      "end": {"line": end - 1, "character": len(lines[-1])}},
        },
    }


def snippet(lines: list[str], query: str) -> str:
    """The chunk's first line, then the lines around the first one mentioning the query."""
    terms = {w for w in re.findall(r"\w+", query.lower()) if len(w) > 2}
    terms.update(w for w in _camel_words(query) if len(w) > 2)
    first = next((i for i, ln in enumerate(lines) if terms and any(t in ln.lower()
                                                                  for t in terms)), 0)
    picked = lines[:SNIPPET_LINES] if first < SNIPPET_LINES - 1 else (
        [lines[0], "    ..."] + lines[first : first + SNIPPET_LINES - 2])
    text = "\n".join(ln.rstrip() for ln in picked)
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 3] + "..."


# -- helpers ---------------------------------------------------------------------------------------

EMBED_ORDER = ("code", "test", "config", "docs")  # what is indexed and embedded first
_ORDER = {c: i for i, c in enumerate(EMBED_ORDER)}


def category_rank(category: str | None) -> int:
    """Where a category comes in EMBED_ORDER (unknown ones last)."""
    return _ORDER.get(category or "", len(EMBED_ORDER))


def eta(done: int, total: int, elapsed: float) -> str:
    """", about 40 s left" once the rate is known (after a few seconds of work)."""
    if done <= 0 or done >= total or elapsed < 2.0:
        return ""
    left = (total - done) * elapsed / done
    return f", about {left:.0f} s left" if left < 120 else f", about {left / 60:.0f} min left"


def skip_summary(skipped: list[tuple[str, str]], examples: int = 20,
                 redacted: int = 0) -> dict[str, Any]:
    """Files left out, counted by reason (the part before any detail in parentheses)."""
    reasons: dict[str, int] = {}
    for _, reason in skipped:
        key = reason.split(" (", 1)[0] if not reason.startswith("generated") else reason
        reasons[key] = reasons.get(key, 0) + 1
    return {"reasons": reasons, "redacted": redacted,
            "examples": [{"path": p, "reason": r} for p, r in skipped[:examples]]}


def groups(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def throttled(progress: Progress | None, every: float = 0.25) -> Any:
    """Progress callbacks at most every `every` seconds (editors render each one)."""
    last = [0.0]

    def notify(message: str, percent: int | None, force: bool = False) -> None:
        now = time.monotonic()
        if progress is not None and (force or now - last[0] >= every):
            last[0] = now
            progress(message, percent)

    return notify
