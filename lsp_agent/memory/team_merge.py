"""How a write queued offline lands on a block that may have moved on meanwhile.

The queued write knows the value it started from (`base`) and the value it made (`ours`); the
store holds `theirs`. Nothing is lost: our added lines are added to theirs (after the line they
followed, else at the end), our removed lines are removed from theirs, their own changes stay.
Replaying the same write twice changes nothing the second time.
"""

from __future__ import annotations

import difflib


def merge(base: str, ours: str, theirs: str) -> str:
    """`theirs` with the change base -> ours applied to it (a three-way merge by lines)."""
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
