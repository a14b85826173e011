"""File tools against real files in tmp_path: confinement, reading, listing, grep, edits."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from lsp_agent.agent.tools.base import PermissionMode, ToolContext, ToolError
from lsp_agent.agent.tools.disk_host import DiskToolHost, atomic_write_text, tty_prompt_approver
from lsp_agent.agent.tools.edit_tools import edit_file, write_file
from lsp_agent.agent.tools.files import FILE_TOOLS
from lsp_agent.agent.tools.paths import is_binary_file, resolve_in_workspace
from lsp_agent.agent.tools.read_tools import READ_MAX_LINES, grep, list_files, read_file
from lsp_agent.agent.tools.tool_walk import compile_glob


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    other = tmp_path / "outside"
    other.mkdir()
    (other / "secret.txt").write_text("top secret\n")
    return other


def ctx_for(ws: Path, host=None, mode=PermissionMode.ASK) -> ToolContext:
    return ToolContext(workspace=ws, host=host or DiskToolHost(True), permission_mode=mode)


class RecordingHost:
    """A host that records calls; the approval answer and apply result are configurable."""

    def __init__(self, allow: bool = True, applied: bool = True):
        self.allow = allow
        self.applied = applied
        self.approvals: list[tuple[str, str]] = []
        self.edits: list[tuple[Path, str, str]] = []

    async def approve(self, action: str, detail: str) -> bool:
        self.approvals.append((action, detail))
        return self.allow

    async def apply_edit(self, path: Path, new_text: str, description: str) -> bool:
        self.edits.append((path, new_text, description))
        if self.applied:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new_text)
        return self.applied


# --- confinement ----------------------------------------------------------------------------


def test_resolve_relative_and_absolute_inside(ws: Path) -> None:
    (ws / "a.txt").write_text("x")
    assert resolve_in_workspace(ws, "a.txt") == Path(os.path.realpath(ws / "a.txt"))
    assert resolve_in_workspace(ws, str(ws / "a.txt")) == Path(os.path.realpath(ws / "a.txt"))
    assert resolve_in_workspace(ws, "sub/../a.txt") == Path(os.path.realpath(ws / "a.txt"))
    assert resolve_in_workspace(ws, ".") == Path(os.path.realpath(ws))
    assert resolve_in_workspace(ws, "new/file.txt").name == "file.txt"


def test_dotdot_refused(ws: Path, outside: Path) -> None:
    with pytest.raises(ToolError, match="outside the workspace"):
        resolve_in_workspace(ws, "../outside/secret.txt")
    with pytest.raises(ToolError, match="outside the workspace"):
        resolve_in_workspace(ws, "..")


def test_absolute_outside_refused(ws: Path, outside: Path) -> None:
    with pytest.raises(ToolError, match="outside the workspace"):
        resolve_in_workspace(ws, str(outside / "secret.txt"))
    with pytest.raises(ToolError, match="outside the workspace"):
        resolve_in_workspace(ws, "/etc/passwd")


def test_nul_byte_refused(ws: Path) -> None:
    with pytest.raises(ToolError, match="NUL"):
        resolve_in_workspace(ws, "a\x00b")


def test_symlinked_file_pointing_out_refused(ws: Path, outside: Path) -> None:
    (ws / "link.txt").symlink_to(outside / "secret.txt")
    (ws / "dangling").symlink_to(outside / "does-not-exist")
    with pytest.raises(ToolError, match="outside the workspace"):
        resolve_in_workspace(ws, "link.txt")
    with pytest.raises(ToolError, match="outside the workspace"):
        resolve_in_workspace(ws, "dangling")


def test_symlinked_dir_pointing_out_refused(ws: Path, outside: Path) -> None:
    (ws / "linkdir").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ToolError, match="outside the workspace"):
        resolve_in_workspace(ws, "linkdir/secret.txt")
    with pytest.raises(ToolError, match="outside the workspace"):
        resolve_in_workspace(ws, "linkdir/new-file.txt")


async def test_tools_refuse_outside_paths(ws: Path, outside: Path) -> None:
    (ws / "linkdir").symlink_to(outside, target_is_directory=True)
    host = RecordingHost()
    ctx = ctx_for(ws, host, PermissionMode.AUTO)
    with pytest.raises(ToolError, match="outside"):
        await read_file(ctx, path="linkdir/secret.txt")
    with pytest.raises(ToolError, match="outside"):
        await write_file(ctx, path="linkdir/secret.txt", content="pwned")
    with pytest.raises(ToolError, match="outside"):
        await edit_file(ctx, path="../outside/secret.txt", old_string="top", new_string="x")
    with pytest.raises(ToolError, match="outside"):
        await list_files(ctx, path="..")
    assert (outside / "secret.txt").read_text() == "top secret\n"
    assert host.edits == []


def test_workspace_itself_through_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.txt").write_text("x")
    alias = tmp_path / "alias"
    alias.symlink_to(real, target_is_directory=True)
    assert resolve_in_workspace(alias, "a.txt") == Path(os.path.realpath(real / "a.txt"))
    assert resolve_in_workspace(alias, str(alias / "a.txt")).name == "a.txt"


# --- read_file ------------------------------------------------------------------------------


async def test_read_numbered_and_ranges(ws: Path) -> None:
    (ws / "f.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    ctx = ctx_for(ws)
    out = await read_file(ctx, path="f.txt")
    assert out.splitlines()[0] == "     1\tline 1"
    assert out.splitlines()[-1] == "    10\tline 10"
    out = await read_file(ctx, path="f.txt", start_line=3, end_line=5)
    assert out.splitlines() == ["     3\tline 3", "     4\tline 4", "     5\tline 5"]
    out = await read_file(ctx, path="f.txt", start_line="9")
    assert out.splitlines() == ["     9\tline 9", "    10\tline 10"]
    with pytest.raises(ToolError, match="past the end"):
        await read_file(ctx, path="f.txt", start_line=20)
    with pytest.raises(ToolError, match="before start_line"):
        await read_file(ctx, path="f.txt", start_line=5, end_line=2)


async def test_read_truncates_long_files(ws: Path) -> None:
    (ws / "big.txt").write_text("".join(f"{i}\n" for i in range(1, 3001)))
    out = await read_file(ctx_for(ws), path="big.txt")
    lines = out.splitlines()
    assert len(lines) == READ_MAX_LINES + 1
    assert "start_line=2001" in lines[-1] and "of 3000" in lines[-1]
    more = await read_file(ctx_for(ws), path="big.txt", start_line=2001)
    assert more.splitlines()[-1] == "  3000\t3000"


async def test_read_refuses_binary_directory_missing(ws: Path) -> None:
    (ws / "blob.bin").write_bytes(b"PK\x03\x04\x00\x00binary")
    (ws / "d").mkdir()
    ctx = ctx_for(ws)
    assert is_binary_file(ws / "blob.bin")
    with pytest.raises(ToolError, match="binary"):
        await read_file(ctx, path="blob.bin")
    with pytest.raises(ToolError, match="directory"):
        await read_file(ctx, path="d")
    with pytest.raises(ToolError, match="not found"):
        await read_file(ctx, path="nope.txt")


async def test_read_empty_file(ws: Path) -> None:
    (ws / "empty.txt").write_text("")
    assert "empty" in await read_file(ctx_for(ws), path="empty.txt")


# --- list_files / grep ----------------------------------------------------------------------


def _make_tree(ws: Path) -> None:
    (ws / ".gitignore").write_text("build/\n*.log\n")
    (ws / "src" / "pkg").mkdir(parents=True)
    (ws / "src" / "main.py").write_text("import os\nTODO = 1\n")
    (ws / "src" / "pkg" / "util.py").write_text("def helper():\n    return 'todo later'\n")
    (ws / "src" / "pkg" / ".gitignore").write_text("generated.py\n")
    (ws / "src" / "pkg" / "generated.py").write_text("TODO generated\n")
    (ws / "build").mkdir()
    (ws / "build" / "out.py").write_text("TODO built\n")
    (ws / "debug.log").write_text("TODO logged\n")
    (ws / "node_modules" / "lib").mkdir(parents=True)
    (ws / "node_modules" / "lib" / "index.js").write_text("TODO module\n")
    (ws / ".git").mkdir()
    (ws / ".git" / "config").write_text("TODO git\n")
    (ws / ".venv").mkdir()
    (ws / ".venv" / "x.py").write_text("TODO venv\n")
    (ws / "image.png").write_bytes(b"\x89PNG\x00\x00TODO")
    (ws / "README.md").write_text("# TODO readme\n")


async def test_list_files_honours_gitignore(ws: Path) -> None:
    _make_tree(ws)
    out = (await list_files(ctx_for(ws))).splitlines()
    assert "src/main.py" in out and "src/pkg/util.py" in out and "README.md" in out
    for hidden in ("build/out.py", "debug.log", "src/pkg/generated.py", ".git/config"):
        assert hidden not in out
    assert not any(p.startswith(("node_modules", ".venv")) for p in out)
    py = (await list_files(ctx_for(ws), pattern="**/*.py")).splitlines()
    assert py == ["src/main.py", "src/pkg/util.py"]
    assert (await list_files(ctx_for(ws), pattern="*.py")).splitlines() == py
    sub = (await list_files(ctx_for(ws), path="src/pkg")).splitlines()
    assert sub == ["src/pkg/.gitignore", "src/pkg/util.py"]
    assert "No files" in await list_files(ctx_for(ws), pattern="*.rs")
    # An ignored directory named explicitly is listed; an ignored file named explicitly is read.
    assert (await list_files(ctx_for(ws), path="build")).splitlines() == ["build/out.py"]
    assert "TODO logged" in await read_file(ctx_for(ws), path="debug.log")
    assert "debug.log:1:TODO logged" in await grep(ctx_for(ws), pattern="TODO", path="debug.log")


async def test_list_files_truncates(ws: Path) -> None:
    for i in range(600):
        (ws / f"f{i:03}.txt").write_text("")
    out = (await list_files(ctx_for(ws))).splitlines()
    assert len(out) == 501 and "Truncated" in out[-1]


def test_compile_glob() -> None:
    assert compile_glob("**/*.py")("a/b/c.py") and compile_glob("**/*.py")("c.py")
    assert not compile_glob("src/*.py")("src/a/b.py")
    assert compile_glob("src/**/*.{ts,tsx}")("src/x/y.tsx")
    assert compile_glob("*.md")("docs/a.md")
    assert not compile_glob("*.md")("docs/a.mdx")


async def test_grep_honours_gitignore_and_skips_binary(ws: Path) -> None:
    _make_tree(ws)
    out = (await grep(ctx_for(ws), pattern="TODO")).splitlines()
    assert "src/main.py:2:TODO = 1" in out
    assert "README.md:1:# TODO readme" in out
    joined = "\n".join(out)
    for absent in ("generated", "built", "logged", "module", "git", "venv", "image.png"):
        assert absent not in joined
    insensitive = await grep(ctx_for(ws), pattern="todo", ignore_case=True, glob="*.py")
    assert "src/pkg/util.py:2:    return 'todo later'" in insensitive.splitlines()
    assert "README.md" not in insensitive
    assert "No matches" in await grep(ctx_for(ws), pattern="nothing-here")
    with pytest.raises(ToolError, match="Invalid regular expression"):
        await grep(ctx_for(ws), pattern="(")


async def test_grep_bounded(ws: Path) -> None:
    (ws / "many.txt").write_text("hit\n" * 50)
    out = (await grep(ctx_for(ws), pattern="hit", max_results=10)).splitlines()
    assert len(out) == 11 and "Stopped after 10" in out[-1]


async def test_grep_skips_symlink_pointing_out(ws: Path, outside: Path) -> None:
    (ws / "leak.txt").symlink_to(outside / "secret.txt")
    assert "No matches" in await grep(ctx_for(ws), pattern="secret")


# --- edit_file / write_file -----------------------------------------------------------------


async def test_edit_zero_one_two_matches(ws: Path) -> None:
    f = ws / "code.py"
    f.write_text("a = 1\nb = 2\na = 1\n")
    ctx = ctx_for(ws, DiskToolHost(True))
    with pytest.raises(ToolError, match="not found"):
        await edit_file(ctx, path="code.py", old_string="zzz", new_string="y")
    with pytest.raises(ToolError, match="occurs 2 times"):
        await edit_file(ctx, path="code.py", old_string="a = 1", new_string="a = 3")
    assert f.read_text() == "a = 1\nb = 2\na = 1\n"
    out = await edit_file(ctx, path="code.py", old_string="b = 2", new_string="b = 20")
    assert f.read_text() == "a = 1\nb = 20\na = 1\n"
    assert "-b = 2" in out and "+b = 20" in out
    await edit_file(ctx, path="code.py", old_string="a = 1", new_string="a = 3", replace_all=True)
    assert f.read_text() == "a = 3\nb = 20\na = 3\n"
    with pytest.raises(ToolError, match="not found"):
        await edit_file(ctx, path="missing.py", old_string="a", new_string="b")


async def test_edit_crlf_file(ws: Path) -> None:
    f = ws / "win.txt"
    f.write_bytes(b"one\r\ntwo\r\nthree\r\n")
    ctx = ctx_for(ws, DiskToolHost(True))
    await edit_file(ctx, path="win.txt", old_string="one\ntwo", new_string="uno\ndos")
    assert f.read_bytes() == b"uno\r\ndos\r\nthree\r\n"


async def test_approval_refused_writes_nothing(ws: Path) -> None:
    f = ws / "code.py"
    f.write_text("x = 1\n")
    host = RecordingHost(allow=False)
    ctx = ctx_for(ws, host, PermissionMode.ASK)
    with pytest.raises(ToolError, match="refused"):
        await edit_file(ctx, path="code.py", old_string="x = 1", new_string="x = 2")
    with pytest.raises(ToolError, match="refused"):
        await write_file(ctx, path="new.py", content="print()\n")
    assert f.read_text() == "x = 1\n"
    assert not (ws / "new.py").exists()
    assert host.edits == []
    assert host.approvals[0][0] == "Edit file"
    assert host.approvals[0][1].startswith("code.py: ")
    assert host.approvals[1][1].startswith("new.py: create")


async def test_apply_edit_false_is_an_error(ws: Path) -> None:
    f = ws / "code.py"
    f.write_text("x = 1\n")
    host = RecordingHost(applied=False)
    ctx = ctx_for(ws, host, PermissionMode.AUTO)
    with pytest.raises(ToolError, match="The editor did not apply the edit"):
        await edit_file(ctx, path="code.py", old_string="x = 1", new_string="x = 2")
    assert f.read_text() == "x = 1\n"
    assert host.edits and host.edits[0][1] == "x = 2\n"


@pytest.mark.parametrize("mode", [PermissionMode.ACCEPT_EDITS, PermissionMode.AUTO])
async def test_accept_edits_and_auto_skip_approval(ws: Path, mode: PermissionMode) -> None:
    (ws / "code.py").write_text("x = 1\n")
    host = RecordingHost(allow=False)
    ctx = ctx_for(ws, host, mode)
    await edit_file(ctx, path="code.py", old_string="x = 1", new_string="x = 2")
    await write_file(ctx, path="new/mod.py", content="y = 1\n")
    assert host.approvals == []
    assert (ws / "code.py").read_text() == "x = 2\n"
    assert host.edits[0][0] == Path(os.path.realpath(ws / "code.py"))


async def test_write_file_creates_and_overwrites(ws: Path) -> None:
    host = DiskToolHost(True, workspace=ws)
    ctx = ctx_for(ws, host, PermissionMode.ASK)
    out = await write_file(ctx, path="pkg/new.py", content="a\nb\n")
    assert "Created pkg/new.py" in out
    assert (ws / "pkg" / "new.py").read_text() == "a\nb\n"
    out = await write_file(ctx, path="pkg/new.py", content="a\nc\n")
    assert "-b" in out and "+c" in out
    assert "nothing was changed" in await write_file(ctx, path="pkg/new.py", content="a\nc\n")
    assert [a for a, _ in host.approval_requests] == ["Edit file", "Edit file"]
    assert len(host.applied_edits) == 2


# --- DiskToolHost ---------------------------------------------------------------------------


def test_atomic_write_preserves_mode_and_leaves_no_temp(ws: Path) -> None:
    f = ws / "script.sh"
    f.write_text("old\n")
    f.chmod(0o755)
    atomic_write_text(f, "new\n")
    assert f.read_text() == "new\n"
    assert f.stat().st_mode & 0o777 == 0o755
    assert sorted(p.name for p in ws.iterdir()) == ["script.sh"]


async def test_disk_host_approvers(ws: Path) -> None:
    assert await DiskToolHost(True).approve("Edit file", "x") is True
    assert await DiskToolHost(False).approve("Edit file", "x") is False
    seen = []

    def sync_approver(action: str, detail: str) -> bool:
        seen.append((action, detail))
        return detail == "ok"

    async def async_approver(action: str, detail: str) -> bool:
        return action == "Run shell command"

    host = DiskToolHost(sync_approver)
    assert await host.approve("Edit file", "ok") is True
    assert await host.approve("Edit file", "no") is False
    assert seen == [("Edit file", "ok"), ("Edit file", "no")]
    assert await DiskToolHost(async_approver).approve("Run shell command", "ls") is True


async def test_disk_host_confined_to_workspace(ws: Path, outside: Path) -> None:
    host = DiskToolHost(True, workspace=ws)
    with pytest.raises(ToolError):
        await host.apply_edit(outside / "secret.txt", "x", "evil")
    assert (outside / "secret.txt").read_text() == "top secret\n"


def test_tty_prompt_denies_without_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    class NotATty:
        def isatty(self) -> bool:
            return False

        def readline(self) -> str:  # pragma: no cover - must not be reached
            raise AssertionError("prompted without a TTY")

    monkeypatch.setattr(sys, "stdin", NotATty())
    assert tty_prompt_approver("Edit file", "x") is False


def test_tool_schemas() -> None:
    names = [t.name for t in FILE_TOOLS]
    assert names == ["read_file", "list_files", "grep", "edit_file", "write_file"]
    for tool in FILE_TOOLS:
        schema = tool.schema()
        assert schema["type"] == "function"
        assert schema["function"]["parameters"]["type"] == "object"


# --- runaway work: catastrophic patterns, time limits, cancellation --------------------------

#: Runs grep in a child process while a ticker measures how long the event loop ever stalls.
#: A child, so that a regression (a regex holding the GIL for minutes) fails the test on the
#: subprocess timeout instead of hanging the suite.
_GREP_IN_A_CHILD = r"""
import asyncio, json, sys, time
from pathlib import Path
from lsp_agent.agent.tools.base import ToolContext, ToolError
from lsp_agent.agent.tools.disk_host import DiskToolHost
from lsp_agent.agent.tools.read_tools import grep

async def one(ctx, pattern):
    gaps, stop = [], False
    async def ticker():
        last = time.monotonic()
        while not stop:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now
    task = asyncio.create_task(ticker())
    t0 = time.monotonic()
    try:
        out = await grep(ctx, pattern=pattern)
    except ToolError as exc:
        out = "ERROR " + str(exc)
    elapsed = time.monotonic() - t0
    stop = True
    await task
    return {"out": out, "elapsed": elapsed, "max_gap": max(gaps, default=0.0)}

async def main():
    ctx = ToolContext(workspace=Path(sys.argv[1]), host=DiskToolHost(False))
    print(json.dumps([await one(ctx, p) for p in sys.argv[2:]]))

asyncio.run(main())
"""


def grep_in_a_child(ws: Path, *patterns: str) -> list[dict]:
    import json
    import subprocess

    proc = subprocess.run([sys.executable, "-c", _GREP_IN_A_CHILD, str(ws), *patterns],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_catastrophic_patterns_neither_hang_grep_nor_stall_the_loop(ws: Path) -> None:
    (ws / "a.txt").write_text("first line\n" + "a" * 48 + "!\n")
    nested, alternation = grep_in_a_child(ws, r"(a+)+$", r"(a|aa)+$")
    # the report's pattern: the regex engine needs no backtracking for it at all
    assert nested["out"].startswith("No matches") and nested["elapsed"] < 2
    # one that does backtrack there too: stopped after the per-line limit, with a clear error
    assert alternation["out"].startswith("ERROR The pattern /(a|aa)+$/ took more than 1 s")
    assert "a.txt:2" in alternation["out"] and "simpler pattern" in alternation["out"]
    assert alternation["elapsed"] < 10  # 1 s of CPU time: more on a loaded machine
    # meanwhile the event loop kept turning (the match runs without the GIL)
    assert nested["max_gap"] < 0.5 and alternation["max_gap"] < 0.5


async def test_grep_and_list_files_stop_at_the_time_limit(
        ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lsp_agent.agent.tools.read_tools as read_tools

    (ws / "a.txt").write_text("hit\n")
    monkeypatch.setattr(read_tools, "TOOL_TIME_LIMIT_SECONDS", 0.0)
    with pytest.raises(ToolError, match="0 s time limit .*narrow it with path or glob"):
        await grep(ctx_for(ws), pattern="hit")
    with pytest.raises(ToolError, match="0 s time limit .*list a narrower path"):
        await list_files(ctx_for(ws))


async def test_cancelling_a_bounded_call_stops_its_worker_thread() -> None:
    import asyncio
    import threading
    import time

    from lsp_agent.agent.tools.budget import OutOfTime, run_in_thread

    stopped = threading.Event()

    def work(budget) -> None:
        while not budget.exhausted():
            time.sleep(0.005)
        stopped.set()
        budget.check()

    task = asyncio.create_task(run_in_thread(work, 60))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(stopped.wait, 2)
    with pytest.raises(OutOfTime, match="time limit"):
        await run_in_thread(lambda budget: budget.check(), 0)


async def test_a_glob_that_backtracks_is_refused(ws: Path) -> None:
    (ws / ("a" * 40 + "c")).write_text("x\n")
    with pytest.raises(ToolError, match="simplify it"):
        await list_files(ctx_for(ws), pattern="{a,a}" * 30)


async def test_grep_refuses_empty_and_huge_patterns(ws: Path) -> None:
    with pytest.raises(ToolError, match="pattern is empty"):
        await grep(ctx_for(ws), pattern="")
    with pytest.raises(ToolError, match="longer than"):
        await grep(ctx_for(ws), pattern="a" * 5000)
