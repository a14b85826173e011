"""A store that cannot be read is refused with advice, and left byte-for-byte as it was."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lsp_agent.memory import schema
from lsp_agent.memory.agent_memory import AgentMemory
from lsp_agent.memory.damage import StoreDamaged
from lsp_agent.memory.store import MemoryStore, StoreError


def _garbage(files: list[Path]) -> None:
    assert files
    for f in files:
        f.write_bytes(b"\x00garbage\xff" * 50)


CORRUPTIONS = {
    "blocks-manifests": lambda s: _garbage(list((s / "blocks.lance" / "_versions").glob("*.manifest"))),
    "blocks-data": lambda s: _garbage(list((s / "blocks.lance" / "data").glob("*.lance"))),
    "versions-data": lambda s: _garbage(list((s / "block_versions.lance" / "data").glob("*.lance"))),
    "meta-data": lambda s: _garbage(list((s / "meta.lance" / "data").glob("*.lance"))),
    "blocks-no-versions": lambda s: shutil.rmtree(s / "blocks.lance" / "_versions"),
}


@pytest.fixture
def filled(memory, settle):
    memory.blocks.set("notes", "precious knowledge", author="user")
    conv = memory.recall.new_conversation()
    memory.recall.append(conv.id, "user", "a message worth keeping")
    settle()
    return memory


def _digest(tree_digest, store: Path) -> dict[str, bytes]:
    return tree_digest(store, skip=lambda p: p.name == ".lsp-agent.lock")


@pytest.mark.parametrize("how", sorted(CORRUPTIONS))
def test_corrupt_table_refused_and_untouched(filled, workspace, tree_digest, how):
    store = Path(filled.store_uri)
    CORRUPTIONS[how](store)
    before = _digest(tree_digest, store)
    mem = AgentMemory(workspace, embedder="none")
    notices = mem.open()  # opens read-only: nothing repaired, created or rewritten
    assert len(notices) == 1 and "is damaged" in notices[0] and "lsp-agent doctor" in notices[0]
    table = how.split("-")[0].replace("versions", "block_versions")
    with pytest.raises(StoreDamaged) as err:
        mem.store.table(table)
    msg = str(err.value)
    assert str(store) in msg and "cannot be read" in msg and f"table '{table}'" in msg
    assert "move it aside" in msg and "restore it from a backup" in msg
    assert "doctor --repair" in msg and "/rustc/" not in msg and ".rs:" not in msg
    with pytest.raises(StoreDamaged):
        mem.status()
    with pytest.raises(StoreError):  # a write to an intact table is refused too
        mem.archival.insert("more")
    assert _digest(tree_digest, store) == before


def test_corrupt_messages_refused_on_use(filled, workspace, tree_digest):
    store = Path(filled.store_uri)
    _garbage(list((store / "messages.lance" / "data").glob("*.lance")))
    before = _digest(tree_digest, store)
    mem = AgentMemory(workspace, embedder="none")
    mem.open()  # blocks are fine: the agent still starts, read-only
    assert mem.blocks.get("notes").value == "precious knowledge"
    with pytest.raises(StoreDamaged, match="table 'messages'"):
        mem.blocks.set("notes", "changed", author="user")
    with pytest.raises(StoreError, match="table 'messages'"):
        mem.recall.messages("x")
    with pytest.raises(StoreError, match="table 'messages'"):
        mem.status()
    assert _digest(tree_digest, store) == before


def test_cli_reports_corrupt_store(filled, workspace, run_cli, tree_digest):
    store = Path(filled.store_uri)
    CORRUPTIONS["blocks-manifests"](store)
    before = _digest(tree_digest, store)
    for args in (["status"], ["memory", "show"], ["memory", "set", "notes", "new"],
                 ["remember", "a lesson"]):
        res = run_cli(*args)
        assert res.returncode == 1, (args, res.stderr)
        last = res.stderr.strip().splitlines()[-1]
        assert last.startswith("error: The memory store") and "is damaged" in last, res.stderr
        assert "Traceback" not in res.stderr and "/rustc/" not in res.stderr
    assert _digest(tree_digest, store) == before


def test_newer_schema_refused(memory, workspace, tree_digest, run_cli):
    memory.store.set_meta("schema_version", str(schema.SCHEMA_VERSION + 1))
    store = Path(memory.store_uri)
    before = _digest(tree_digest, store)
    with pytest.raises(StoreError, match="newer lsp-agent") as err:
        AgentMemory(workspace, embedder="none").open()
    assert "Upgrade lsp-agent" in str(err.value)
    res = run_cli("status")
    assert res.returncode == 1 and "error:" in res.stderr and "Upgrade" in res.stderr
    assert _digest(tree_digest, store) == before


def test_old_schema_migrated(memory, workspace, open_memory):
    memory.store.table("meta").delete("key = 'schema_version'")
    again = open_memory(workspace)
    assert again.store.get_meta("schema_version") == str(schema.SCHEMA_VERSION)
    assert [b.label for b in again.blocks.list()][0] == "persona"


def test_store_path_is_a_file(tmp_path, workspace, run_cli):
    path = tmp_path / "store-file"
    path.write_bytes(b"not a database")
    with pytest.raises(StoreError, match="is a file"):
        MemoryStore(str(path))
    with pytest.raises(StoreError, match="is a file"):
        AgentMemory(workspace, store_uri=str(path), embedder="none")
    res = run_cli("status", "--store", str(path))
    assert res.returncode == 1 and res.stderr.startswith("error: The memory store path")
    assert path.read_bytes() == b"not a database"


def test_store_env_var_used(tmp_path, workspace, monkeypatch, open_memory):
    target = tmp_path / "custom-store"
    monkeypatch.setenv("LSP_AGENT_STORE", str(target))
    mem = open_memory(workspace)
    assert mem.store_uri == str(target) and (target / "blocks.lance").is_dir()
    assert mem.memory_folder == target / "memory"


def test_store_errors_importable_without_lancedb():
    """The server imports the store module at start: lancedb must load only on first use."""
    code = ("import sys; import lsp_agent.memory.agent_memory; "
            "print('lancedb' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
