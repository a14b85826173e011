"""File-tool escapes: no path a model can spell reads or writes outside the workspace.

Every file tool (read_file, list_files, grep, edit_file, write_file) is tried with a generated
set of escape attempts (`..` chains, absolute and system paths, `~` and `$HOME`, URL-encoding,
`file://` URIs, backslashes, NUL bytes, unicode look-alikes, very long paths, symlinks inside
the workspace that lead out, a symlink loop, globs reaching outside) in every permission mode.
The host approves everything and has no workspace of its own (`DiskToolHost(True)`), so only
the tools' own confinement (`paths.resolve_in_workspace`) stands between the model and the disk.

Outside the workspace sit canary files holding `TOKEN` and a file whose name holds
`HIDDEN_NAME` (never named by any attempt): neither may show up in any tool output or error,
and nothing outside the workspace may change or appear. `run_matrix` is shared with
benchmarks/tool_escapes.py, which prints the figures.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lsp_agent.agent.tools.base import PermissionMode, ToolContext, ToolError
from lsp_agent.agent.tools.disk_host import DiskToolHost
from lsp_agent.agent.tools.edit_tools import edit_file, write_file
from lsp_agent.agent.tools.read_tools import grep, list_files, read_file

TOKEN = "XyZzY-4417-canary-of-the-outside"
GREP_PATTERN = r"XyZzY.4417"  # finds TOKEN without spelling it (grep echoes its pattern)
OLD = "XyZzY"  # what edit_file tries to replace in the canaries
HIDDEN_NAME = "hidden-Qw9RtZ"  # a file name outside that no attempt names
PROBE = "lsp_agent_escape_probe"  # what write_file tries to create in system directories
TOOLS = ["read_file", "list_files", "grep", "edit_file", "write_file"]
WRITE_TOOLS = {"edit_file", "write_file"}

#: (path template, expectation). `outside`: the tool must refuse, saying the path is outside
#: the workspace; `nul`: refused for its NUL byte; `contained`: any answer (usually not found)
#: as long as nothing leaks and nothing outside changes. Templates: {ws} the workspace,
#: {out} a directory beside it, {tmp} their parent, {home} $HOME; `sys:` marks real system
#: files, which edit_file and write_file probe with a new file name instead.
PATHS: list[tuple[str, str]] = [
    # `..` chains: plain, through real directories, with `./`, doubled and trailing slashes
    *[(p, "outside") for p in [
        "..", "../", "../.", "./..", "../outside", "../outside/", "../outside/canary.txt",
        "./../outside/canary.txt", "../outside/./canary.txt", "../outside/sub/secret.txt",
        "src/../../outside/canary.txt", "src/./../../outside/canary.txt",
        "src//..//..//outside//canary.txt", "src/pkg/../../../outside/canary.txt",
        "src/../..", "../ws/../outside/canary.txt", ".././../outside/canary.txt",
        "nosuchdir/../../outside/canary.txt", "../ws-evil/canary.txt", "../ws-evil",
        "../" * 40 + "{tmp_rel}/outside/canary.txt", "../" * 40 + "etc/passwd",
        "a/" * 1500 + "../" * 1501 + "outside/canary.txt",
    ]],
    # absolute paths to the canaries, $HOME and the system
    *[(p, "outside") for p in [
        "{out}/canary.txt", "{out}", "{out}/", "{out}/sub/secret.txt", "//{out}/canary.txt",
        "{ws}/../outside/canary.txt", "{ws}/src/../../outside/canary.txt", "{ws}/..",
        "{ws}-evil/canary.txt", "{tmp}", "{home}/.ssh/id_rsa", "{home}",
        "/proc/self/root{out}/canary.txt", "/proc/self/cwd/..",
        "sys:/etc/passwd", "sys:/etc/hostname", "sys:/etc", "sys:/", "sys:/proc/self/environ",
        "sys:/proc/self/cwd", "sys:/dev/zero", "sys:/dev/null", "sys:/root/.ssh/id_rsa",
        "sys:/root", "sys:/tmp",
    ]],
    # symlinks inside the workspace that lead out: file, relative, directory, chained,
    # dangling (file and directory), a directory link then `..`, a link to $HOME
    *[(p, "outside") for p in [
        "link_file", "link_rel", "link_dir", "link_dir/", "link_dir/canary.txt",
        "link_dir/sub/secret.txt", "link_dir/..", "link_dir/../outside/canary.txt",
        "chain1", "chain2", "dangling", "dangling_dir/new.txt", "src/deep/../canary.txt",
        "src/deep/secret.txt", "src/up/../outside/canary.txt", "src/up/..", "home_link",
        "home_link/.ssh/id_rsa", "link_tmp/outside/canary.txt", "src/rel_out",
    ]],
    # NUL bytes
    *[(p, "nul") for p in [
        "../outside/canary.txt\x00", "src/app.py\x00../../outside/canary.txt",
        "\x00/etc/passwd", "link_file\x00.txt",
    ]],
    # spellings that are only names inside the workspace: nothing may be expanded or decoded
    *[(p, "contained") for p in [
        "~/.ssh/id_rsa", "~", "~root/.ssh/id_rsa", "$HOME/.ssh/id_rsa", "${{HOME}}/.ssh/id_rsa",
        "%HOME%/.ssh/id_rsa", "%2e%2e%2foutside%2fcanary.txt", "%2e%2e/outside/canary.txt",
        "..%2foutside%2fcanary.txt", "%252e%252e%252foutside%252fcanary.txt",
        "..%c0%afoutside/canary.txt", "%2fetc%2fpasswd", "file://{out}/canary.txt",
        "file:///etc/passwd", "file:{out}/canary.txt", "file://localhost/etc/passwd",
        "..\\outside\\canary.txt", "..\\..\\etc\\passwd", "src\\..\\..\\outside\\canary.txt",
        "..\\/outside/canary.txt", "\uff0e\uff0e/outside/canary.txt",
        "..\uff0foutside\uff0fcanary.txt", "..\u2215outside\u2215canary.txt",
        "..\u2044outside\u2044canary.txt", "\u2025/outside/canary.txt",
        "\ufe52\ufe52/outside/canary.txt", ".\u0307./outside/canary.txt",
        "\ud800/../../outside", "x" * 5000, "x" * 300 + "/canary.txt", "a/" * 3000 + "b",
        "loop_a", "loop_self", "loop_a/x", "...", "src/..", ".../outside/canary.txt",
    ]],
]

#: Globs (list_files `pattern`, grep `glob`) that try to reach outside from the root.
GLOBS = ["../**", "/**", "../*", "../outside/*", "**/../**", "{ws}/../**", "/etc/*",
         "../**/canary.txt", "..", "**/canary.txt", "**/" + "*", "link_*", "**/secret.txt",
         "{{../outside/canary.txt,*}}", "[.][.]/**", "*/../../**"]


@dataclass
class World:
    """A temp folder: the workspace `ws`, canaries in `out` and `ws-evil`, and `home`."""

    tmp: Path
    ws: Path
    out: Path
    home: Path

    def fill(self, template: str) -> str:
        return template.format(ws=self.ws, out=self.out, tmp=self.tmp, home=self.home,
                               tmp_rel=str(self.tmp).lstrip("/"))


def build(tmp: Path) -> World:
    tmp = Path(os.path.realpath(tmp))
    world = World(tmp, tmp / "ws", tmp / "outside", tmp / "home")
    ws, out = world.ws, world.out
    for path in [out / "canary.txt", out / "sub/secret.txt", tmp / "ws-evil/canary.txt",
                 world.home / ".ssh/id_rsa", out / HIDDEN_NAME / "x.txt"]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{TOKEN}\n")
    (out / f"{HIDDEN_NAME}.txt").write_text("the name is the secret\n")
    (ws / "src/pkg").mkdir(parents=True)
    (ws / "src/app.py").write_text("print('inside')\n")
    links = {
        "link_file": out / "canary.txt", "link_rel": Path("../outside/canary.txt"),
        "link_dir": out, "chain1": Path("chain2"), "chain2": Path("link_file"),
        "dangling": out / "new.txt", "dangling_dir": out / "newdir", "home_link": world.home,
        "link_tmp": tmp, "src/deep": out / "sub", "src/up": Path(".."),
        "src/rel_out": Path("../../outside/canary.txt"), "loop_a": Path("loop_b"),
        "loop_b": Path("loop_a"), "loop_self": Path("loop_self"),
    }
    for name, target in links.items():
        (ws / name).symlink_to(target)
    return world


def snapshot(world: World) -> dict[str, Any]:
    """Everything outside the workspace in the temp folder: names, link targets, bytes."""
    seen: dict[str, Any] = {}
    for dirpath, dirnames, filenames in os.walk(world.tmp):
        if Path(dirpath) == world.tmp:
            dirnames.remove("ws")
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            key = str(path.relative_to(world.tmp))
            if path.is_symlink():
                seen[key] = ("link", os.readlink(path))
            elif path.is_file():
                seen[key] = path.read_bytes()
            else:
                seen[key] = "dir"
    return seen


@dataclass(frozen=True)
class Attempt:
    tool: str
    what: str  # the path or glob tried, for the report
    arguments: dict[str, Any]
    expect: str
    probe: str | None = None  # a system path that must not exist afterwards


def attempts(world: World) -> list[Attempt]:
    """Every path attempt with every tool, and every glob with list_files and grep."""
    found: list[Attempt] = []
    for template, expect in PATHS:
        system = template.startswith("sys:")
        path = world.fill(template.removeprefix("sys:"))
        for tool in TOOLS:
            args: dict[str, Any] = {"path": path}
            probe = None
            if tool == "grep":
                args["pattern"] = GREP_PATTERN
            elif tool in WRITE_TOOLS:
                if system:  # never touch a real system file (or read /dev/zero whole to edit
                    # it), even if the guard failed: probe a new name in its directory instead
                    base = path if os.path.isdir(path) else os.path.dirname(path)
                    path = probe = os.path.join(base, PROBE)
                args["path"] = path
                if tool == "edit_file":
                    args.update(old_string=OLD, new_string="PWNED")
                else:
                    args["content"] = f"PWNED {TOKEN[:5]}\n"
            found.append(Attempt(tool, path, args, expect, probe))
    for glob in GLOBS:
        pattern = world.fill(glob)
        found.append(Attempt("list_files", pattern, {"path": ".", "pattern": pattern},
                             "contained"))
        found.append(Attempt("grep", pattern, {"pattern": GREP_PATTERN, "glob": pattern},
                             "contained"))
    return found


FUNCTIONS = {"read_file": read_file, "list_files": list_files, "grep": grep,
             "edit_file": edit_file, "write_file": write_file}


async def run_one(ctx: ToolContext, world: World, attempt: Attempt) -> list[str]:
    """Run one attempt; the problems found (empty when it was contained)."""
    before = snapshot(world)
    problems: list[str] = []
    refused: str | None = None
    try:
        text = await FUNCTIONS[attempt.tool](ctx, **attempt.arguments)
    except ToolError as exc:
        text = refused = str(exc)
    except Exception as exc:  # noqa: BLE001 - reported: not an escape, but no clear sentence
        text = ""
        problems.append(f"unexpected {type(exc).__name__}: {str(exc)[:120]}")
    if TOKEN in text:
        problems.append("ESCAPE: the canary's content is in the output")
    if HIDDEN_NAME in text:
        problems.append("ESCAPE: a file name from outside is in the output")
    if snapshot(world) != before:
        problems.append("ESCAPE: something outside the workspace changed")
    if attempt.probe and os.path.lexists(attempt.probe):
        os.unlink(attempt.probe)
        problems.append(f"ESCAPE: {attempt.probe} was created")
    wanted = {"outside": "outside the workspace", "nul": "NUL byte"}.get(attempt.expect)
    if wanted and (refused is None or wanted not in refused):
        problems.append(f"not refused as {attempt.expect}: {text[:120]!r}")
    return problems


async def run_matrix(tmp: Path, modes: list[PermissionMode]) -> dict[str, Any]:
    """All attempts in each mode, each mode in a fresh world; figures and problems."""
    per_tool: Counter[str] = Counter()
    problems: list[str] = []
    escapes = unexpected = 0
    started = time.monotonic()
    saved_home = os.environ.get("HOME")
    try:
        for mode in modes:
            world = build(tmp / mode.value)
            os.environ["HOME"] = str(world.home)  # its ~/.ssh/id_rsa is a canary
            host = DiskToolHost(True)  # approves everything, confines nothing
            ctx = ToolContext(workspace=world.ws, host=host, permission_mode=mode)
            for attempt in attempts(world):
                per_tool[attempt.tool] += 1
                found = await run_one(ctx, world, attempt)
                escapes += any(p.startswith("ESCAPE") for p in found)
                unexpected += any(p.startswith("unexpected") for p in found)
                problems += [f"{mode.value} {attempt.tool} {attempt.what[:80]!r}: {p}"
                             for p in found]
    finally:
        if saved_home is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = saved_home
    return {"attempts": sum(per_tool.values()), "modes": len(modes), "per_tool": dict(per_tool),
            "escapes": escapes, "unexpected_errors": unexpected,
            "problems": problems, "seconds": round(time.monotonic() - started, 2)}


@pytest.mark.parametrize("mode", list(PermissionMode), ids=lambda m: m.value)
async def test_no_file_tool_escapes_the_workspace(tmp_path: Path, mode: PermissionMode) -> None:
    figures = await run_matrix(tmp_path, [mode])
    assert figures["attempts"] >= 250
    assert set(figures["per_tool"]) == set(TOOLS)
    assert figures["problems"] == []


async def test_the_host_approves_so_only_confinement_stops_the_attempts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same tools and host do read, list, grep and write inside the workspace."""
    for mode in PermissionMode:
        world = build(tmp_path / mode.value)
        monkeypatch.setenv("HOME", str(world.home))
        ctx = ToolContext(workspace=world.ws, host=DiskToolHost(True), permission_mode=mode)
        (world.ws / "mine.txt").write_text(f"{OLD} inside\n")
        assert "inside" in await read_file(ctx, "mine.txt")
        assert "mine.txt" in await list_files(ctx, ".")
        assert "mine.txt:1:" in await grep(ctx, OLD)
        await edit_file(ctx, "mine.txt", OLD, "edited")
        await write_file(ctx, "~/.ssh/authorized_keys", "key\n")
        assert (world.ws / "mine.txt").read_text() == "edited inside\n"
        assert (world.ws / "~/.ssh/authorized_keys").read_text() == "key\n"  # not $HOME
        assert not (world.home / ".ssh/authorized_keys").exists()


async def test_a_hard_link_to_an_outside_file_is_never_written_through(
        tmp_path: Path) -> None:
    """A hard link is the same file under a workspace name: no path leads outside, so reading
    it is allowed (it is the workspace's file too). Writing replaces the workspace name
    atomically, so the outside name keeps its content."""
    world = build(tmp_path)
    outside = world.out / "hard.txt"
    outside.write_text(f"{TOKEN}\n")
    try:
        os.link(outside, world.ws / "hard.txt")
    except OSError as exc:
        pytest.skip(f"cannot hard-link in the temp folder: {exc}")
    for mode in PermissionMode:
        ctx = ToolContext(workspace=world.ws, host=DiskToolHost(True), permission_mode=mode)
        await edit_file(ctx, "hard.txt", OLD, f"PWNED-{mode.value}")
        await write_file(ctx, "hard.txt", "PWNED\n")
        assert outside.read_text() == f"{TOKEN}\n"
        os.unlink(world.ws / "hard.txt")
        os.link(outside, world.ws / "hard.txt")


@pytest.mark.parametrize("path", ["x" * 300, "a/" * 3000 + "b", "d/" + "y" * 256 + "/z"])
async def test_a_path_too_long_for_the_disk_is_one_sentence(tmp_path: Path, path: str) -> None:
    """Before, the OS's ENAMETOOLONG escaped every tool as a raw OSError."""
    ctx = ToolContext(workspace=tmp_path, host=DiskToolHost(True))
    for tool, extra in [("read_file", {}), ("list_files", {}), ("grep", {"pattern": "x"}),
                        ("edit_file", {"old_string": "a", "new_string": "b"}),
                        ("write_file", {"content": "x"})]:
        with pytest.raises(ToolError, match="too long"):
            await FUNCTIONS[tool](ctx, path=path, **extra)


def test_edit_and_write_refuse_a_fifo_instead_of_blocking(tmp_path: Path) -> None:
    """A named pipe in the workspace would block a read forever: it is refused at once."""
    import asyncio
    import os

    from lsp_agent.agent.tools.base import ToolContext, ToolError
    from lsp_agent.agent.tools.disk_host import DiskToolHost
    from lsp_agent.agent.tools.edit_tools import edit_file, write_file
    from lsp_agent.config import PermissionMode

    ws = tmp_path / "ws"
    ws.mkdir()
    os.mkfifo(ws / "pipe")
    ctx = ToolContext(workspace=ws, host=DiskToolHost(True, workspace=ws),
                      permission_mode=PermissionMode.AUTO)

    async def both() -> list[str]:
        errors = []
        for call in (edit_file(ctx, path="pipe", old_string="a", new_string="b"),
                     write_file(ctx, path="pipe", content="x")):
            try:
                await asyncio.wait_for(call, 5)
            except ToolError as exc:
                errors.append(str(exc))
        return errors

    errors = asyncio.run(both())
    assert len(errors) == 2 and all("not a regular file" in e for e in errors), errors
