"""Whether what memory mentions still exists in the workspace: files, task-runner targets and
code names. Cached so the memory doctor can run on every save of a mirror file.

- Paths: a stat at the workspace root first; a name written relative to a folder
  (`mirror.py`, `memory/mirror.py`) is looked up among the walked files, kept `WALK_TTL`.
- Tasks: Makefile, justfile, package.json, Taskfile and taskipy, read by the research steps
  (command_sources, manifest_readers), re-read when a file's mtime or size changes.
- Code names: the code index's chunk text (documentation left out: an exported AGENTS.md
  would otherwise vouch for memory's own stale names). Which files hold a name is cached per
  name and updated from the files the index re-read since, so a save costs a few ms.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import tomllib
import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lsp_agent.learning.code_index import open_index
from lsp_agent.learning.code_rows import groups
from lsp_agent.learning.command_sources import just_recipes, make_targets
from lsp_agent.learning.manifest_readers import node_facts
from lsp_agent.learning.research_facts import FactCollector
from lsp_agent.memory.store import MemoryStore, sql_str
from lsp_agent.workspace_walk import is_skipped_dir, root_rules, walk_files

WALK_TTL = 10.0  # seconds a walk of the workspace answers "is there such a file"
MAX_TASK_FOLDERS = 40  # sub-folders with their own task files looked into, at most
WITNESSES = 3  # files kept per known name: one re-indexed file seldom makes it unknown
MAKE_TARGETS_READ = 30  # make_targets stops there; past it, a target line is looked for
TASK_FILES: dict[str, tuple[str, ...]] = {
    "make": ("Makefile", "makefile", "GNUmakefile"),
    "just": ("justfile", "Justfile", ".justfile"),
    "npm": ("package.json",),
    "task": ("Taskfile.yml", "Taskfile.yaml", "taskfile.yml", "taskfile.yaml",
             "Taskfile.dist.yml", "pyproject.toml"),
}
# Folders whose task files are data, not the project's tasks (a fixture's Makefile).
NOT_TASK_FOLDERS = re.compile(r"(?:^|/)(?:fixtures?|testdata|test_data|examples?|samples?|"
                              r"vendor|third_party)(?:/|$)")
RUNNER_FILE = {"make": "Makefile", "just": "justfile", "npm": "package.json", "task": "Taskfile"}


# -- files ----------------------------------------------------------------------------------


@dataclass
class _Walk:
    at: float
    files: set[str]
    dirs: set[str]
    names: set[str]  # every suffix of every path ("a/b/c.py", "b/c.py", "c.py"), dirs too
    task_folders: dict[str, list[str]] = field(default_factory=dict)  # by runner


class WorkspaceLookup:
    """What exists in one workspace, cached (use `lookup(root)` for the shared one)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._walk: _Walk | None = None
        self._rules: tuple[float, Any] | None = None
        self._catalogs: dict[str, tuple[tuple[Any, ...], _Catalog]] = {}

    def walked(self) -> _Walk:
        with self._lock:
            if self._walk is None or time.monotonic() - self._walk.at > WALK_TTL:
                files: set[str] = set()
                dirs: set[str] = set()
                names: set[str] = set()
                for f in walk_files(self.root):
                    files.add(f.rel_path)
                    parts = f.rel_path.split("/")
                    names.update("/".join(parts[i:]) for i in range(len(parts)))
                    folder = f.rel_path.rpartition("/")[0]
                    while folder and folder not in dirs:  # each folder above a file, once
                        dirs.add(folder)
                        parts = folder.split("/")
                        names.update("/".join(parts[j:]) + "/" for j in range(len(parts)))
                        folder = folder.rpartition("/")[0]
                self._walk = _Walk(time.monotonic(), files, dirs, names)
            return self._walk

    def generated(self, rel: str) -> bool:
        """Under a tool or build folder, or ignored by the root .gitignore: made by a build,
        so its absence says nothing about memory being stale."""
        parts = rel.rstrip("/").split("/")
        if any(is_skipped_dir(p) for p in parts[:-1]) or is_skipped_dir(parts[-1]):
            return True
        with self._lock:
            if self._rules is None or time.monotonic() - self._rules[0] > WALK_TTL:
                self._rules = (time.monotonic(), root_rules(self.root))
            rules = self._rules[1]
        return bool(rules.ignored(rel.rstrip("/"), rel.endswith("/")))

    def first_part_exists(self, rel: str) -> bool:
        return os.path.lexists(self.root / rel.split("/")[0])

    def path_exists(self, rel: str) -> bool:
        """`rel` from the root, or as the end of a walked path (`mirror.py`, `memory/`)."""
        if os.path.lexists(self.root / rel.rstrip("/")):
            return True
        return rel in self.walked().names

    # -- tasks ------------------------------------------------------------------------------

    def task_status(self, runner: str, name: str, *, bare: bool = False) -> str:
        """"found", "missing", "no-file" (no task file of this runner anywhere) or "unsure"
        (a file includes others, or has rules whose names are computed)."""
        folders = [""]
        seen_file = False
        for pass_ in (0, 1):
            if pass_:
                folders = self._task_folders(runner)
            for folder in folders:
                catalog = self._catalog(folder)
                if runner not in catalog.present:
                    continue
                seen_file = True
                if catalog.has(runner, name, bare=bare):
                    return "found"
                if runner in catalog.unsure:
                    return "unsure"
        return "missing" if seen_file else "no-file"

    def _task_folders(self, runner: str) -> list[str]:
        walk = self.walked()
        if runner not in walk.task_folders:
            wanted = set(TASK_FILES[runner])
            folders = sorted({f.rpartition("/")[0] for f in walk.files
                              if "/" in f and f.rpartition("/")[2] in wanted
                              and not NOT_TASK_FOLDERS.search(f)})
            walk.task_folders[runner] = folders[:MAX_TASK_FOLDERS]
        return walk.task_folders[runner]

    def _catalog(self, folder: str) -> _Catalog:
        base = self.root / folder if folder else self.root
        stamp = []
        for name in sorted({n for names in TASK_FILES.values() for n in names}):
            try:
                st = (base / name).stat()
                stamp.append((name, st.st_mtime_ns, st.st_size))
            except OSError:
                continue
        key = tuple(stamp)
        with self._lock:
            cached = self._catalogs.get(folder)
            if cached and cached[0] == key:
                return cached[1]
        catalog = _read_catalog(base)
        with self._lock:
            self._catalogs[folder] = (key, catalog)
        return catalog


@dataclass
class _Catalog:
    """The named tasks of one folder's task files."""

    base: Path
    names: dict[str, set[str]] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)
    unsure: set[str] = field(default_factory=set)
    packages: set[str] = field(default_factory=set)  # package.json dependencies
    makefile: str = ""

    def has(self, runner: str, name: str, *, bare: bool = False) -> bool:
        if name in self.names.get(runner, set()):
            return True
        if runner == "make" and len(self.names.get("make", ())) >= MAKE_TARGETS_READ:
            target = re.escape(name)
            return re.search(rf"(?m)^(?:[^\s:#=]+[ \t]+)*{target}(?:[ \t]+[^\s:#=]+)*[ \t]*::?(?!=)",
                             self.makefile) is not None
        if runner == "npm" and bare:  # `yarn eslint`: a package's binary
            return name in self.packages or (self.base / "node_modules" / ".bin" / name).exists()
        return False


def _read_catalog(base: Path) -> _Catalog:
    """The tasks of the files in `base`, through the research steps that read them for init."""
    ctx = FactCollector(base)
    catalog = _Catalog(base)
    for runner, names in TASK_FILES.items():
        if any(ctx.read(n) is not None for n in names if n != "pyproject.toml"):
            catalog.present.add(runner)
    for step in (make_targets, just_recipes, node_facts):
        try:
            step(ctx)
        except (ValueError, TypeError, AttributeError, KeyError):
            pass  # a broken task file is not the memory's problem
    runners = {"make": "make", "just": "just", "npm": "npm"}
    for (runner, name), _purpose in ctx.task_purposes.items():
        if runner in runners:
            catalog.names.setdefault(runners[runner], set()).add(name)
    make = next((t for n in TASK_FILES["make"] if (t := ctx.read(n)) is not None), "")
    catalog.makefile = make
    if re.search(r"(?m)^-?s?include\s|^[^\t#\n]*%[^\n=]*:|^\$[({]", make):
        catalog.unsure.add("make")  # included files, pattern rules, computed targets
    just = next((t for n in TASK_FILES["just"] if (t := ctx.read(n)) is not None), "")
    catalog.names.setdefault("just", set()).update(
        re.findall(r"(?m)^alias\s+([\w-]+)\s*:=", just))
    if re.search(r"(?m)^(?:import|mod)\b", just):
        catalog.unsure.add("just")
    package = ctx.parse("package.json", json.loads)
    if isinstance(package, dict):
        for key in ("dependencies", "devDependencies", "optionalDependencies"):
            deps = package.get(key)
            if isinstance(deps, dict):
                catalog.packages.update(n.rpartition("/")[2] for n in deps)
    _go_tasks(ctx, catalog)
    return catalog


def _go_tasks(ctx: FactCollector, catalog: _Catalog) -> None:
    """Taskfile tasks (and their aliases), and taskipy's `[tool.taskipy.tasks]`."""
    names = catalog.names.setdefault("task", set())
    for rel in TASK_FILES["task"][:-1]:
        data = ctx.parse(rel, yaml.safe_load)
        if not isinstance(data, dict):
            continue
        tasks = data.get("tasks")
        for name, task in tasks.items() if isinstance(tasks, dict) else ():
            names.add(str(name))
            aliases = task.get("aliases") if isinstance(task, dict) else None
            names.update(str(a) for a in aliases or () if isinstance(aliases, list))
        if data.get("includes"):
            catalog.unsure.add("task")
        break
    pyproject = ctx.parse("pyproject.toml", tomllib.loads)
    tasks = (((pyproject or {}).get("tool") or {}).get("taskipy") or {}).get("tasks")
    if isinstance(tasks, dict):
        catalog.present.add("task")
        names.update(str(n) for n in tasks)


_lookups: dict[Path, WorkspaceLookup] = {}
_lookups_lock = threading.Lock()


def lookup(root: Path) -> WorkspaceLookup:
    """The cache of one workspace, shared by every check of this process."""
    with _lookups_lock:
        return _lookups.setdefault(root, WorkspaceLookup(root))


# -- code names ------------------------------------------------------------------------------

_CATEGORIES = "category != 'docs'"


class IndexedNames:
    """Which of some names the code index's text holds, as whole words.

    For each name asked, a few files holding it are kept (none: the index does not know it).
    When the index re-reads files, the names held only by those files are looked up afresh,
    and names known nowhere are looked for in the re-read files only.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._hashes: dict[str, str] = {}
        self._where: dict[str, set[str]] = {}  # name -> some indexed files holding it

    def known(self, store: MemoryStore, names: Collection[str], skip: str = "") -> set[str]:
        """The `names` the index knows; `skip`: a folder prefix left out (the memory folder,
        when it is inside the workspace, so memory never vouches for itself)."""
        idx = open_index(store, create=False)
        if idx is None:
            return set(names)
        with self._lock:
            stamp = (int(idx.chunks.version), int(idx.files.version))
            if stamp != self._stamp:
                self._refresh(idx, skip)
                self._stamp = stamp
            new = [n for n in names if n not in self._where]
            if new:
                self._scan(idx, new, None, skip)
            return {n for n in names if self._where.get(n)}

    def _refresh(self, idx: Any, skip: str) -> None:
        rows = idx.files.search().select(["path", "hash"]).limit(10_000_000).to_arrow()
        hashes = dict(zip(rows.column("path").to_pylist(), rows.column("hash").to_pylist(),
                          strict=True))
        changed = {p for p, h in hashes.items() if self._hashes.get(p) != h}
        changed |= set(self._hashes) - set(hashes)
        self._hashes = hashes
        if not self._where or not changed:
            return
        if len(changed) > 500:  # a new index: look names up afresh when asked
            self._where = {}
            return
        absent = [n for n, where in self._where.items() if not where]
        for name, where in list(self._where.items()):
            if where and not where - changed:
                del self._where[name]  # its witnesses changed: asked afresh next time
            else:
                where -= changed
        still = sorted(changed & set(hashes))
        if absent and still:
            self._scan(idx, absent, still, skip)

    def _scan(self, idx: Any, names: list[str], paths: list[str] | None, skip: str) -> None:
        """Look for `names` (in `paths`, or everywhere): the store filters the chunks that
        hold any of them, then a few witnesses are taken per name, round by round."""
        import pyarrow.compute as pc

        for name in names:
            self._where.setdefault(name, set())
        pattern = _words(names)
        # a few re-read files: fetched by path, matched here (the store would run the regex
        # on every row before looking at the path)
        wheres = [f"{_CATEGORIES} AND regexp_like(text, {sql_str(pattern)})"] if paths is None \
            else [f"{_CATEGORIES} AND path IN ({','.join(sql_str(p) for p in group)})"
                  for group in groups(paths, 500)]
        for where in wheres:
            rows = (idx.chunks.search().where(where).select(["path", "text"])
                    .limit(10_000_000).to_arrow())
            if paths is not None and rows.num_rows:
                rows = rows.filter(pc.match_substring_regex(rows.column("text"), pattern))
            if skip:
                rows = rows.filter(pc.invert(pc.starts_with(rows.column("path"), skip)))
            left = set(names)
            while left and rows.num_rows:
                head, rows = rows.slice(0, 64), rows.slice(64)
                words = re.compile(_words(left))
                for path, text in zip(head.column("path").to_pylist(),
                                      head.column("text").to_pylist(), strict=True):
                    for name in set(words.findall(text)):
                        self._where[name].add(path)
                left = {n for n in left if len(self._where[n]) < WITNESSES}
                if left and rows.num_rows:
                    rows = rows.filter(pc.match_substring_regex(rows.column("text"),
                                                                _words(left)))


def _words(names: Collection[str]) -> str:
    """A regex of any of `names` as a whole word (RE2 and Python alike)."""
    return r"\b(?:" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")\b"


_names: weakref.WeakKeyDictionary[MemoryStore, IndexedNames] = weakref.WeakKeyDictionary()
_names_lock = threading.Lock()


def code_names(store: MemoryStore, workspace: Path,
               memory_folder: Path) -> Callable[[Collection[str]], set[str]] | None:
    """A lookup of names in the code index of `store`, or None when there is no index."""
    try:
        if open_index(store, create=False) is None:
            return None
    except Exception:  # noqa: BLE001 - a damaged or unreadable index: nothing to check against
        return None
    try:
        skip = memory_folder.resolve().relative_to(workspace).as_posix() + "/"
    except ValueError:
        skip = ""
    with _names_lock:
        names = _names.setdefault(store, IndexedNames())

    def known(wanted: Collection[str]) -> set[str]:
        try:
            return names.known(store, wanted, skip)
        except Exception:  # noqa: BLE001 - an index that cannot be read vouches for every name
            return set(wanted)

    return known
