"""Memory blocks: defaults, limits, read-only, versions, revert, labels, shared blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsp_agent.memory.blocks import DEFAULT_BLOCKS, BlockError, BlockNotFound


def test_defaults_created_once(memory, workspace, open_memory):
    labels = [b.label for b in memory.blocks.list()]
    assert labels == [d[0] for d in DEFAULT_BLOCKS]
    persona = memory.blocks.get("persona")
    assert persona.value and persona.limit == 3000 and persona.version == 1
    assert persona.updated_by == "system"
    # reopening creates no second copy and no new version
    again = open_memory(workspace)
    assert [b.label for b in again.blocks.list()] == labels
    assert len(again.blocks.history("persona")) == 1


def test_edit_over_limit_is_refused_with_size_and_limit(memory):
    memory.blocks.create("small", "tiny", "abc", limit=10)
    with pytest.raises(BlockError) as err:
        memory.blocks.edit("small", lambda old: old + "x" * 20, author="agent", reason="grow")
    msg = str(err.value)
    assert "23" in msg and "10" in msg and "small" in msg
    block = memory.blocks.get("small")
    assert block.value == "abc" and block.version == 1
    assert len(memory.blocks.history("small")) == 1
    # exactly at the limit is fine
    memory.blocks.set("small", "y" * 10, author="agent")
    assert memory.blocks.get("small").value == "y" * 10


def test_create_over_limit_is_refused(memory):
    with pytest.raises(BlockError, match="12 characters, over its limit of 5"):
        memory.blocks.create("big", "", "x" * 12, limit=5)
    with pytest.raises(BlockNotFound):
        memory.blocks.get("big")
    with pytest.raises(BlockError):
        memory.blocks.create("zero", "", "", limit=0)


def test_read_only_refuses_agent_but_allows_user(memory):
    memory.blocks.create("rules", "fixed rules", "never push to main", read_only=True)
    for author in ("agent", "reflection", "system"):
        with pytest.raises(BlockError, match="read-only"):
            memory.blocks.set("rules", "push anywhere", author=author)
    assert memory.blocks.get("rules").value == "never push to main"
    assert len(memory.blocks.history("rules")) == 1
    updated = memory.blocks.set("rules", "never force-push", author="user", reason="tighten")
    assert updated.value == "never force-push" and updated.version == 2
    assert memory.blocks.get("rules").value == "never force-push"


def test_versions_record_author_reason_old_new(memory):
    memory.blocks.set("notes", "first", author="agent", reason="learned A")
    memory.blocks.edit("notes", lambda old: old + "\nsecond", author="user", reason="added B")
    hist = memory.blocks.history("notes")
    assert [v.version for v in hist] == [1, 2, 3]
    v2, v3 = hist[1], hist[2]
    assert (v2.author, v2.reason, v2.old_value, v2.new_value) == ("agent", "learned A", "", "first")
    assert (v3.author, v3.reason, v3.old_value, v3.new_value) == (
        "user", "added B", "first", "first\nsecond")
    assert v2.timestamp <= v3.timestamp
    block = memory.blocks.get("notes")
    assert block.version == 3 and block.updated_by == "user"


def test_revert_restores_any_version_as_new_version(memory, workspace, open_memory):
    for text in ("one", "two", "three"):
        memory.blocks.set("notes", text, author="agent")
    # versions: 1 "", 2 one, 3 two, 4 three
    reverted = memory.blocks.revert("notes", 2)
    assert reverted.value == "one" and reverted.version == 5
    last = memory.blocks.history("notes")[-1]
    assert (last.old_value, last.new_value, last.author) == ("three", "one", "user")
    assert "revert to version 2" in last.reason
    # back to the original empty value, and the history is kept whole
    memory.blocks.revert("notes", 1)
    again = open_memory(workspace)
    assert again.blocks.get("notes").value == ""
    assert [v.new_value for v in again.blocks.history("notes")] == [
        "", "one", "two", "three", "one", ""]
    with pytest.raises(BlockError, match="no version 42"):
        memory.blocks.revert("notes", 42)


def test_noop_edit_makes_no_version(memory):
    memory.blocks.set("notes", "same", author="agent")
    before = memory.blocks.history("notes")
    result = memory.blocks.set("notes", "same", author="agent")
    memory.blocks.edit("notes", lambda old: old, author="user", reason="nothing")
    assert result.version == before[-1].version
    assert memory.blocks.history("notes") == before
    assert memory.blocks.get("notes").version == len(before)


@pytest.mark.parametrize("label", ["", "Notes", "1notes", "my notes", "a" * 65, "x/y", "../etc",
                                   "notes.md"])
def test_invalid_labels_are_refused(memory, label):
    with pytest.raises(BlockError, match="Invalid block label"):
        memory.blocks.create(label, "d", "v")
    assert label not in [b.label for b in memory.blocks.list()]


def test_duplicate_create_refused_and_value_kept(memory):
    memory.blocks.set("notes", "keep me", author="agent")
    with pytest.raises(BlockError, match="already exists"):
        memory.blocks.create("notes", "other", "replacement")
    assert memory.blocks.get("notes").value == "keep me"


def test_unknown_block_lists_existing(memory):
    with pytest.raises(BlockNotFound, match="persona"):
        memory.blocks.get("nope")
    with pytest.raises(BlockNotFound):
        memory.blocks.set("nope", "x", author="user")
    with pytest.raises(BlockNotFound):
        memory.blocks.history("nope")


def test_edits_survive_reopen(memory, workspace, open_memory):
    memory.blocks.create("api", "API notes", "v1 endpoints", limit=100)
    memory.blocks.set("api", "v2 endpoints", author="agent", reason="upgrade")
    again = open_memory(workspace)
    block = again.blocks.get("api")
    assert (block.value, block.version, block.limit, block.description) == (
        "v2 endpoints", 2, 100, "API notes")


def test_update_settings_cannot_cut_below_value(memory):
    memory.blocks.set("notes", "x" * 50, author="user")
    with pytest.raises(BlockError, match="50 characters"):
        memory.blocks.update_settings("notes", limit=10)
    assert memory.blocks.get("notes").limit == 6000
    memory.blocks.update_settings("notes", limit=60, read_only=True, description="new")
    block = memory.blocks.get("notes")
    assert (block.limit, block.read_only, block.description, block.value) == (
        60, True, "new", "x" * 50)


# -- shared blocks ------------------------------------------------------------------------------


@pytest.fixture
def two_workspaces(tmp_path: Path, home: Path, open_memory):
    a, b = tmp_path / "wa", tmp_path / "wb"
    a.mkdir()
    b.mkdir()
    return open_memory(a), open_memory(b), a, b


def test_shared_block_attached_and_edits_seen(two_workspaces, open_memory):
    mem_a, mem_b, a, b = two_workspaces
    assert mem_a.store_uri != mem_b.store_uri
    created = mem_a.blocks.create("team", "team rules", "use tabs", scope="shared", limit=500)
    assert created.scope == "shared"
    attached = mem_b.blocks.create("team", scope="shared")  # attaches the existing block
    assert attached.value == "use tabs" and attached.description == "team rules"
    assert attached.limit == 500

    mem_a.blocks.set("team", "use spaces", author="user", reason="changed mind")
    assert mem_b.blocks.get("team").value == "use spaces"
    assert mem_b.blocks.get("team").scope == "shared"
    mem_b.blocks.edit("team", lambda old: old + "\nwrap at 100", author="agent", reason="b adds")
    fresh_a = open_memory(a)
    assert fresh_a.blocks.get("team").value == "use spaces\nwrap at 100"

    # the history lives in the shared store, and both workspaces read the same one
    shared_rows = mem_a.shared.table("block_versions").search().where(
        "label = 'team'").limit(100).to_list()
    assert sorted(r["new_value"] for r in shared_rows) == sorted(
        ["use tabs", "use spaces", "use spaces\nwrap at 100"])
    for mem in (mem_a, mem_b):
        own = mem.store.table("block_versions").search().where("label = 'team'").limit(100)
        assert own.to_list() == []
        assert [v.version for v in mem.blocks.history("team")] == [1, 2, 3]
    assert [v.author for v in mem_b.blocks.history("team")] == ["user", "user", "agent"]


def test_shared_revert_and_reopen(two_workspaces, open_memory):
    mem_a, mem_b, a, b = two_workspaces
    mem_a.blocks.create("team", "", "v1", scope="shared")
    mem_b.blocks.create("team", scope="shared")
    mem_b.blocks.set("team", "v2", author="user")
    mem_a.blocks.revert("team", 1)
    assert open_memory(b).blocks.get("team").value == "v1"
    assert [v.new_value for v in mem_a.blocks.history("team")] == ["v1", "v2", "v1"]


def test_shared_create_does_not_replace_own_block(two_workspaces):
    mem_a, mem_b, a, b = two_workspaces
    mem_a.blocks.create("team", "", "shared text", scope="shared")
    mem_b.blocks.create("team", "", "b's own private text")
    with pytest.raises(BlockError, match="already exists"):
        mem_b.blocks.create("team", scope="shared")
    assert mem_b.blocks.get("team").value == "b's own private text"
    assert mem_b.blocks.get("team").scope == "agent"


def test_shared_read_only_refuses_agent(two_workspaces):
    mem_a, mem_b, a, b = two_workspaces
    mem_a.blocks.create("policy", "", "no deploys on friday", scope="shared", read_only=True)
    mem_b.blocks.create("policy", scope="shared")
    with pytest.raises(BlockError, match="read-only"):
        mem_b.blocks.set("policy", "deploy whenever", author="agent")
    assert mem_a.blocks.get("policy").value == "no deploys on friday"
