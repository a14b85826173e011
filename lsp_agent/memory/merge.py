"""Merging two edits of one block made at the same moment on different machines.

An edit that builds on the text (an append, a replacement of a phrase) is applied again to the
winner's text: it merges by itself. An edit that replaces the whole text (`memory set`, a
mirror file) is merged line by line against the text both started from; when both changed
the same lines, both texts are kept, one after the other, between clear markers. Neither is
ever dropped. A write queued offline is replayed onto the store's text with `replay_onto`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher

CONFLICT_START = "<<<<<<< "
CONFLICT_MIDDLE = "======= "
CONFLICT_END = ">>>>>>> "


@dataclass
class Rebased:
    value: str
    how: str  # "reapplied", "merged", "both kept", "unchanged"


def _hunks(base: list[str], other: list[str]) -> list[tuple[int, int, list[str]]]:
    """(start, end, replacement) of every change from `base` to `other`, in base lines."""
    matcher = SequenceMatcher(None, base, other, autojunk=False)
    return [(i1, i2, other[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes()
            if tag != "equal"]


def merge3(base: str, ours: str, theirs: str) -> str | None:
    """A line merge of two edits of `base`; None when they change the same lines differently.

    Two changes conflict when their base ranges overlap, or when both insert at the same
    place (the order of the two insertions would be a guess)."""
    b = base.splitlines(keepends=True)
    mine, other = _hunks(b, ours.splitlines(keepends=True)), _hunks(b,
                                                                    theirs.splitlines(keepends=True))
    for s1, e1, r1 in mine:
        for s2, e2, r2 in other:
            overlap = s1 < e2 and s2 < e1
            same_point = s1 == s2 and (s1 == e1 or s2 == e2)
            if (overlap or same_point) and not (s1 == s2 and e1 == e2 and r1 == r2):
                return None
    changes = {(s, e): r for s, e, r in other}
    changes.update({(s, e): r for s, e, r in mine})  # an identical change is taken once
    out: list[str] = []
    at = 0
    for (start, end), replacement in sorted(changes.items()):
        out += b[at:start] + replacement
        at = end
    out += b[at:]
    return "".join(out)


def both_kept(ours: str, theirs: str, our_name: str, their_name: str) -> str:
    """Both texts between conflict markers, the winner's first: for a person to settle."""
    def line(text: str) -> str:
        return text if text.endswith("\n") or not text else text + "\n"

    return (f"{CONFLICT_START}{their_name}\n{line(theirs)}{CONFLICT_MIDDLE}{our_name}\n"
            f"{line(ours)}{CONFLICT_END}both kept: edit to settle")


def rebase(change: Callable[[str], str], base: str, ours: str, theirs: str,
           our_name: str, their_name: str) -> Rebased:
    """Our change, made on `base` (giving `ours`), moved onto `theirs` (the winner's text)."""
    again = change(theirs)
    if again == theirs:
        return Rebased(theirs, "unchanged")
    if again != ours or theirs == base:
        return Rebased(again, "reapplied")  # the change builds on its input (or nothing moved)
    merged = merge3(base, ours, theirs)  # a replacement of the whole text: merge by lines
    if merged is not None:
        return Rebased(merged, "merged")
    return Rebased(both_kept(ours, theirs, our_name, their_name), "both kept")


def replay_onto(base: str, ours: str, theirs: str) -> str:
    """`theirs` with a queued write's change (base -> ours) applied to it: a three-way
    merge by lines that always succeeds and is idempotent (a write queued offline, replayed
    once the team store answers, perhaps twice after a crash). Our added lines are added after
    the line they followed (else at the end), our removed lines removed, their changes kept."""
    if theirs == base or theirs == ours:
        return ours
    if ours == base:
        return theirs
    if ours.startswith(base):  # an append (remember, memory_append): the common case
        added = ours[len(base):]
        if added.strip() and added.strip() in theirs:
            return theirs  # already there (a replay after a crash, or the same lesson)
        glue = "" if not theirs or theirs.endswith("\n") or added.startswith("\n") else "\n"
        return theirs + glue + added
    out = theirs.splitlines()
    present = set(out)
    base_lines = base.splitlines()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, base_lines,
                                                       ours.splitlines()).get_opcodes():
        if tag in ("delete", "replace"):
            for line in base_lines[i1:i2]:
                if line in out and line.strip():
                    out.remove(line)
        if tag in ("insert", "replace"):
            new = [x for x in ours.splitlines()[j1:j2] if x not in present or not x.strip()]
            anchor = base_lines[i1 - 1] if i1 > 0 else None
            at = out.index(anchor) + 1 if anchor is not None and anchor in out else len(out)
            out[at:at] = new
            present.update(new)
    return "\n".join(out) + ("\n" if ours.endswith("\n") and out else "")
