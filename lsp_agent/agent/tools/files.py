"""File tools for the agent: read, list, grep, edit and write, all confined to the workspace.

Reads go straight to disk. Writes never touch the disk directly: they are handed to the
`ToolHost`, which in the LSP server becomes a `workspace/applyEdit` (so the user sees and can
undo the change in the editor) and in headless use is `DiskToolHost`, an atomic disk write.
In `PermissionMode.ASK` every edit first asks the host for approval.
"""

from __future__ import annotations

import asyncio
import difflib
import inspect
import os
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pathspec

from lsp_agent.agent.tools.base import (
    EDIT_APPROVAL_MODES,
    Tool,
    ToolContext,
    ToolError,
    require_approval,
)
from lsp_agent.agent.tools.paths import (
    BINARY_SNIFF_BYTES,
    MAX_FILE_BYTES,
    check_file_size,
    is_binary_bytes,
    resolve_in_workspace,
    workspace_relative,
)

# --- limits ---------------------------------------------------------------------------------

READ_MAX_LINES = 2000
READ_MAX_BYTES = 100_000
READ_MAX_LINE_CHARS = 2000
LIST_MAX_RESULTS = 500
WALK_MAX_FILES = 50_000
GREP_DEFAULT_RESULTS = 100
GREP_MAX_RESULTS = 1000
GREP_MAX_BYTES = 100_000
GREP_MAX_LINE_CHARS = 300
DIFF_EXCERPT_LINES = 80

#: Directories never descended into, ignored or not.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
    }
)


# --- small helpers --------------------------------------------------------------------------


def _opt_int(value: Any, name: str, minimum: int = 1) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise ToolError(f"{name} must be an integer, got {value!r}.") from exc
    if number < minimum:
        raise ToolError(f"{name} must be at least {minimum}, got {number}.")
    return number


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _rel(ctx: ToolContext, path: Path) -> str:
    return workspace_relative(ctx.workspace, path)


# --- .gitignore-aware walking ---------------------------------------------------------------

_Rules = list[tuple[Path, pathspec.GitIgnoreSpec]]


def _load_spec(file: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    lines = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _rules_for_dir(directory: Path, inherited: _Rules) -> _Rules:
    spec = _load_spec(directory / ".gitignore")
    return inherited if spec is None else [*inherited, (directory, spec)]


def _is_ignored(path: Path, is_dir: bool, rules: _Rules) -> bool:
    """Gitignore semantics: the last matching rule wins, deeper .gitignore files come later."""
    decision: bool | None = None
    for base, spec in rules:
        try:
            rel = path.relative_to(base).as_posix()
        except ValueError:
            continue
        if is_dir:
            rel += "/"
        result = spec.check_file(rel)
        if result.include is not None:
            decision = result.include
    return bool(decision)


def _initial_rules(root: Path, start: Path) -> _Rules:
    rules: _Rules = []
    exclude = _load_spec(root / ".git" / "info" / "exclude")
    if exclude is not None:
        rules.append((root, exclude))
    rules = _rules_for_dir(root, rules)
    if start != root:
        current = root
        for part in start.relative_to(root).parts:
            current = current / part
            if _is_ignored(current, True, rules):
                # An ignored directory named explicitly is searched anyway; only the
                # .gitignore files inside it then apply.
                rules = []
            rules = _rules_for_dir(current, rules)
    return rules


def _walk_files(root: Path, start: Path) -> Iterator[Path]:
    """Files under `start` (a real path inside the real `root`), in a stable order.

    Skips `SKIP_DIRS`, gitignored entries and symlinked directories; the explicitly given
    `start` is walked even if it is itself ignored.
    """
    if start.is_file():
        yield start
        return
    dir_rules: dict[str, _Rules] = {str(start): _initial_rules(root, start)}
    for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
        here = Path(dirpath)
        rules = dir_rules.pop(dirpath, None)
        if rules is None:
            rules = _initial_rules(root, here)
        kept = []
        for name in sorted(dirnames):
            if name in SKIP_DIRS:
                continue
            child = here / name
            if child.is_symlink() or _is_ignored(child, True, rules):
                continue
            kept.append(name)
            dir_rules[str(child)] = _rules_for_dir(child, rules)
        dirnames[:] = kept
        for name in sorted(filenames):
            child = here / name
            if not _is_ignored(child, False, rules):
                yield child


def _glob_body(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                j = i + 2
                if j < len(pattern) and pattern[j] == "/":
                    out.append("(?:.*/)?")
                    i = j + 1
                else:
                    out.append(".*")
                    i = j
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 2)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j + 1
                continue
        elif c == "{":
            j = pattern.find("}", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                alternatives = pattern[i + 1 : j].split(",")
                out.append("(?:" + "|".join(_glob_body(a) for a in alternatives) + ")")
                i = j + 1
                continue
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def compile_glob(pattern: str) -> Callable[[str], bool]:
    """A matcher for a glob relative to the search directory.

    `*`, `?`, `[abc]`, `{a,b}` and `**` (any number of directories) are supported. A pattern
    without `/` matches file names at any depth (`*.py`); one with `/` matches the path
    relative to the search directory (`src/**/*.ts`).
    """
    pat = pattern.strip()
    while pat.startswith("./"):
        pat = pat[2:]
    if not pat:
        return lambda _rel: True
    try:
        regex = re.compile(_glob_body(pat) + r"\Z")
    except re.error as exc:
        raise ToolError(f"Invalid glob pattern {pattern!r}: {exc}") from exc
    if "/" not in pat:
        return lambda rel: regex.match(rel.rsplit("/", 1)[-1]) is not None
    return lambda rel: regex.match(rel) is not None


# --- reading --------------------------------------------------------------------------------


def _require_readable_file(ctx: ToolContext, path: Path, user_path: str) -> None:
    if not path.exists():
        raise ToolError(f"File not found: {user_path!r}. Use list_files to see which files exist.")
    if path.is_dir():
        raise ToolError(
            f"{_rel(ctx, path)!r} is a directory, not a file. Use list_files to see its contents."
        )
    if not path.is_file():
        raise ToolError(f"{_rel(ctx, path)!r} is not a regular file.")


def _read_sync(
    ctx: ToolContext, user_path: str, start_line: int | None, end_line: int | None
) -> str:
    path = resolve_in_workspace(ctx.workspace, user_path)
    rel = _rel(ctx, path)
    _require_readable_file(ctx, path, user_path)
    if start_line is not None and end_line is not None and end_line < start_line:
        raise ToolError(f"end_line ({end_line}) is before start_line ({start_line}).")
    start = start_line or 1
    try:
        with open(path, "rb") as fh:
            if is_binary_bytes(fh.read(BINARY_SNIFF_BYTES)):
                raise ToolError(
                    f"{rel!r} looks like a binary file (it contains NUL bytes); "
                    "read_file only shows text files."
                )
        out: list[str] = []
        out_bytes = 0
        total = 0
        last_shown = 0
        truncated = False
        with open(path, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, start=1):
                total = number
                if number < start or truncated:
                    continue
                if end_line is not None and number > end_line:
                    continue
                text = line.rstrip("\r\n")
                if len(text) > READ_MAX_LINE_CHARS:
                    cut = len(text) - READ_MAX_LINE_CHARS
                    text = text[:READ_MAX_LINE_CHARS] + f" [... {cut} more characters]"
                rendered = f"{number:6}\t{text}"
                if len(out) >= READ_MAX_LINES or out_bytes + len(rendered) + 1 > READ_MAX_BYTES:
                    truncated = True
                    continue
                out.append(rendered)
                out_bytes += len(rendered) + 1
                last_shown = number
    except OSError as exc:
        raise ToolError(f"Cannot read {rel!r}: {exc.strerror or exc}") from exc
    if total == 0:
        return f"({rel} is empty)"
    if start > total:
        raise ToolError(f"{rel} has {total} lines; start_line={start} is past the end.")
    if truncated:
        out.append(
            f"[Output truncated: showed lines {start}-{last_shown} of {total}. "
            f"To read further, call read_file with start_line={last_shown + 1}.]"
        )
    return "\n".join(out)


async def read_file(
    ctx: ToolContext, path: str, start_line: Any = None, end_line: Any = None
) -> str:
    start = _opt_int(start_line, "start_line")
    end = _opt_int(end_line, "end_line")
    return await asyncio.to_thread(_read_sync, ctx, path, start, end)


# --- listing --------------------------------------------------------------------------------


def _list_sync(ctx: ToolContext, user_path: str, pattern: str | None) -> str:
    root = resolve_in_workspace(ctx.workspace, ".")
    base = resolve_in_workspace(ctx.workspace, user_path)
    if not base.exists():
        raise ToolError(f"Path not found: {user_path!r}.")
    matches = compile_glob(pattern) if pattern else (lambda _rel: True)
    found: list[str] = []
    seen = 0
    more = False
    for file in _walk_files(root, base):
        seen += 1
        if seen > WALK_MAX_FILES:
            more = True
            break
        rel_to_base = file.name if file == base else file.relative_to(base).as_posix()
        if not matches(rel_to_base):
            continue
        if len(found) >= LIST_MAX_RESULTS:
            more = True
            break
        found.append(_rel(ctx, file))
    where = _rel(ctx, base)
    if not found:
        suffix = f" matching {pattern!r}" if pattern else ""
        return f"No files{suffix} under {where} (gitignored files and {', '.join(sorted(SKIP_DIRS))} are skipped)."
    if more:
        found.append(
            f"[Truncated after {len(found)} files. Narrow the search with a more specific "
            "path or pattern.]"
        )
    return "\n".join(found)


async def list_files(ctx: ToolContext, path: str = ".", pattern: str | None = None) -> str:
    return await asyncio.to_thread(_list_sync, ctx, path or ".", pattern or None)


# --- grep -----------------------------------------------------------------------------------


def _grep_sync(
    ctx: ToolContext,
    pattern: str,
    user_path: str,
    glob: str | None,
    ignore_case: bool,
    max_results: int,
) -> str:
    try:
        regex = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise ToolError(f"Invalid regular expression {pattern!r}: {exc}") from exc
    root = resolve_in_workspace(ctx.workspace, ".")
    base = resolve_in_workspace(ctx.workspace, user_path)
    if not base.exists():
        raise ToolError(f"Path not found: {user_path!r}.")
    matches = compile_glob(glob) if glob else (lambda _rel: True)
    results: list[str] = []
    out_bytes = 0
    files_seen = 0
    stopped = False
    for file in _walk_files(root, base):
        files_seen += 1
        if files_seen > WALK_MAX_FILES:
            stopped = True
            break
        rel_to_base = file.name if file == base else file.relative_to(base).as_posix()
        if not matches(rel_to_base):
            continue
        real = Path(os.path.realpath(file))
        if real != root and not real.is_relative_to(root):
            continue  # a symlink pointing out of the workspace
        try:
            if not real.is_file() or real.stat().st_size > MAX_FILE_BYTES:
                continue
            data = real.read_bytes()
        except OSError:
            continue
        if is_binary_bytes(data[:BINARY_SNIFF_BYTES]):
            continue
        text = data.decode("utf-8", errors="replace")
        rel = _rel(ctx, file)
        for number, line in enumerate(text.splitlines(), start=1):
            if not regex.search(line):
                continue
            if len(line) > GREP_MAX_LINE_CHARS:
                line = line[:GREP_MAX_LINE_CHARS] + " [...]"
            entry = f"{rel}:{number}:{line}"
            if len(results) >= max_results or out_bytes + len(entry) > GREP_MAX_BYTES:
                stopped = True
                break
            results.append(entry)
            out_bytes += len(entry) + 1
        if stopped:
            break
    if not results:
        where = _rel(ctx, base)
        scope = f" in files matching {glob!r}" if glob else ""
        return f"No matches for /{pattern}/ under {where}{scope}."
    if stopped:
        results.append(
            f"[Stopped after {len(results)} matches. Narrow the search with path or glob, "
            "or raise max_results.]"
        )
    return "\n".join(results)


async def grep(
    ctx: ToolContext,
    pattern: str,
    path: str = ".",
    glob: str | None = None,
    ignore_case: Any = False,
    max_results: Any = None,
) -> str:
    limit = _opt_int(max_results, "max_results") or GREP_DEFAULT_RESULTS
    limit = min(limit, GREP_MAX_RESULTS)
    return await asyncio.to_thread(
        _grep_sync, ctx, pattern, path or ".", glob or None, _as_bool(ignore_case), limit
    )


# --- editing --------------------------------------------------------------------------------


async def _current_text(ctx: ToolContext, path: Path, rel: str) -> str | None:
    """The file's current text, or None when it does not exist.

    A host may offer an optional `read_text(path) -> str | None` (sync or async), e.g. the
    LSP server returning the unsaved buffer of an open document; otherwise the disk is read.
    """
    reader = getattr(ctx.host, "read_text", None)
    if callable(reader):
        text = reader(path)
        if inspect.isawaitable(text):
            text = await text
        if text is not None:
            return str(text)
    if not path.exists():
        return None
    if path.is_dir():
        raise ToolError(f"{rel!r} is a directory, not a file.")

    def load() -> str:
        check_file_size(path)
        data = path.read_bytes()
        if is_binary_bytes(data[:BINARY_SNIFF_BYTES]):
            raise ToolError(f"{rel!r} looks like a binary file; refusing to edit it as text.")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ToolError(f"{rel!r} is not valid UTF-8 text; refusing to edit it.") from exc

    try:
        return await asyncio.to_thread(load)
    except OSError as exc:
        raise ToolError(f"Cannot read {rel!r}: {exc.strerror or exc}") from exc


def _diff(old: str, new: str, rel: str) -> tuple[list[str], int, int]:
    lines = list(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{rel}",
            tofile=f"b/{rel}",
            n=3,
        )
    )
    lines = [line if line.endswith("\n") else line + "\n" for line in lines]
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    return lines, added, removed


def _diff_excerpt(lines: list[str]) -> str:
    shown = lines[:DIFF_EXCERPT_LINES]
    text = "".join(shown).rstrip("\n")
    if len(lines) > DIFF_EXCERPT_LINES:
        text += f"\n[... {len(lines) - DIFF_EXCERPT_LINES} more diff lines]"
    return text


async def _approve_and_apply(
    ctx: ToolContext, path: Path, rel: str, new_text: str, summary: str, description: str
) -> None:
    await require_approval(
        ctx,
        "Edit file",
        f"{rel}: {summary}",
        modes=EDIT_APPROVAL_MODES,
        refusal=(
            f"The user refused the edit to {rel}; the file was not changed. "
            "Ask the user how they would like to proceed."
        ),
    )
    try:
        applied = await ctx.host.apply_edit(path, new_text, description)
    except OSError as exc:
        raise ToolError(f"Could not write {rel}: {exc.strerror or exc}") from exc
    if not applied:
        raise ToolError(
            f"The editor did not apply the edit to {rel}; the file is unchanged. "
            "It may have been modified or closed meanwhile: read it again before retrying."
        )


async def edit_file(
    ctx: ToolContext,
    path: str,
    old_string: str,
    new_string: str,
    replace_all: Any = False,
) -> str:
    target = resolve_in_workspace(ctx.workspace, path)
    rel = _rel(ctx, target)
    if old_string is None or old_string == "":
        raise ToolError(
            "old_string is empty. To create a file or replace its whole content use write_file."
        )
    if new_string is None:
        new_string = ""
    if old_string == new_string:
        raise ToolError("old_string and new_string are identical; nothing to change.")
    old_text = await _current_text(ctx, target, rel)
    if old_text is None:
        raise ToolError(f"File not found: {path!r}. Use write_file to create a new file.")
    count = old_text.count(old_string)
    if count == 0 and "\r\n" in old_text and "\n" in old_string and "\r\n" not in old_string:
        # The file uses CRLF line endings; the model almost always writes LF.
        old_string = old_string.replace("\n", "\r\n")
        new_string = new_string.replace("\r\n", "\n").replace("\n", "\r\n")
        count = old_text.count(old_string)
    if count == 0:
        raise ToolError(
            f"old_string was not found in {rel}. It must match the file exactly, including "
            "whitespace and indentation; use read_file to check the current text."
        )
    every = _as_bool(replace_all)
    if count > 1 and not every:
        raise ToolError(
            f"old_string occurs {count} times in {rel}; it must occur exactly once. Include "
            "more surrounding context to make it unique, or set replace_all to true."
        )
    new_text = (
        old_text.replace(old_string, new_string)
        if every
        else old_text.replace(old_string, new_string, 1)
    )
    lines, added, removed = _diff(old_text, new_text, rel)
    replaced = count if every else 1
    noun = "occurrence" if replaced == 1 else "occurrences"
    summary = f"replace {replaced} {noun} (+{added} -{removed} lines)"
    await _approve_and_apply(ctx, target, rel, new_text, summary, f"Edit {rel}")
    return f"Edited {rel}: replaced {replaced} {noun}.\n{_diff_excerpt(lines)}"


async def write_file(ctx: ToolContext, path: str, content: str) -> str:
    target = resolve_in_workspace(ctx.workspace, path)
    rel = _rel(ctx, target)
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise ToolError("content must be a string.")
    if len(content.encode("utf-8", errors="replace")) > MAX_FILE_BYTES:
        raise ToolError(f"content is larger than the {MAX_FILE_BYTES:,}-byte limit.")
    if target == resolve_in_workspace(ctx.workspace, "."):
        raise ToolError("The workspace root is a directory, not a file.")
    old_text = await _current_text(ctx, target, rel)
    line_count = len(content.splitlines())
    if old_text is None:
        summary = f"create file ({line_count} lines)"
        await _approve_and_apply(ctx, target, rel, content, summary, f"Create {rel}")
        return f"Created {rel} ({line_count} lines)."
    if old_text == content:
        return f"{rel} already has exactly this content; nothing was changed."
    lines, added, removed = _diff(old_text, content, rel)
    summary = f"overwrite (+{added} -{removed} lines)"
    await _approve_and_apply(ctx, target, rel, content, summary, f"Overwrite {rel}")
    return f"Wrote {rel} ({line_count} lines).\n{_diff_excerpt(lines)}"


# --- headless host --------------------------------------------------------------------------

Approver = Callable[[str, str], bool | Awaitable[bool]]


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write `text` (UTF-8, line endings as given) to `path` via a temp file and os.replace.

    Symlinks are followed (the target is replaced, not the link); an existing file keeps its
    permission bits; missing parent directories are created.
    """
    target = Path(os.path.realpath(os.fspath(path)))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def tty_prompt_approver(action: str, detail: str) -> bool:
    """Ask on the terminal (prompt on stderr, answer from stdin); deny when stdin is no TTY."""
    stdin = sys.stdin
    if stdin is None or not stdin.isatty():
        return False
    sys.stderr.write(f"\n{action}:\n{detail}\nAllow? [y/N] ")
    sys.stderr.flush()
    answer = stdin.readline()
    return answer.strip().lower() in {"y", "yes"}


class DiskToolHost:
    """A `ToolHost` for headless use: approvals from a fixed answer or a callable, edits
    written atomically to disk.

    `approver` is a bool (always allow / always deny) or a callable `(action, detail) -> bool`
    (sync or async; sync callables run in a thread so a blocking prompt does not stall the
    event loop). Use `tty_prompt_approver` for an interactive y/n prompt that denies when stdin
    is not a terminal. With `workspace` set, `apply_edit` refuses paths outside it.
    Every request is recorded in `approval_requests` and every write in `applied_edits`.
    """

    def __init__(self, approver: bool | Approver = False, *, workspace: Path | None = None):
        self._approver = approver
        self.workspace = Path(workspace) if workspace is not None else None
        self.approval_requests: list[tuple[str, str]] = []
        self.applied_edits: list[tuple[Path, str]] = []

    async def approve(self, action: str, detail: str) -> bool:
        self.approval_requests.append((action, detail))
        approver = self._approver
        if isinstance(approver, bool):
            return approver
        if inspect.iscoroutinefunction(approver):
            result: Any = await approver(action, detail)
        else:
            result = await asyncio.to_thread(approver, action, detail)
            if inspect.isawaitable(result):
                result = await result
        return bool(result)

    async def apply_edit(self, path: Path, new_text: str, description: str) -> bool:
        target = Path(path)
        if self.workspace is not None:
            target = resolve_in_workspace(self.workspace, str(target))
        await asyncio.to_thread(atomic_write_text, target, new_text)
        self.applied_edits.append((target, description))
        return True


# --- tool objects ---------------------------------------------------------------------------

_PATH_DOC = "Path relative to the workspace root (absolute paths inside the workspace also work)."

READ_FILE = Tool(
    name="read_file",
    description=(
        "Read a text file from the workspace. Lines are returned numbered like `cat -n` "
        f"(number, tab, text). At most {READ_MAX_LINES} lines / {READ_MAX_BYTES // 1000} KB are "
        "returned per call; use start_line/end_line (1-based, inclusive) to read other parts "
        "of long files. Binary files and directories are refused."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": _PATH_DOC},
            "start_line": {"type": "integer", "minimum": 1, "description": "First line to show."},
            "end_line": {"type": "integer", "minimum": 1, "description": "Last line to show."},
        },
        "required": ["path"],
        "additionalProperties": False,
    },
    fn=read_file,
)

LIST_FILES = Tool(
    name="list_files",
    description=(
        "List files under a workspace directory, recursively, optionally filtered by a glob "
        "pattern. A pattern without '/' matches file names at any depth ('*.py'); one with '/' "
        "matches the path relative to `path` ('src/**/*.ts'); '{a,b}' alternatives work. "
        "Gitignored files and .git, node_modules, .venv are skipped. "
        f"At most {LIST_MAX_RESULTS} paths are returned."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {
                "type": "string",
                "description": "Directory to list (default: root).",
                "default": ".",
            },
            "pattern": {"type": "string", "description": "Glob such as '**/*.py'."},
        },
        "additionalProperties": False,
    },
    fn=list_files,
)

GREP = Tool(
    name="grep",
    description=(
        "Search file contents with a Python regular expression. Returns 'path:line:text' "
        "lines. Gitignored, binary and very large files are skipped. Use `glob` to restrict "
        "the files searched (e.g. '*.py')."
    ),
    parameters={
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "Regular expression (Python syntax)."},
            "path": {
                "type": "string",
                "description": "File or directory to search.",
                "default": ".",
            },
            "glob": {"type": "string", "description": "Only search files matching this glob."},
            "ignore_case": {"type": "boolean", "default": False},
            "max_results": {
                "type": "integer",
                "minimum": 1,
                "maximum": GREP_MAX_RESULTS,
                "default": GREP_DEFAULT_RESULTS,
            },
        },
        "required": ["pattern"],
        "additionalProperties": False,
    },
    fn=grep,
)

EDIT_FILE = Tool(
    name="edit_file",
    description=(
        "Replace an exact string in a file. old_string must match the current file text "
        "exactly (whitespace and indentation included) and occur exactly once, unless "
        "replace_all is true. Read the file first. Include enough context to make old_string "
        "unique. To create a file or rewrite it completely use write_file."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": _PATH_DOC},
            "old_string": {"type": "string", "description": "Exact text to replace."},
            "new_string": {"type": "string", "description": "Replacement text."},
            "replace_all": {
                "type": "boolean",
                "default": False,
                "description": "Replace every occurrence instead of requiring exactly one.",
            },
        },
        "required": ["path", "old_string", "new_string"],
        "additionalProperties": False,
    },
    fn=edit_file,
)

WRITE_FILE = Tool(
    name="write_file",
    description=(
        "Create a file, or overwrite an existing one, with the given content. Prefer "
        "edit_file for changes to existing files."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": _PATH_DOC},
            "content": {"type": "string", "description": "The complete new file content."},
        },
        "required": ["path", "content"],
        "additionalProperties": False,
    },
    fn=write_file,
)

FILE_TOOLS: list[Tool] = [READ_FILE, LIST_FILES, GREP, EDIT_FILE, WRITE_FILE]

__all__ = [
    "FILE_TOOLS",
    "READ_FILE",
    "LIST_FILES",
    "GREP",
    "EDIT_FILE",
    "WRITE_FILE",
    "DiskToolHost",
    "atomic_write_text",
    "compile_glob",
    "tty_prompt_approver",
]
