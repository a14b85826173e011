"""What one benchmark run asks a real server, in the order an editor would, each figure a list
of milliseconds measured at the client, and every answer checked (a fast wrong answer is not a
result: the counts of wrong ones are reported next to the times).
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import lancedb

from lsp_agent.learning import anchoring as A
from lsp_agent.memory.schema import Anchor

from . import edits as E
from .corpus import LENS_FILE
from .session import Session, ms_since

Stored = dict[str, list[Anchor]]


def stored_anchors(store: Path) -> Stored:
    """The live anchors as committed, by file (read with LanceDB itself, as the tests do)."""
    rows = lancedb.connect(str(store)).open_table("anchors").search().limit(10_000_000).to_list()
    out: Stored = {}
    for row in rows:
        if row["state"] in ("ok", "changed", "lost"):
            out.setdefault(row["path"], []).append(Anchor(**row))
    return out


def hover_line(a: Anchor) -> int:
    """Where a memory shows on hover: a function's first line, or inside a line range."""
    return a.start_line if a.whole_symbol else (a.start_line + a.end_line) // 2


def quiet_line(anchors: list[Anchor], n_lines: int, rng: random.Random) -> int | None:
    """A line with no memory on it (hover answers nothing there)."""
    busy = {a.start_line for a in anchors} | {n for a in anchors if not a.whole_symbol
                                              for n in range(a.start_line, a.end_line + 1)}
    free = [n for n in range(n_lines) if n not in busy]
    return rng.choice(free) if free else None


def lens_total(lenses: list[Any]) -> int:
    return sum(int(lens.command.title.split()[0]) for lens in lenses if lens.command)


async def first_request(s: Session, ws: Path, stored: Stored, out: dict[str, Any]) -> None:
    """didOpen of a file right after initialize, then hovers until one shows its memory: the
    store opens in the background (after `initialized`, or on a didOpen) and the anchors are
    read on the first hover."""
    text = A.read_source(ws / LENS_FILE)
    line = hover_line(stored[LENS_FILE][0])
    start = time.perf_counter()
    s.open(LENS_FILE, text)
    while True:
        took, got = await s.hover(LENS_FILE, line)
        if got is not None:
            break
        await asyncio.sleep(0.005)
    out["first_request_ms"] = [ms_since(start)]
    out["first_hover_ms"] = [took]


async def hovers(s: Session, ws: Path, stored: Stored, files: list[str],
                 spaced: int, out: dict[str, Any]) -> None:
    """Each file opened, its code lenses and diagnostics asked for (both editors do on
    opening a file), then hovered at each of its memories and one quiet line; then `spaced`
    hovers more than a second apart (each pays the check for writes by others)."""
    rng = random.Random(5)
    cold, warm, lens_open, diags_open, wrong = [], [], [], [], 0
    for rel in files:
        text = A.read_source(ws / rel)
        s.open(rel, text)
        anchors = stored[rel]
        took, got = await s.lenses(rel)
        lens_open.append(took)
        took, diags = await s.diagnostics(rel)
        diags_open.append(took)
        if lens_total(got) != len(anchors) or diags:
            wrong += 1
            out.setdefault("wrong_details", []).append(
                f"on opening {rel}: {lens_total(got)} memories in lenses for {len(anchors)}, "
                f"{len(diags)} diagnostics for none")
        spots: list[tuple[int, str | None]] = [(hover_line(a), a.lesson) for a in anchors]
        rng.shuffle(spots)
        quiet = quiet_line(anchors, len(text.split("\n")), rng)
        if quiet is not None:
            spots.append((quiet, None))
        for n, (line, lesson) in enumerate(spots):
            took, got = await s.hover(rel, line)
            (warm if n else cold).append(took)
            ok = got is None if lesson is None else got is not None and lesson in got
            if not ok:
                wrong += 1
                out.setdefault("wrong_details", []).append(
                    f"hover {rel}:{line + 1} wanted {lesson!r}, got {got!r}")
    later = []
    for _ in range(spaced):
        rel = rng.choice(files[-20:])
        await asyncio.sleep(1.2)
        took, got = await s.hover(rel, hover_line(rng.choice(stored[rel])))
        later.append(took)
        wrong += got is None
    out.update(hover_cold_ms=cold, hover_warm_ms=warm, hover_spaced_ms=later,
               open_lens_ms=lens_open, open_diagnostics_ms=diags_open, hover_wrong=[wrong])


async def lens(s: Session, ws: Path, stored: Stored, repeats: int, edited: int,
               out: dict[str, Any]) -> None:
    """Code lenses of the 1,000-line file: asked again for the same text, and after each of
    `edited` one-line edits (what an editor asks while the user types)."""
    text = A.read_source(ws / LENS_FILE)
    want = len(stored[LENS_FILE])
    same, after, wrong = [], [], 0
    for _ in range(repeats):
        took, got = await s.lenses(LENS_FILE)
        same.append(took)
        wrong += lens_total(got) != want
    lines = text.split("\n")
    rng = random.Random(9)
    for i in range(edited):
        at = rng.randrange(len(lines) // 4, len(lines) * 3 // 4)
        lines.insert(at, f"# edit {i}: the user is typing here")
        s.change(LENS_FILE, "\n".join(lines))
        took, got = await s.lenses(LENS_FILE)
        after.append(took)
        wrong += lens_total(got) != want
    s.change(LENS_FILE, text)
    out.update(lens_same_ms=same, lens_edited_ms=after, lens_wrong=[wrong])


async def stale_saves(s: Session, ws: Path, store: Path, stored: Stored, files: list[str],
                      out: dict[str, Any]) -> None:
    """A function's body rewritten and saved: pulled diagnostics show the stale memory at
    once (they follow the open text), and after didSave the anchor is stored as changed and
    the server asks for a refresh; timed from didSave to that refresh's pull answered."""
    at_edit, at_save, wrong = [], [], 0
    made_stale: list[str] = []
    for rel in files:
        text = A.read_source(ws / rel)
        made = E.stale_edit(rel, text, stored[rel])
        assert made is not None
        new, anchor = made
        made_stale.append(anchor.id)
        seen = s.refreshes
        s.open(rel, text)
        await s.refreshed(seen)  # didOpen asks for one
        E.write(ws, rel, new)
        s.change(rel, new)
        took, diags = await s.diagnostics(rel)
        at_edit.append(took)
        wrong += not any(anchor.id in repr(d.data) for d in diags)
        seen = s.refreshes
        start = time.perf_counter()
        s.save(rel)
        refreshed = await s.refreshed(seen)
        took, diags = await s.diagnostics(rel)
        at_save.append((refreshed - start) * 1000 + took)
        wrong += not any(anchor.id in repr(d.data) for d in diags)
    states = {a.id: a.state for anchors in stored_anchors(store).values() for a in anchors}
    wrong += sum(states.get(i) != "changed" for i in made_stale)
    out.update(stale_edit_ms=at_edit, stale_save_ms=at_save, stale_wrong=[wrong])


async def branch_switch(s: Session, ws: Path, store: Path, files: list[str],
                        out: dict[str, Any]) -> None:
    """`files` rewritten on disk as another branch has them, then one didChangeWatchedFiles
    naming them all; timed until the server asks for a refresh (it does once every anchor in
    them is re-resolved and stored, when one of them is open: the first is), then the stored
    anchors checked one by one."""
    before = stored_anchors(store)
    seen = s.refreshes
    s.open(files[0], A.read_source(ws / files[0]))
    await s.refreshed(seen)
    rng = random.Random(21)
    want: dict[str, tuple[Any, ...]] = {}
    for rel in files:
        new = E.branch_switch(rel, A.read_source(ws / rel), before[rel], rng)
        want.update(E.expected(before[rel], new))
        E.write(ws, rel, new)
    await asyncio.sleep(0.5)
    seen = s.refreshes
    start = time.perf_counter()
    s.watched(files)
    done = await s.refreshed(seen, timeout=600)
    out["branch_ms"] = [(done - start) * 1000]
    after = {a.id: E.key(a) for anchors in stored_anchors(store).values() for a in anchors}
    out["branch_wrong"] = [sum(after.get(i) != k for i, k in want.items())]
    out["branch_anchors"] = [len(want)]
    out["branch_states"] = [{state: sum(k[0] == state for k in want.values())
                             for state in ("ok", "changed", "lost")}]
