"""The same work timed inside one process, without the protocol: `AgentService.follow` (what
the server runs after didSave and watched-file changes) and `anchor_diagnostics`; and how the
anchors table's reads and writes fare as single-anchor commits pile up (every
`remember --at`, quick fix and save that moves an anchor is one commit).
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from lsp_agent.agent.tools.disk_host import DiskToolHost
from lsp_agent.config import Settings
from lsp_agent.learning import anchoring as A
from lsp_agent.memory.anchors import AnchorTable
from lsp_agent.service import AgentService

from . import edits as E
from .phases import Stored, hover_line, stored_anchors


def ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def open_service(ws: Path, store: Path) -> AgentService:
    return AgentService(ws, Settings(store=str(store), embedder="none"), DiskToolHost(False),
                        background=False)


def follow_figures(ws: Path, store: Path, stored: Stored, stale: list[str],
                   branch: list[str]) -> dict[str, Any]:
    """follow([one saved file]) + anchor_diagnostics per stale file; follow(all branch files)."""
    service = open_service(ws, store)
    start = time.perf_counter()
    service.anchors.all()
    out: dict[str, Any] = {"inproc_load_ms": [ms(start)]}
    saves, wrong = [], 0
    for rel in stale:
        made = E.stale_edit(rel, A.read_source(ws / rel), stored[rel])
        assert made is not None
        new, anchor = made
        E.write(ws, rel, new)
        start = time.perf_counter()
        service.follow([ws / rel])
        diags = service.anchor_diagnostics(ws / rel, new)
        saves.append(ms(start))
        wrong += not any(d["anchor_id"] == anchor.id for d in diags)
    rng = random.Random(21)
    want: dict[str, tuple[Any, ...]] = {}
    for rel in branch:
        new = E.branch_switch(rel, A.read_source(ws / rel), stored[rel], rng)
        want.update(E.expected(stored[rel], new))
        E.write(ws, rel, new)
    start = time.perf_counter()
    service.follow([ws / rel for rel in branch])
    out["inproc_branch_ms"] = [ms(start)]
    after = {a.id: E.key(a) for anchors in stored_anchors(store).values() for a in anchors}
    out["inproc_branch_wrong"] = [sum(after.get(i) != k for i, k in want.items())]
    out.update(inproc_save_ms=saves, inproc_save_wrong=[wrong])
    service.close()
    return out


def hover_breakdown(ws: Path, store: Path, stored: Stored, files: list[str]) -> dict[str, Any]:
    """Where a hover's time goes, per file of the hover phase: resolving the file's anchors
    (the first request after opening or editing it), one outline of the file (what that
    would cost parsed once), the related-memory search (per symbol name, reused 30 s), and
    `hover_at` itself once both are cached."""
    service = open_service(ws, store)
    service.anchors.all()
    out: dict[str, list[float]] = {k: [] for k in (
        "resolve_file_ms", "resolve_anchor_ms", "outline_ms", "related_ms", "hover_at_ms")}
    for rel in files:
        text = A.read_source(ws / rel)
        start = time.perf_counter()
        service.resolved(rel, text)
        took = ms(start)
        out["resolve_file_ms"].append(took)
        out["resolve_anchor_ms"].append(took / len(stored[rel]))
        start = time.perf_counter()
        A.symbols_of(rel, text)
        out["outline_ms"].append(ms(start))
        for a in stored[rel]:
            word = a.symbol.rsplit(".", 1)[-1]
            if len(word) >= 4:
                start = time.perf_counter()
                service._refresh_related(word)  # the search, cached for the hover below
                out["related_ms"].append(ms(start))
            start = time.perf_counter()
            service.hover_at(ws / rel, text, hover_line(a))
            out["hover_at_ms"].append(ms(start))
    service.close()
    return {f"inproc_{k}": v for k, v in out.items()}


def fragmentation(ws: Path, store: Path, steps: list[int]) -> list[dict[str, float]]:
    """After each step's count of single-anchor commits in all: a cold read of the table (the
    first hover after start, or after another process wrote) and one anchor saved (what
    `follow` does after a save that moved or staled an anchor)."""
    service = open_service(ws, store)
    table: AnchorTable = service.anchors
    pool = table.all()
    rng = random.Random(3)
    done, rows = 0, []
    for target in steps:
        while done < target:
            table.save([rng.choice(pool).model_copy(update={"id": table.new_id()})])
            done += 1
        fresh = AnchorTable(service.memory.store)
        start = time.perf_counter()
        fresh.all()
        load = ms(start)
        start = time.perf_counter()
        table.save([rng.choice(pool)])
        save = ms(start)
        rows.append({"commits": target, "load_ms": load, "save_ms": save,
                     "rows": float(len(table.all(live=False)))})
    service.close()
    return rows
