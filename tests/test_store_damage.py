"""Damaged stores and full or read-only disks: never silent, never a traceback.

Every table of a real store is damaged in turn (its folder deleted, its data files truncated,
its schema replaced): opening says what is damaged, reads give the right data or refuse, no
write happens and the mirror is never rewritten. `doctor --repair` rebuilds from what is
intact. On a real full disk (a tiny tmpfs) and a real read-only mount, every command of the
registry either works or exits with one `error:` sentence; over LSP it is a RequestFailed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import lancedb
import pyarrow as pa
import pytest

from lsp_agent.commands import BY_CLI
from lsp_agent.errors import LSP_REQUEST_FAILED
from lsp_agent.memory.agent_memory import AgentMemory
from lsp_agent.memory.store import TABLES, StoreError

PRECIOUS = "precious knowledge"


def _delete(store: Path, name: str) -> None:
    shutil.rmtree(store / f"{name}.lance")


def _truncate(store: Path, name: str) -> None:
    files = list((store / f"{name}.lance" / "data").glob("*.lance"))
    assert files
    for f in files:
        data = f.read_bytes()
        f.write_bytes(data[: len(data) // 2])


def _reshape(store: Path, name: str) -> None:
    """The table replaced by one of another shape (as a foreign tool or bad copy would)."""
    db = lancedb.connect(str(store))
    db.drop_table(name)
    db.create_table(name, data=pa.table({"other": ["x"]}))


DAMAGE: dict[str, Callable[[Path, str], None]] = {
    "deleted": _delete, "truncated": _truncate, "reshaped": _reshape}


@pytest.fixture
def filled(memory: AgentMemory, settle: Callable[[], None]) -> AgentMemory:
    memory.blocks.set("notes", PRECIOUS, author="user")
    conv = memory.recall.new_conversation()
    memory.recall.append(conv.id, "user", "a message worth keeping")
    memory.archival.insert("an archival passage worth keeping")
    settle()
    return memory


def _digest(tree_digest: Callable[..., dict[str, bytes]], store: Path) -> dict[str, bytes]:
    return tree_digest(store, skip=lambda p: p.suffix == ".lock")


def _read_or_refuse(read: Callable[[], object], table: str) -> object | None:
    """The value read, or None when refused with a StoreError that names a damaged table."""
    try:
        return read()
    except StoreError as exc:
        assert "is damaged" in str(exc) and f"table '{table}'" in str(exc), exc
        assert "/rustc/" not in str(exc) and ".rs:" not in str(exc), exc
        return None


@pytest.mark.parametrize("kind", sorted(DAMAGE))
@pytest.mark.parametrize("table", TABLES)
def test_damaged_table_is_never_silent(filled, workspace, tree_digest, table, kind):
    store = Path(filled.store_uri)
    conv_id = filled.recall.conversations()[0].id
    DAMAGE[kind](store, table)
    before = _digest(tree_digest, store)
    mem = AgentMemory(workspace, embedder="none")
    notices = mem.open()
    assert any("is damaged" in n and table in n for n in notices), notices
    assert table in mem.store.damage
    # reads: the right data, or a refusal naming the damage (never an empty, wrong answer)
    got = _read_or_refuse(lambda: mem.blocks.get("notes").value, table)
    assert got in (PRECIOUS, None)
    history = _read_or_refuse(lambda: [v.new_value for v in mem.blocks.history("notes")], table)
    assert history is None or PRECIOUS in history
    msgs = _read_or_refuse(lambda: [m.content for m in mem.recall.messages(conv_id)], table)
    assert msgs is None or msgs == ["a message worth keeping"]
    with pytest.raises(StoreError, match="is damaged"):
        mem.status()
    # writes: refused, whichever table they touch
    with pytest.raises(StoreError, match="is damaged"):
        mem.blocks.set("notes", "overwritten", author="user")
    with pytest.raises(StoreError, match="is damaged"):
        mem.archival.insert("more")
    assert _digest(tree_digest, store) == before  # neither the tables nor the mirror changed


def _blocks_lost(store: Path) -> None:
    _delete(store, "blocks")


def test_doctor_reports_and_repair_restores_blocks_from_versions(filled, run_cli):
    store = Path(filled.store_uri)
    mirror = (store / "memory" / "notes.md").read_bytes()
    _blocks_lost(store)
    checked = run_cli("doctor", "--json")
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert not report["healthy"]
    states = {t["name"]: t["state"] for t in report["tables"]}
    assert states["blocks"] == "missing" and states["block_versions"] == "intact"
    assert (store / "memory" / "notes.md").read_bytes() == mirror  # not rewritten empty
    refused = run_cli("memory", "set", "notes", "new")
    assert refused.returncode == 1 and "doctor --repair" in refused.stderr
    fixed = run_cli("doctor", "--repair", "--json")
    assert fixed.returncode == 0, fixed.stderr
    done = json.loads(fixed.stdout)
    assert done["healthy"] and any("blocks" in r for r in done["repaired"])
    shown = run_cli("memory", "show", "notes", "--json")
    assert shown.returncode == 0 and PRECIOUS in shown.stdout, shown.stderr
    assert (store / "memory" / "notes.md").read_bytes() == mirror
    assert run_cli("status").returncode == 0


def test_repair_rebuilds_a_block_from_the_first_committed_of_two_rows(filled, run_cli):
    """Two machines' rows of one version (the loser killed before taking its back, and read
    earlier, so the earlier time): the rebuilt block has the winner's text."""
    from team_faults import claim_twice

    store = Path(filled.store_uri)
    claim_twice(filled.blocks, "notes", filled.blocks.get("notes").version + 1, PRECIOUS,
                "the winner", "the loser")
    _blocks_lost(store)
    fixed = run_cli("doctor", "--repair", "--json")
    assert fixed.returncode == 0, fixed.stderr
    shown = run_cli("memory", "show", "notes", "--json")
    assert shown.returncode == 0, shown.stderr
    assert "the winner" in shown.stdout and "the loser" not in shown.stdout, shown.stdout


def test_repair_rebuilds_versions_and_meta(filled, workspace, open_memory):
    from lsp_agent.memory.repair import repair

    store = Path(filled.store_uri)
    _delete(store, "block_versions")
    _delete(store, "meta")
    mem = AgentMemory(workspace, embedder="none")
    mem.open()
    assert set(mem.store.damage) == {"block_versions", "meta"}
    done = repair(mem.store, mem.mirror, workspace)
    assert any(d.startswith("meta:") for d in done) and any("block_versions" in d for d in done)
    again = open_memory(workspace)
    assert not again.store.damage
    assert again.store.get_meta("repaired", "").startswith("meta recreated by lsp-agent doctor")
    [version] = again.blocks.history("notes")
    assert version.new_value == PRECIOUS and "repaired" in version.reason
    assert again.blocks.set("notes", "next", author="user").version == version.version + 1


# -- full and read-only disks ------------------------------------------------------------------


@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    got = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                         capture_output=True, text=True)
    if got.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({got.stderr.strip()}): needs root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(folder: Path) -> None:
    with open(folder / "filler", "wb") as fh:
        with contextlib.suppress(OSError):
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()


def _every_command(conv: str, passage: str) -> dict[tuple[str, ...], tuple[str, ...]]:
    """CLI words of every registry command -> arguments that would work on a sound store."""
    args = {
        ("status",): (), ("doctor",): ("--repair",), ("init",): (), ("index",): (),
        ("remember",): ("a lesson",), ("search",): ("precious",), ("ask",): ("hello",),
        ("reflect",): (), ("learn-skill",): ("--text", "run the tests with pytest"),
        ("memory", "show"): (), ("memory", "set"): ("notes", "new"),
        ("memory", "create"): ("extra",), ("memory", "history"): ("notes",),
        ("memory", "revert"): ("notes", "1"), ("archival", "insert"): ("a passage",),
        ("archival", "search"): ("passage",), ("archival", "list"): (),
        ("archival", "delete"): (passage, "--yes"), ("export",): ("agents-md", "--output", "-"),
        ("conversation", "new"): (), ("conversation", "list"): (),
        ("conversation", "switch"): (conv,), ("conversation", "fork"): (),
        ("conversation", "history"): (conv,), ("conversation", "rename"): (conv, "renamed"),
        ("archival", "show"): (passage,), ("skills",): (), ("anchors",): (),
        ("anchor",): ("0123456789ab", "keep"),
        ("conversation", "delete"): (conv, "--yes"),  # last: the others use the conversation
    }
    assert set(args) == set(BY_CLI), "a registry command is not tried on a full disk"
    return args


class Ran:
    def __init__(self, returncode: int, stderr: str) -> None:
        self.returncode, self.stderr = returncode, stderr


def _run_all(workspace: Path, conv: str, passage: str, capsys) -> dict[tuple[str, ...], Ran]:
    """Every registry command through the CLI's `main` (in this process: a process each
    would cost ~3 s of start-up; the subprocess tests below cover the console script)."""
    from lsp_agent.cli import main

    results = {}
    for words, extra in _every_command(conv, passage).items():
        capsys.readouterr()
        code = main([*words, *extra, "--workspace", str(workspace), "--embedder", "none"])
        results[words] = Ran(code, capsys.readouterr().err)
    return results


def _assert_clean(results, *, must_work: set[tuple[str, ...]]) -> int:
    failed = 0
    for words, res in results.items():
        assert "Traceback" not in res.stderr, (words, res.stderr)
        assert "/rustc/" not in res.stderr and "internal error" not in res.stderr, res.stderr
        if res.returncode:
            failed += 1
            last = res.stderr.strip().splitlines()[-1]
            assert last.startswith("error: "), (words, res.stderr)
        assert words not in must_work or res.returncode == 0, (words, res.stderr)
    return failed


READS = {c.cli for c in BY_CLI.values() if c.reads_only}


@pytest.fixture
def on_tmpfs(filled, tmp_path, monkeypatch):
    """The filled store copied to a 3 MB tmpfs, used through LSP_AGENT_STORE."""
    with _tmpfs(tmp_path / "mnt", "3m") as mnt:
        store = mnt / "store"
        shutil.copytree(filled.store_uri, store)
        env = {"LSP_AGENT_STORE": str(store)}
        monkeypatch.setenv("LSP_AGENT_STORE", str(store))
        conv = filled.recall.conversations()[0].id
        passage = filled.archival.all()[0].id
        yield mnt, store, env, conv, passage


def test_full_disk_every_command_a_sentence(on_tmpfs, run_cli, workspace, table_rows, capsys):
    mnt, store, env, conv, passage = on_tmpfs
    rows = {t: len(table_rows(store, t)) for t in ("blocks", "block_versions", "messages")}
    _fill(mnt)
    results = _run_all(workspace, conv, passage, capsys)
    _assert_clean(results, must_work=READS)
    full = results[("memory", "set")]
    assert full.returncode == 1 and str(store) in full.stderr and "full" in full.stderr
    assert "Free some space" in full.stderr
    for args in (("memory", "set", "notes", "new"), ("status",)):  # the console script too
        res = run_cli(*args, env=env)
        assert "Traceback" not in res.stderr and res.returncode == (1 if len(args) > 1 else 0)
    (mnt / "filler").unlink()
    assert {t: len(table_rows(store, t)) for t in rows} == rows  # nothing lost
    shown = run_cli("memory", "show", "notes", env=env)
    assert shown.returncode == 0 and PRECIOUS in shown.stdout


def test_read_only_store_reads_work_writes_say_so(on_tmpfs, workspace, tree_digest, capsys):
    mnt, store, env, conv, passage = on_tmpfs
    before = _digest(tree_digest, store)
    subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
    results = _run_all(workspace, conv, passage, capsys)
    _assert_clean(results, must_work=READS)
    refused = results[("memory", "set")]
    assert refused.returncode == 1 and "read-only file system" in refused.stderr
    assert _digest(tree_digest, store) == before


def _lsp(proc: subprocess.Popen, msg: dict) -> None:
    body = json.dumps(msg).encode()
    assert proc.stdin is not None
    proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    proc.stdin.flush()


def _answer(proc: subprocess.Popen, want: int) -> dict:
    assert proc.stdout is not None
    while True:
        length = 0
        while (line := proc.stdout.readline().strip()):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        assert length, "the server closed its output"
        msg = json.loads(proc.stdout.read(length))
        if msg.get("id") == want and "method" not in msg:
            return msg


def test_full_disk_over_lsp_is_request_failed(on_tmpfs, workspace, cli_env):
    mnt, store, env, _conv, _passage = on_tmpfs
    _fill(mnt)
    proc = subprocess.Popen([sys.executable, "-m", "lsp_agent", "serve"],
                            env={**cli_env, **env, "LSP_AGENT_EMBEDDER": "none"},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        _lsp(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": os.getpid(), "rootUri": workspace.as_uri(), "capabilities": {}}})
        _answer(proc, 1)
        _lsp(proc, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
        _lsp(proc, {"jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand", "params": {
            "command": "lspAgent.memory.edit",
            "arguments": [{"workspace": str(workspace), "label": "notes", "value": "new"}]}})
        error = _answer(proc, 2)["error"]
        assert error["code"] == LSP_REQUEST_FAILED
        assert "internal error" not in error["message"] and str(store) in error["message"]
        assert "is full" in error["message"] and "Traceback" not in error["message"]
        _lsp(proc, {"jsonrpc": "2.0", "id": 3, "method": "workspace/executeCommand", "params": {
            "command": "lspAgent.memory.show", "arguments": [{"workspace": str(workspace)}]}})
        assert PRECIOUS in json.dumps(_answer(proc, 3)["result"])
    finally:
        proc.kill()
        proc.wait()
