"""What the editor shows of memory next to the code: hover text, code lenses, stale-memory
diagnostics, and the memories a turn that starts at a location is given first.

A mixin of `AgentService` (with `AnchorOps`). Plain data out (markdown, dicts with 0-based
lines); the LSP face turns them into protocol types. Nothing here loads a model.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lsp_agent.learning.symbols import innermost
from lsp_agent.memory.schema import Anchor
from lsp_agent.service.anchor_ops import AnchorOps

RELATED_TTL = 5.0  # seconds after which a related-memory search is refreshed (in the background)


def _when(anchor: Anchor) -> str:
    return anchor.created_at.strftime("%Y-%m-%d")


def _quote(text: str, limit: int = 160) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


_PREFETCH = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lsp-agent-related")


class CodeViews(AnchorOps):
    _related: dict[str, tuple[float, list[dict[str, Any]]]] | None = None
    _related_pending: set[str] | None = None
    _related_lock = threading.Lock()

    def _prefetch(self, anchors: list[Anchor]) -> None:
        """Search, in the background, what a hover over these anchors' symbols will show, so
        the hover itself (often the next request) finds it ready."""
        for word in {a.symbol.rsplit(".", 1)[-1] for a in anchors if a.symbol}:
            self._related_entry(word)

    def _related_entry(self, word: str) -> tuple[float, list[dict[str, Any]]] | None:
        """The cached search for `word`, kept past its expiry (stale hits beat a slow hover);
        when it is missing or expired, a background search refreshes it."""
        if len(word) < 4:
            return None
        with self._related_lock:
            if self._related is None:
                self._related = {}
            if self._related_pending is None:
                self._related_pending = set()
            entry = self._related.get(word)
            fresh = entry is not None and time.monotonic() - entry[0] <= RELATED_TTL
            if not fresh and word not in self._related_pending:
                self._related_pending.add(word)
                _PREFETCH.submit(self._refresh_related, word)
            return entry

    def _refresh_related(self, word: str) -> None:
        try:
            hits = self._search_related(word)
            with self._related_lock:
                if self._related is None:
                    self._related = {}
                self._related[word] = (time.monotonic(), hits)
        finally:
            with self._related_lock:
                (self._related_pending or set()).discard(word)

    def _related_hits(self, word: str, skip: set[str]) -> list[dict[str, Any]]:
        """The best few passages about `word` a hover shows, as last searched. A hover never
        waits for the search (two full-text queries, ~10 ms): it runs in the background, so a
        hover right after a file opens answers at once and the next one shows them."""
        entry = self._related_entry(word)
        return [] if entry is None else [h for h in entry[1] if h.get("id") not in skip][:3]

    def _search_related(self, word: str) -> list[dict[str, Any]]:
        """The best conversation and archival passages naming `word` (full-text only)."""
        hits: list[dict[str, Any]] = []
        for kind in ("archival", "messages"):
            try:
                hits += self.memory.search(word, kind=kind, limit=3, mode="text")
            except Exception:  # noqa: BLE001 - no full-text index yet: no related hits
                continue
        return hits

    def hover_at(self, path: Path, text: str, line: int) -> str | None:
        """Markdown for a hover at `line`, or None (no empty hovers)."""
        rel = self.relative(path)
        if rel is None:
            return None
        here = [a for a in self.resolved(rel, text)
                if a.start_line <= line <= a.end_line
                and (not a.whole_symbol or line == a.start_line or a.state == "lost")]
        if not here:
            return None
        symbol = next((a.symbol for a in here if a.symbol), "")
        head = f"**lsp-agent remembers** about `{symbol}`" if symbol else \
            "**lsp-agent remembers** about these lines"
        out = [head, ""]
        for a in here:
            mark = {"changed": " ⚠ stale", "lost": " ⚠ code not found"}.get(a.state, "")
            out.append(f"- {_quote(a.lesson, 300)} — *{_when(a)}, {a.author}*{mark} "
                       f"([open]({self._link(a)}))")
            if a.state != "ok" and a.note:
                out.append(f"  - {a.note}")
        related = self._related_hits(symbol.rsplit(".", 1)[-1] if symbol else "",
                                     {a.memory_id for a in here})
        if related:
            out += ["", "**Related memories**", ""]
            for hit in related:
                when = str(hit.get("created_at") or "")[:10]  # ISO: the date
                source = "conversation" if hit.get("kind") == "message" else "archival"
                out.append(f"- {_quote(str(hit.get('snippet', '')))} — *{when or source}, "
                           f"{source}*")
        return "\n".join(out)

    def _link(self, a: Anchor) -> str:
        """Where a memory opens: a block's mirror file, or the passage (a command link)."""
        if a.memory_kind == "block":
            return self.memory.mirror.path(a.memory_id).as_uri()
        return ("command:lspAgent.archival.show?" + quote(json.dumps(
            [{"id": a.memory_id, "workspace": str(self.workspace)}])))

    def code_lenses(self, path: Path, text: str) -> list[dict[str, Any]]:
        """`{line, title, command, arguments}` per symbol with memories, and per memory
        mirror file its size and prompt cost."""
        mirror = self._mirror_lens(path)
        if mirror is not None:
            return [mirror]
        rel = self.relative(path)
        if rel is None:
            return []
        groups: dict[int, list[Anchor]] = {}
        found = self.resolved(rel, text)
        self._prefetch(found)
        for a in found:
            groups.setdefault(a.start_line, []).append(a)
        symbols = self.symbols_for(rel, text) if groups else []
        lenses = []
        for line, anchors in sorted(groups.items()):
            holder = innermost(symbols, line)
            at = holder.start if holder is not None and holder.start <= line else line
            n = len(anchors)
            stale = sum(a.state != "ok" for a in anchors)
            title = f"{n} memor{'y' if n == 1 else 'ies'}" + (f" · {stale} stale" if stale else "")
            lenses.append({"line": at, "title": title, "command": "lspAgent.anchors",
                           "arguments": [{"path": rel, "line": line + 1,
                                          "workspace": str(self.workspace)}]})
        return lenses

    def _mirror_lens(self, path: Path) -> dict[str, Any] | None:
        folder = self.memory.memory_folder
        if path.parent.resolve() != Path(folder).resolve() or path.suffix != ".md":
            return None
        try:
            block = self.memory.blocks.get(path.stem)
        except Exception:  # noqa: BLE001 - not a block's mirror file
            return None
        tokens = max(1, (len(block.value) + len(block.description) + 40) // 4)
        return {"line": 0, "title": f"{block.label}: {len(block.value):,}/{block.limit:,} "
                f"chars · ~{tokens:,} tokens in every prompt", "command": "lspAgent.memory.show",
                "arguments": [{"label": block.label, "workspace": str(self.workspace)}]}

    def anchor_diagnostics(self, path: Path, text: str) -> list[dict[str, Any]]:
        """`{line, end_line, message, anchor_id, state}` per stale or lost memory in the file."""
        rel = self.relative(path)
        if rel is None:
            return []
        out = []
        found = self.resolved(rel, text)
        self._prefetch(found)
        for a in found:
            if a.state == "ok":
                continue
            what = "changed" if a.state == "changed" else "lost its code"
            out.append({"line": a.start_line, "end_line": a.start_line if a.state == "lost"
                        else a.end_line, "anchor_id": a.id, "state": a.state,
                        "message": f"A memory from {_when(a)} {what}: “{_quote(a.lesson)}”. "
                        f"{a.note} Re-anchor it here, forget it, or keep it as is."})
        return out

    def location_context(self, path: Path, start: int, end: int, text: str | None = None,
                         near: int = 20) -> str:
        """The memories anchored at and near lines start..end, for a turn starting there."""
        rel = self.relative(path)
        if rel is None:
            return ""
        if text is None:
            text = self._disk_text(path)  # unreadable: the anchors as stored
        anchors = self.resolved(rel, text) if text is not None else \
            self.anchors.for_path(rel)

        def distance(a: Anchor) -> int:
            return 0 if a.start_line <= end and start <= a.end_line else min(
                abs(a.start_line - end), abs(start - a.end_line))

        close = sorted((a for a in anchors if distance(a) <= near), key=distance)[:8]
        if not close:
            return ""
        lines = ["Memories anchored at or near this location (check they still hold):"]
        for a in close:
            where = f"{a.path}:{a.start_line + 1}-{a.end_line + 1}" + (
                f" ({a.symbol})" if a.symbol else "")
            state = "" if a.state == "ok" else f" [{a.state}: {a.note}]"
            lines.append(f"- {where}, {_when(a)}: {a.lesson}{state}")
        return "\n".join(lines)
