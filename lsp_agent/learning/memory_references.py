"""What a memory block's text points at in the workspace: paths, task-runner commands and code
names, each with the line it is on (memory_doctor checks that they still exist).

Only what is written as a reference counts. Commands and code names are read from `code
spans` (commands from fenced blocks too); paths from code spans, or plainly when they have a
`/` or a known file extension. Left out, because flagging them would be noise: URLs, globs,
absolute and home paths, placeholders (`path/to/x.py`, `foo_bar`), HTML comments, and lines
that say the thing is gone or to be avoided ("removed", "renamed", "never", "instead of").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from lsp_agent.learning.workspace_files import FILENAME_LANGUAGES, LANGUAGES, LOCK_FILES

#: Extensions that make a plain word a file name (`setup.py`, `docs/intro.md`).
KNOWN_EXTENSIONS = frozenset(LANGUAGES) | {".lock", ".csv", ".svg", ".env"}
#: File names without an extension that are paths when written in a code span (`Makefile`).
KNOWN_FILENAMES = frozenset(FILENAME_LANGUAGES) | LOCK_FILES

# A line about something gone or to avoid: its references are expected not to exist.
_GONE = re.compile(
    r"(?i)\b(?:removed|deleted|renamed|moved|no longer|used to|deprecated|formerly|instead of|"
    r"replaced|obsolete|never|don'?t|do not|avoid|was called)\b")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_FENCE = re.compile(r"^\s*(```|~~~)")
_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://\S+|\bwww\.\S+|\bmailto:\S+")
_PATH_TOKEN = re.compile(r"(?:\./)?[\w.\-]+(?:/[\w.\-]+)*/?")
_LOCATION_SUFFIX = re.compile(r"(?:::[\w:\[\]-]+|:\d+(?:[:-]\d+)?|#L\d+(?:-L?\d+)?)$")
# Words that make a path or name an illustration rather than a claim about this workspace.
_EXAMPLE_WORDS = re.compile(
    r"(?i)^(?:foo|bar|baz|qux|quux|xxx|yyy|zzz|example|sample|placeholder|dummy|"
    r"(?:your|my|some)(?:[_-]\w*)?)$")
_TLDS = frozenset("com org net io dev ai app co gov edu info biz me sh rs gg tv us uk de".split())
_OUTPUT_FLAGS = re.compile(r"^(?:-o|-d|--out\w*|--output\w*|--dest\w*|--target-dir|>>?)$")

# Code names: `Foo.bar`, `foo()`, `snake_case_name` (a span holding nothing else).
_CALL = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\(.*\)$")
_DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
_SNAKE = re.compile(r"^_*[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+_*$")
_RECEIVER = re.compile(r"^(?:self|this|cls)\.")

# Commands: the runners whose targets can be looked up, and their built-in subcommands.
_WRAPPERS = (("uv", "run"), ("poetry", "run"), ("pdm", "run"), ("pipenv", "run"), ("sudo",))
_NODE_BUILTINS = frozenset(
    "add audit autoclean bin cache check config constraints create dedupe deploy dlx doctor env "
    "exec explain fetch generate-lock-entry get global help i import info init install licenses "
    "link list login logout ls node npm outdated owner pack patch patch-commit plugin policies "
    "prune publish rebuild recursive remove restart rm root run search server set setup stage "
    "start stop store t tag team test unlink unplug up update upgrade upgrade-interactive "
    "version view whoami why workspace workspaces".split())
_MAKE_DIR_FLAGS = frozenset({"-C", "-f", "-I", "--directory", "--file", "--makefile",
                             "--include-dir", "--justfile", "--working-directory", "-d",
                             "--dir", "--taskfile", "-t"})


@dataclass(frozen=True)
class PathRef:
    line: int  # 0-based line of the block's text
    path: str  # workspace-relative, without a leading ./ or a :line suffix
    loose: bool  # a plain word with a slash: a path only if its first part exists


@dataclass(frozen=True)
class CommandRef:
    line: int
    runner: str  # make, just, npm (npm/pnpm/yarn/bun run), task
    target: str
    command: str  # as written, for the message
    bare: bool = False  # `pnpm X` / `yarn X` without `run`: X may also be a package binary


@dataclass(frozen=True)
class SymbolRef:
    line: int
    name: str  # as written, for the message
    parts: tuple[str, ...]  # its dotted parts, receiver (self.) left out


@dataclass(frozen=True)
class Line:
    """One line of a block, split into what is code and what is prose."""

    number: int
    spans: tuple[str, ...]  # inline code spans, or the whole line inside a fence
    prose: str  # the rest, without URLs, code spans and comments
    fenced: bool


def lines_of(text: str) -> Iterator[Line]:
    """The lines of a block's text that can hold references (HTML comments left out)."""
    fence = ""
    comment = False
    for number, raw in enumerate(text.split("\n")):
        line = raw
        if comment:
            end = line.find("-->")
            if end < 0:
                continue
            line, comment = line[end + 3 :], False
        line = re.sub(r"<!--.*?-->", " ", line)
        if "<!--" in line:
            line, comment = line[: line.index("<!--")], True
        mark = _FENCE.match(line)
        if fence:
            if mark and mark.group(1) == fence:
                fence = ""
            else:
                yield Line(number, (line,), "", True)
            continue
        if mark:
            fence = mark.group(1)
            continue
        spans = tuple(m.group(2).strip() for m in _CODE_SPAN.finditer(line))
        prose = _URL.sub(" ", _CODE_SPAN.sub(" ", line))
        yield Line(number, spans, prose, False)


@lru_cache(maxsize=256)  # a block's text seldom changes between two checks
def references(text: str) -> tuple[tuple[PathRef, ...], tuple[CommandRef, ...],
                                   tuple[SymbolRef, ...]]:
    """The paths, commands and code names `text` refers to, in order."""
    paths: list[PathRef] = []
    commands: list[CommandRef] = []
    symbols: list[SymbolRef] = []
    for line in lines_of(text):
        if _GONE.search(" ".join((*line.spans, line.prose))):
            continue
        for span in line.spans:
            if not line.fenced and _CALL.match(span):
                if symbol := _symbol(line.number, span):
                    symbols.append(symbol)
            elif " " in span or line.fenced:
                paths += _command_paths(line.number, span)
                commands += _commands(line.number, span)
            else:
                found = _path(line.number, span.strip("'\""), loose=False, spanned=True)
                if found:
                    paths.append(found)
                elif not line.fenced and (symbol := _symbol(line.number, span)):
                    symbols.append(symbol)
        for word in line.prose.split():
            found = _path(line.number, word.strip("\"'()[]{},;:!?*").rstrip("."), loose=True,
                          spanned=False)
            if found:
                paths.append(found)
    return tuple(paths), tuple(commands), tuple(symbols)


def _path(line: int, token: str, *, loose: bool, spanned: bool) -> PathRef | None:
    """`token` as a workspace-relative path reference, or None when it is no such thing."""
    token = _LOCATION_SUFFIX.sub("", token)
    if not token or not _PATH_TOKEN.fullmatch(token) or token.startswith(("../", "-")):
        return None
    path = token[2:] if token.startswith("./") else token
    parts = [p for p in path.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        return None
    name = parts[-1]
    stem, dot, ext = name.rpartition(".")
    has_ext = bool(dot) and bool(stem) and f".{ext.lower()}" in KNOWN_EXTENSIONS \
        and re.search(r"[A-Za-z]", stem) is not None
    if "/" not in path:
        if not (has_ext or (spanned and name in KNOWN_FILENAMES)):
            return None
        if not spanned and ext in ("js", "ts") and stem[:1].isupper():
            return None  # Node.js, Vue.js: product names
    if _is_domain(parts[0]) or _is_example(parts):
        return None
    strict = has_ext or path.endswith("/") or token.startswith("./") or spanned
    return PathRef(line, path, loose=loose and not strict)


def _is_domain(first: str) -> bool:
    head, dot, tld = first.rpartition(".")
    return bool(dot and head) and tld.lower() in _TLDS


def _is_example(parts: list[str]) -> bool:
    stems = [p.split(".")[0] for p in parts]
    if any(a.lower() == "path" and b.lower() == "to"
           for a, b in zip(stems, stems[1:], strict=False)):
        return True
    return any(_EXAMPLE_WORDS.match(s) for s in stems if s)


def _segments(span: str) -> Iterator[list[str]]:
    """The simple commands of a shell line: words, env assignments and wrappers dropped."""
    span = re.sub(r"^\s*[$>]\s+", "", span)
    span = re.sub(r"(?:^|\s)#.*$", "", span)
    for part in re.split(r"&&|\|\||;|\|", span):
        words = [w.strip("'\"") for w in part.split()]
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            words.pop(0)
        for wrapper in _WRAPPERS:
            if tuple(words[: len(wrapper)]) == wrapper:
                words = words[len(wrapper) :]
        if words:
            yield words


def _command_paths(line: int, span: str) -> list[PathRef]:
    """Paths among a command's words, except outputs (`-o out/x.html`, `> log.txt`)."""
    out: list[PathRef] = []
    for words in _segments(span):
        for before, word in zip(["", *words], words, strict=False):
            if _OUTPUT_FLAGS.match(before) or word.startswith(">"):
                continue
            if word.startswith("-"):
                flag, eq, value = word.partition("=")
                if not eq or re.search(r"out|dest|target", flag):
                    continue
                word = value
            found = _path(line, word, loose=True, spanned=False)  # `git push origin/x`
            if found and ("/" in found.path or found.path.rpartition(".")[0]):
                out.append(found)
    return out


def _commands(line: int, span: str) -> list[CommandRef]:
    out: list[CommandRef] = []
    for words in _segments(span):
        runner, args = words[0], words[1:]
        text = " ".join(words)
        if runner in ("make", "gmake", "just", "task"):
            if any(a.split("=")[0] in _MAKE_DIR_FLAGS for a in args):
                continue  # another folder's or file's tasks
            targets = [a for a in args if not a.startswith("-") and "=" not in a
                       and not re.fullmatch(r"\d+", a)]
            if runner == "just":
                targets = targets[:1]  # the words after a recipe are its arguments
            kind = "make" if runner == "gmake" else runner
            out += [CommandRef(line, kind, t, text) for t in targets if _target_like(t)]
        elif runner in ("npm", "pnpm", "yarn", "bun") and args:
            if args[0] in ("run", "run-script"):
                script, bare = (args[1] if len(args) > 1 else ""), False
            elif runner in ("pnpm", "yarn") and args[0] not in _NODE_BUILTINS:
                script, bare = args[0], True
            else:
                continue
            if script and not script.startswith("-") and _target_like(script) and not (
                    runner == "bun" and ("/" in script or "." in script)):
                out.append(CommandRef(line, "npm", script, text, bare=bare))
    return out


def _target_like(word: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][\w.:\-/]*", word)) and not _EXAMPLE_WORDS.match(word)


def _symbol(line: int, span: str) -> SymbolRef | None:
    text = span.strip()
    call = _CALL.match(text)
    name = call.group(1) if call else text
    bare = _RECEIVER.sub("", name)
    if not (call or _DOTTED.match(bare) or _SNAKE.match(bare)):
        return None
    parts = tuple(bare.split("."))
    if len(parts) == 1 and not (call or _SNAKE.match(bare)):
        return None
    if len(bare) < 3 or any(_EXAMPLE_WORDS.match(p) for p in parts):
        return None
    if len(parts) > 1 and (f".{parts[-1].lower()}" in KNOWN_EXTENSIONS or
                           parts[-1].lower() in _TLDS):
        return None  # a file name or a domain, not code
    return SymbolRef(line, text, parts)
