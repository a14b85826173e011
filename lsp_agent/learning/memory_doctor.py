"""The memory doctor: advice on the memory mirror files (editor diagnostics, `lsp-agent doctor`).

Each finding points at lines of a block's markdown file: a block over or near its limit, a
path, task-runner command or code name the workspace no longer has (memory_references finds
them, workspace_lookup checks them), a lesson kept in two blocks, a secret in clear, a file
whose frontmatter does not parse. Nothing here changes a file or the store: findings are
advice. Cheap enough to run on every save of a mirror file (see workspace_lookup's caches).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel

from lsp_agent.learning import memory_references as refs
from lsp_agent.learning.workspace_lookup import RUNNER_FILE, lookup
from lsp_agent.memory.mirror import parse, render
from lsp_agent.memory.schema import Block
from lsp_agent.memory.secrets import TAG_RE, redact

if TYPE_CHECKING:
    from lsp_agent.memory.agent_memory import AgentMemory

Severity = Literal["error", "warning", "information"]
FindingCode = Literal["over-limit", "near-limit", "missing-path", "missing-command",
                      "missing-symbol", "duplicate", "secret", "invalid-frontmatter"]
#: Given some code names, the ones the workspace's code index knows.
KnownNames = Callable[[Collection[str]], set[str]]

NEAR_LIMIT = 0.9  # a block this full gets a warning
DUPLICATE_RATIO = 0.9  # difflib ratio from which two lessons are the same one reworded
DUPLICATE_MIN_CHARS = 30  # shorter lines are compared only for being identical
LESSON_MIN_CHARS = 12  # shorter lines ("## Notes", "None yet.") are never duplicates
DEFAULT_LIMIT = 5000  # what a file without a block and without `limit` gets (Mirror._take_in)
_TASK_KIND = {"make": "Makefile target", "just": "justfile recipe",
              "npm": "package.json script", "task": "task"}


class MemoryFinding(BaseModel):
    """One piece of advice about a memory block, located in its mirror file."""

    label: str
    path: str  # the block's mirror file, absolute
    line: int  # 0-based line of that file (the frontmatter counts)
    end_line: int
    severity: Severity
    code: FindingCode
    message: str


@dataclass
class _File:
    """A block's mirror file as the checks read it."""

    label: str
    path: Path
    block: Block | None
    text: str  # the file's text (the block rendered, when there is no file)
    body: str = ""  # the block's text in the file
    offset: int = 0  # lines before the body (the frontmatter)
    limit: int = DEFAULT_LIMIT
    limit_line: int = 0
    error: str = ""  # why the file cannot be taken in ("" when it can)
    fix: str = ("fix the frontmatter between the '---' lines at the top (label, description, "
                "limit, read_only)")


def check_memory(memory: AgentMemory, workspace: Path, *, symbols: KnownNames | None,
                 only: Path | None = None, text: str | None = None) -> list[MemoryFinding]:
    """Findings on every block's mirror file, or on the file `only` (its `text` when given:
    an editor's unsaved buffer); `symbols`: the code index's names (None: no index, names
    are not checked)."""
    files = _files(memory)
    if only is not None:
        wanted = Path(only).resolve()
        if not any(f.path == wanted for f in files):
            return []
        if text is not None:
            files = [_read(f.label, f.path, f.block, text) if f.path == wanted else f
                     for f in files]
    found: list[MemoryFinding] = []
    for f in files:
        if only is None or f.path == wanted:
            found += _check_file(f, Path(workspace), symbols)
    found += [d for d in _duplicates(files) if only is None or Path(d.path) == wanted]
    order = {f.label: n for n, f in enumerate(files)}
    return sorted(found, key=lambda d: (order[d.label], d.line, d.code))


def _files(memory: AgentMemory) -> list[_File]:
    """Every block's file, then files not taken in yet (a new `<label>.md`)."""
    try:
        blocks = {b.label: b for b in memory.blocks.list()}
    except Exception:  # noqa: BLE001 - a damaged store: the files alone are still checked
        blocks = {}
    folder = memory.mirror.folder
    labels = list(blocks)
    if folder.is_dir():
        labels += sorted(p.stem for p in folder.glob("*.md") if p.stem not in blocks)
    return [_read(label, memory.mirror.path(label).resolve(), blocks.get(label))
            for label in labels]


def _read(label: str, path: Path, block: Block | None, text: str | None = None) -> _File:
    try:
        text = path.read_bytes().decode("utf-8") if text is None else text
    except FileNotFoundError:
        text = render(block) if block else ""
    except UnicodeDecodeError:
        return _File(label, path, block, "", error="it is not UTF-8 text",
                     fix="save it as UTF-8 text")
    except OSError as exc:
        return _File(label, path, block, "", error=f"it cannot be read ({exc.strerror})",
                     fix="check that the file can be read")
    f = _File(label, path, block, text)
    meta, f.body, f.error = _parsed(text)
    if f.error:
        return f
    f.offset = text.count("\n", 0, len(text) - len(f.body))
    f.limit_line = next((n for n, ln in enumerate(text.split("\n")[: f.offset])
                         if ln.startswith("limit:")), 0)
    if "limit" in meta:  # read as the mirror takes it in (int() of the value)
        value: Any = meta["limit"]
        try:
            f.limit = int(value)
        except (TypeError, ValueError):
            f.limit = 0
        if f.limit <= 0:
            f.error = f"`limit: {value}` is not a positive whole number of characters"
    elif block is not None:
        f.limit = block.limit
    return f


@lru_cache(maxsize=64)
def _parsed(text: str) -> tuple[dict[str, Any], str, str]:
    """The mirror's own parse of a file: (frontmatter, body, why it failed or "")."""
    try:
        meta, body = parse(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 2}" if mark is not None else ""
        return {}, "", f"its frontmatter is not valid YAML{where}: {exc.problem or exc.context}"
    except ValueError as exc:
        return {}, "", str(exc)
    except yaml.YAMLError:
        return {}, "", "its frontmatter is not valid YAML"
    return meta, body, ""


def _finding(f: _File, line: int, code: FindingCode, severity: Severity, message: str,
             end_line: int | None = None) -> MemoryFinding:
    return MemoryFinding(label=f.label, path=str(f.path), line=line,
                         end_line=line if end_line is None else end_line, severity=severity,
                         code=code, message=message)


def _check_file(f: _File, workspace: Path, symbols: KnownNames | None) -> list[MemoryFinding]:
    if f.error:
        head_end = max(f.offset - 1, 0)
        return [_finding(
            f, 0, "invalid-frontmatter", "error",
            f"{f.path.name} cannot be taken into memory because {f.error}: {f.fix}; nothing "
            "was changed and your text is kept.", head_end),
            *_secrets(f, store=False)]
    return [*_limits(f), *_secrets(f), *_references(f, workspace, symbols)]


def _limits(f: _File) -> list[MemoryFinding]:
    chars = len(f.body)
    if chars > f.limit:
        first = f.offset + f.body.count("\n", 0, f.limit)
        last = f.offset + f.body.count("\n")
        return [_finding(f, first, "over-limit", "error",
                         f"Block '{f.label}' holds {chars:,} characters, over its limit of "
                         f"{f.limit:,}: shorten it (move details to archival memory) or raise "
                         "`limit` in the frontmatter.", last)]
    if chars >= NEAR_LIMIT * f.limit:
        return [_finding(f, f.limit_line, "near-limit", "warning",
                         f"Block '{f.label}' is at {100 * chars // f.limit} % of its limit "
                         f"({chars:,} of {f.limit:,} characters): summarise or prune it, or "
                         "raise `limit`, before the agent runs out of room.")]
    return []


def _secret_kinds(text: str) -> list[str]:
    redacted = redact(text)
    if redacted == text:
        return []
    kinds = [m.group(0).split()[1] for m in TAG_RE.finditer(redacted)]
    already = {m.group(0).split()[1] for m in TAG_RE.finditer(text)}
    return sorted(set(kinds) - already) or sorted(set(kinds))


def _secrets(f: _File, *, store: bool = True) -> list[MemoryFinding]:
    """Secrets in clear in the file, and in the stored block (which the file shows redacted;
    `store=False` when the file's lines cannot be matched with the block's)."""
    out: list[MemoryFinding] = []
    for n, line in enumerate(f.text.split("\n")):
        if kinds := _secret_kinds(line):
            out.append(_finding(f, n, "secret", "error",
                                f"This line holds a secret in clear ({', '.join(kinds)}): "
                                "delete it from the file and rotate it; memory keeps "
                                "secrets only redacted."))
    if f.block is None or not store:
        return out
    for n, line in enumerate(f.block.value.split("\n")):
        if kinds := _secret_kinds(line):
            out.append(_finding(f, f.offset + n, "secret", "error",
                                f"Block '{f.label}' holds a secret in clear in the store "
                                f"({', '.join(kinds)}), shown redacted here: run `lsp-agent "
                                "doctor --scrub` to redact it everywhere, and rotate it."))
    if kinds := _secret_kinds(f.block.description):
        out.append(_finding(f, 0, "secret", "error",
                            f"The description of block '{f.label}' holds a secret in clear in "
                            f"the store ({', '.join(kinds)}): run `lsp-agent doctor --scrub` "
                            "to redact it everywhere, and rotate it."))
    return out


def _references(f: _File, workspace: Path,
                symbols: KnownNames | None) -> list[MemoryFinding]:
    paths, commands, names = refs.references(f.body)
    look = lookup(workspace)
    out: list[MemoryFinding] = []
    seen: set[tuple[int, str]] = set()
    for p in paths:
        if (p.line, p.path) in seen or (p.loose and not look.first_part_exists(p.path)):
            continue
        seen.add((p.line, p.path))
        if not look.generated(p.path) and not look.path_exists(p.path):
            out.append(_finding(f, f.offset + p.line, "missing-path", "warning",
                                f"'{p.path}' does not exist in the workspace: correct the "
                                "path or remove it from this block."))
    for c in commands:
        status = look.task_status(c.runner, c.target, bare=c.bare)
        if status == "missing":
            out.append(_finding(f, f.offset + c.line, "missing-command", "warning",
                                f"`{c.command}` runs the {_TASK_KIND[c.runner]} '{c.target}', "
                                f"which the workspace's {RUNNER_FILE[c.runner]} does not have: "
                                "correct the command or remove it from this block."))
        elif status == "no-file":
            out.append(_finding(f, f.offset + c.line, "missing-command", "warning",
                                f"`{c.command}` needs a {RUNNER_FILE[c.runner]}, and the "
                                "workspace has none: correct the command or remove it from "
                                "this block."))
    if symbols is not None and names:
        known = symbols({part for n in names for part in n.parts})
        for s in names:
            gone = _unknown_part(s.parts, known)
            if gone:
                out.append(_finding(f, f.offset + s.line, "missing-symbol", "warning",
                                    f"`{s.name}` is not in the code index (no code in the "
                                    f"workspace names '{gone}'): update the name or remove it "
                                    "from this block."))
    return out


def _unknown_part(parts: tuple[str, ...], known: set[str]) -> str:
    """The part of a name the code does not have; "" when it has them, or when the name is
    not anchored in this workspace (`json.loads` in a project that never uses json)."""
    if len(parts) == 1:
        return "" if parts[0] in known else parts[0]
    if parts[0] not in known:
        return ""
    return next((p for p in parts[1:] if p not in known), "")


# -- duplicates ------------------------------------------------------------------------------


def _lesson(line: str) -> str:
    """A line as a lesson, normalised (list marks, emphasis, case, end punctuation); "" for
    lines that are no lesson (headings, fences, tables, comments, short lines)."""
    text = line.strip()
    if text.startswith(("#", "<!--", "```", "~~~", "|", "---", "-->")):
        return ""
    text = re.sub(r"^(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?", "", text)
    text = re.sub(r"[*`]+", "", text)
    text = re.sub(r"\s+", " ", text).strip().rstrip(".;:,!").lower()
    return text if len(text) >= LESSON_MIN_CHARS else ""


@lru_cache(maxsize=65536)  # lines seldom change between two saves
def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < DUPLICATE_MIN_CHARS:
        return False
    if 2 * min(len(a), len(b)) / (len(a) + len(b)) < DUPLICATE_RATIO:
        return False
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return (sm.real_quick_ratio() >= DUPLICATE_RATIO and sm.quick_ratio() >= DUPLICATE_RATIO
            and sm.ratio() >= DUPLICATE_RATIO)


def _duplicates(files: list[_File]) -> list[MemoryFinding]:
    """Lessons kept in two blocks, reported on each copy naming the other."""
    lessons = [(f, f.offset + n, text) for f in files if not f.error
               for n, line in enumerate(f.body.split("\n")) if (text := _lesson(line))]
    others: dict[int, list[tuple[_File, int]]] = {}
    for i, (fa, la, a) in enumerate(lessons):
        for j in range(i + 1, len(lessons)):
            fb, lb, b = lessons[j]
            if fa.label != fb.label and _same(a, b):
                others.setdefault(i, []).append((fb, lb))
                others.setdefault(j, []).append((fa, la))
    out = []
    for i, copies in sorted(others.items()):
        f, line, _ = lessons[i]
        where = " and ".join(f"block '{o.label}' (line {n + 1})" for o, n in copies)
        rest = "the other copy" if len(copies) == 1 else "the other copies"
        out.append(_finding(f, line, "duplicate", "information",
                            f"This lesson is also in {where}: keep it in one block and "
                            f"delete {rest}."))
    return out
