"""Durability: what a call confirmed survives kill -9, and two processes lose no update."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

WORKER = r"""
import sys
from pathlib import Path
import lancedb  # noqa: F401 - imported before "ready": a worker can be started ahead of time
from lsp_agent.memory.agent_memory import AgentMemory
from lsp_agent.memory.blocks import BlockError

workspace, tag, conv_id, edits, appends = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
mem = AgentMemory(Path(workspace), embedder="none")
print("ready", flush=True)
sys.stdin.readline()  # wait for "go", so that several workers start together
mem.open()
try:
    mem.blocks.create("log", "lines from workers", "", limit=200_000)
except BlockError:
    pass  # made by the other worker or an earlier round
print("opened", flush=True)
for i in range(max(edits, appends)):
    if i < appends:
        msg = mem.recall.append(conv_id, "user", f"{tag} says hello {i}")
        print(f"msg {msg.id}", flush=True)
    if i < edits:
        line = f"{tag}-line-{i}"
        mem.blocks.edit("log", lambda old, line=line: (old + "\n" + line).lstrip("\n"),
                        author="agent", reason=f"{tag} {i}")
        print(f"line {line}", flush=True)
print("done", flush=True)
"""


def _spawn(workspace: Path, env: dict, tag: str, conv_id: str, edits: int, appends: int):
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(workspace), tag, conv_id, str(edits), str(appends)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env,
    )


def _ready(proc) -> None:
    line = proc.stdout.readline()
    assert line == "ready\n", (line, proc.stderr.read() if proc.poll() is not None else "")


def _go(proc) -> None:
    proc.stdin.write("go\n")
    proc.stdin.flush()


def _confirmed(output: str) -> tuple[list[str], list[str]]:
    ids, lines = [], []
    for row in output.splitlines():
        kind, _, value = row.partition(" ")
        if kind == "msg":
            ids.append(value)
        elif kind == "line":
            lines.append(value)
    return ids, lines


def _check_all_present(workspace, open_memory, conv_id, ids, lines):
    mem = open_memory(workspace)  # opens cleanly (and repairs an interrupted edit)
    stored = {m.id for m in mem.recall.messages(conv_id)}
    missing = [i for i in ids if i not in stored]
    assert not missing, f"{len(missing)} confirmed messages lost"
    value_lines = set(mem.blocks.get("log").value.splitlines())
    lost = [ln for ln in lines if ln not in value_lines]
    assert not lost, f"confirmed block lines lost: {lost}"
    block = mem.blocks.get("log")
    history = mem.blocks.history("log")
    assert block.version == history[-1].version
    assert block.value == history[-1].new_value
    return mem


def test_kill9_loses_nothing_confirmed(workspace, open_memory, cli_env):
    conv_id = "conv-kill"
    rng = random.Random(os.getpid())
    all_ids: list[str] = []
    all_lines: list[str] = []
    # started ahead, so their imports overlap; each is let go after the previous one is killed
    procs = [_spawn(workspace, cli_env, f"r{n}", conv_id, edits=10_000, appends=10_000)
             for n in range(4)]
    for round_no, proc in enumerate(procs):  # kill -9 at a random moment, 4 times
        _ready(proc)
        _go(proc)
        early = ""
        if round_no > 0:  # the first round is killed while it creates the store
            assert proc.stdout.readline() == "opened\n", proc.stderr.read()
            early = proc.stdout.readline()  # it is working (however loaded the machine is)
        time.sleep(rng.uniform(0.2, 1.2))
        os.kill(proc.pid, signal.SIGKILL)
        out, _err = proc.communicate(timeout=30)
        out = early + out
        assert proc.returncode == -signal.SIGKILL, _err[-2000:]
        ids, lines = _confirmed(out)
        print(f"round {round_no}: {len(ids)} messages, {len(lines)} lines confirmed")
        all_ids += ids
        all_lines += lines
        # the next round's worker opens the store after the kill: it must open cleanly
    assert len(all_ids) >= 3  # the rounds did work before being killed
    mem = _check_all_present(workspace, open_memory, conv_id, all_ids, all_lines)
    assert mem.status()["counts"]["messages"] >= len(all_ids)
    # and the store is still fully usable
    mem.blocks.edit("log", lambda old: old + "\nafter", author="user", reason="check")
    assert mem.blocks.get("log").value.endswith("after")


def test_interrupted_edit_is_repaired_on_open(memory, workspace, open_memory):
    """Kill between writing the version and the block row (simulated by writing just the version)."""
    mem = memory
    mem.blocks.create("log", "", "")
    block = mem.blocks.get("log")
    crashed = block.model_copy(update={"value": "written before the crash",
                                       "version": block.version + 1})
    mem.blocks._append_version(crashed, "agent", "interrupted", old=block.value)
    again = open_memory(workspace)
    repaired = again.blocks.get("log")
    assert (repaired.value, repaired.version) == ("written before the crash", block.version + 1)
    again.blocks.set("log", "next", author="agent")
    assert [v.version for v in again.blocks.history("log")] == [1, 2, 3]


def test_two_processes_lose_no_update(workspace, open_memory, cli_env):
    """Both start together on a fresh store: creating it, then 30 edits and 50 appends each."""
    conv_id = "conv-two"
    procs = [_spawn(workspace, cli_env, tag, conv_id, edits=30, appends=50) for tag in ("pa", "pb")]
    for p in procs:
        _ready(p)
    for p in procs:
        _go(p)
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-2000:]
        assert out.rstrip().endswith("done")
        outputs.append(out)
    ids = [i for out in outputs for i in _confirmed(out)[0]]
    lines = [ln for out in outputs for ln in _confirmed(out)[1]]
    assert len(ids) == 100 and len(lines) == 60
    mem = _check_all_present(workspace, open_memory, conv_id, ids, lines)
    assert len(mem.recall.messages(conv_id)) == 100
    value = mem.blocks.get("log").value.splitlines()
    assert sorted(value) == sorted(lines)  # each line exactly once
    for tag in ("pa", "pb"):  # each process's lines in its own order
        mine = [ln for ln in value if ln.startswith(tag)]
        assert mine == [f"{tag}-line-{i}" for i in range(30)]
    history = mem.blocks.history("log")
    assert [v.version for v in history] == list(range(1, 62))  # one version per edit, no gaps
    # the store was created by both at once: one copy of each default block
    assert [b.label for b in mem.blocks.list()][:6] == [
        "persona", "human", "project", "commands", "conventions", "notes"]
    assert all(len(mem.blocks.history(b.label)) == 1 for b in mem.blocks.list()[:6])


def test_edit_after_another_process_crashed_mid_edit(memory):
    """A running agent edits after another process died between the version and the row."""
    from lsp_agent.memory.blocks import BlockManager

    memory.blocks.create("log", "", "a")
    crashed = BlockManager(memory.store)  # the other process, without repair since
    block = crashed.get("log")
    crashed._append_version(block.model_copy(update={"value": "unconfirmed", "version": 2}),
                            "agent", "died before writing the row", old="a")
    updated = memory.blocks.set("log", "b", author="user")
    versions = [v.version for v in memory.blocks.history("log")]
    assert len(versions) == len(set(versions)), f"duplicate version numbers: {versions}"
    assert updated.version == max(versions) and memory.blocks.get("log").value == "b"
    # a version that won its claim is the block's text even before its row is written (it may
    # be another machine's edit in flight): the next edit builds on it (memory/commits.py)
    assert memory.blocks.history("log")[-1].old_value == "unconfirmed"
    memory.blocks.revert("log", 2)
    assert memory.blocks.get("log").value == "unconfirmed"


def test_create_after_interrupted_create(memory):
    """A creation that died after its version row: creating again keeps numbers unique."""
    from lsp_agent.memory.schema import Block

    memory.blocks._append_version(Block(label="fresh", value="lost", version=1), "agent",
                                  "created", old="")
    created = memory.blocks.create("fresh", "", "kept")
    versions = [v.version for v in memory.blocks.history("fresh")]
    assert versions == [1, 2] and created.version == 2
    assert memory.blocks.get("fresh").value == "kept"


def test_lock_held_by_another_process_times_out_with_advice(tmp_path):
    from lsp_agent.memory.locking import LockTimeout, file_lock

    lock = tmp_path / "store" / ".lsp-agent.lock"
    lock.parent.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'w'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)", str(lock)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        start = time.monotonic()
        with pytest.raises(LockTimeout, match="close other lsp-agent processes"):
            with file_lock(lock, timeout=0.5):
                pass
        assert time.monotonic() - start < 5
    finally:
        holder.kill()
        holder.wait()
    with file_lock(lock, timeout=5):  # released when its holder died
        with file_lock(lock, timeout=5):  # re-entrant in the same thread
            pass


def test_threads_of_one_process_lose_no_update(memory):
    import threading

    memory.blocks.create("log", "", "", limit=10_000)
    errors: list[BaseException] = []

    def work(tag: str) -> None:
        try:
            for i in range(5):
                line = f"{tag}-{i}"
                memory.blocks.edit("log", lambda old, line=line: (old + "\n" + line).strip(),
                                   author="agent", reason=line)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    lines = memory.blocks.get("log").value.splitlines()
    assert sorted(lines) == sorted(f"t{n}-{i}" for n in range(3) for i in range(5))
    assert [v.version for v in memory.blocks.history("log")] == list(range(1, 17))
