"""Upkeep of a team store's version tables (memory/version_upkeep.py), on moto's S3 server.

Without it every edit lists a `_versions/` folder that grows by two manifests per edit; with
it the folder stays short, while the history, the look-back of memory/commits.py and every
acknowledged edit are kept.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from team_faults import LOSER, WINNER, UnansweringHistory, claim_twice

from lsp_agent.memory.blocks import BlockManager
from lsp_agent.memory.commits import VersionLedger
from lsp_agent.memory.store import MemoryStore
from lsp_agent.memory.version_upkeep import VersionUpkeep


def _versions(store: MemoryStore, table: str) -> int:
    return len(store.table(table).list_versions())


def _blocks(uri: str) -> BlockManager:
    store = MemoryStore(uri, embedder_spec="none")
    store.ensure_initialized()
    return BlockManager(store)


def test_upkeep_keeps_the_version_folders_short_and_the_history_whole(s3_store,
                                                                        monkeypatch) -> None:
    monkeypatch.setattr(VersionUpkeep, "UPKEEP_EVERY", 5)
    monkeypatch.setattr(VersionUpkeep, "KEEP_VERSIONS", timedelta(0))  # one process: safe
    monkeypatch.setattr(VersionUpkeep, "REPAIR_LIMIT", 600.0)
    blocks = _blocks(s3_store)
    blocks.create("notes", "", "", limit=100_000)
    for i in range(20):
        blocks.edit("notes", lambda old, i=i: old + f"\nline {i}", author="user", reason="r")
    _upkeeps_done()
    assert blocks.upkeep.runs >= 1  # in the background (one that found another running skips)
    assert blocks.upkeep.run()  # once more after the last edit (the background ones may lag it)
    assert _versions(blocks.store, "block_versions") <= 6  # was 22: one per edit
    assert _versions(blocks.store, "blocks") <= 6
    history = blocks.history("notes")
    assert [v.version for v in history] == list(range(1, 22))
    assert blocks.get("notes").value == "".join(f"\nline {i}" for i in range(20))
    again = BlockManager(MemoryStore(s3_store, embedder_spec="none"))  # another machine
    assert again.edit("notes", lambda old: old + "\nmore", author="user",
                      reason="r").version == 22


@pytest.fixture
def leftover(s3_store: str, monkeypatch: pytest.MonkeyPatch) -> BlockManager:
    """Another machine's view of a store whose block `x` has two claims of version 2 (a
    loser killed before taking its back); upkeep may prune every older version."""
    monkeypatch.setattr(VersionLedger, "SETTLE_SECONDS", 0.0)
    monkeypatch.setattr(VersionUpkeep, "KEEP_VERSIONS", timedelta(0))
    monkeypatch.setattr(VersionUpkeep, "REPAIR_LIMIT", 600.0)
    blocks = _blocks(s3_store)
    blocks.create("x", "", "one")
    claim_twice(blocks, "x", 2, "one", "one\nwinner", "one\nloser")
    return BlockManager(MemoryStore(s3_store, embedder_spec="none"))


def test_upkeep_takes_back_a_killed_losers_claim_before_it_prunes(s3_store, leftover) -> None:
    other = leftover
    assert other.upkeep.run()
    assert [r["edit_id"] for r in other.ledger.rows("label = 'x' AND version = 2")] == [WINNER]
    assert _versions(other.store, "block_versions") <= 4
    fresh = BlockManager(MemoryStore(s3_store, embedder_spec="none"))
    assert fresh.edit("x", lambda old: old + "\nnext", author="user",
                      reason="r").value == "one\nwinner\nnext"


def test_upkeep_prunes_nothing_while_it_cannot_judge_a_leftover(leftover, monkeypatch) -> None:
    monkeypatch.setattr(VersionLedger, "LOOK_BACK_TRIES", 1)
    other = leftover
    before = _versions(other.store, "block_versions")
    monkeypatch.setattr(other.ledger, "_snapshot", UnansweringHistory(
        other.ledger._snapshot_handle()))
    assert not other.upkeep.run()
    assert _versions(other.store, "block_versions") == before  # the look-back still works later
    assert {r["edit_id"] for r in other.ledger.rows("label = 'x' AND version = 2")} == \
        {WINNER, LOSER}


def test_a_store_on_a_local_disk_gets_no_upkeep(tmp_path) -> None:
    blocks = _blocks(str(tmp_path / "store"))
    assert not blocks.upkeep.enabled


def _upkeeps_done(seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while any(t.name == "lsp-agent-version-upkeep" for t in threading.enumerate()):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def _quiet_threads():
    """Background upkeeps of one test must not run into the next one's bucket."""
    yield
    _upkeeps_done(30)


def test_upkeep_prunes_nothing_after_a_repair_slower_than_half_the_kept_time(
        s3_store, monkeypatch) -> None:
    """A claim made after the repair read could be older than the cut-off by the prune."""
    monkeypatch.setattr(VersionUpkeep, "KEEP_VERSIONS", timedelta(seconds=0.2))
    blocks = _blocks(s3_store)
    blocks.create("x", "", "one")
    blocks.edit("x", lambda old: old + "\ntwo", author="user", reason="r")
    real = blocks.repair

    def slow_repair() -> bool:
        time.sleep(0.3)
        return real()

    monkeypatch.setattr(blocks, "repair", slow_repair)
    before = _versions(blocks.store, "block_versions")
    assert not blocks.upkeep.run()
    assert _versions(blocks.store, "block_versions") == before
