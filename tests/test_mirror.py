"""The markdown mirror: files with frontmatter, people's edits taken in, nothing lost."""

from __future__ import annotations

import pytest
import yaml

from lsp_agent.memory.blocks import BlockManager
from lsp_agent.memory.mirror import parse, render


def _front(path):
    meta, value = parse(path.read_text(encoding="utf-8"))
    return meta, value


def test_files_written_with_frontmatter(memory):
    folder = memory.memory_folder
    assert sorted(p.name for p in folder.glob("*.md")) == sorted(
        f"{b.label}.md" for b in memory.blocks.list())
    memory.blocks.create("api", "API notes", "GET /users\n---\nnot frontmatter", limit=300,
                         read_only=True)
    text = (folder / "api.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    meta, value = parse(text)
    assert meta == {"label": "api", "description": "API notes", "limit": 300, "read_only": True,
                    "scope": "agent", "version": 1}
    assert value == "GET /users\n---\nnot frontmatter"
    memory.blocks.set("api", "GET /v2/users", author="user")
    meta, value = _front(folder / "api.md")
    assert meta["version"] == 2 and value == "GET /v2/users"


def test_person_edit_taken_in_on_open(memory, workspace, open_memory):
    path = memory.memory_folder / "notes.md"
    meta, _ = _front(path)
    path.write_text(render_text(meta, "- the build needs make 4.3\n"), encoding="utf-8")
    again = open_memory(workspace)
    block = again.blocks.get("notes")
    assert block.value == "- the build needs make 4.3\n"
    last = again.blocks.history("notes")[-1]
    assert last.author == "mirror" and last.old_value == "" and "notes.md" in last.reason
    assert any("notes" in n for n in again.notices)
    # taken in once: opening again adds no version
    n = len(again.blocks.history("notes"))
    third = open_memory(workspace)
    assert len(third.blocks.history("notes")) == n


def test_person_edit_to_read_only_block_taken_in(memory, workspace, open_memory):
    memory.blocks.create("rules", "", "old rule", read_only=True)
    path = memory.memory_folder / "rules.md"
    meta, _ = _front(path)
    path.write_text(render_text(meta, "new rule"), encoding="utf-8")
    assert open_memory(workspace).blocks.get("rules").value == "new rule"


def test_conflict_with_agent_edit_keeps_both(memory, workspace, open_memory):
    """The person edits the file; before the next open the agent edits the same block."""
    path = memory.memory_folder / "notes.md"
    meta, _ = _front(path)
    path.write_text(render_text(meta, "person's note"), encoding="utf-8")
    memory.blocks.set("notes", "agent's note", author="agent", reason="agent learned")
    again = open_memory(workspace)
    values = [v.new_value for v in again.blocks.history("notes")]
    assert "agent's note" in values
    assert "person's note" in values
    assert again.blocks.get("notes").value == "person's note"
    conflict = again.blocks.history("notes")[-1]
    assert conflict.author == "mirror" and "conflict" in conflict.reason


def test_conflict_with_store_change_from_elsewhere(memory, workspace, open_memory):
    """The store changes without this mirror (another process's manager) while the file is edited."""
    path = memory.memory_folder / "notes.md"
    meta, _ = _front(path)
    path.write_text(render_text(meta, "person's text"), encoding="utf-8")
    BlockManager(memory.store).set("notes", "store text", author="agent", reason="elsewhere")
    again = open_memory(workspace)
    hist = again.blocks.history("notes")
    assert [v.new_value for v in hist][-2:] == ["store text", "person's text"]
    assert "conflict" in hist[-1].reason
    assert _front(path)[1] == "person's text"


def test_unparsable_file_set_aside_with_warning(memory, workspace, open_memory):
    memory.blocks.set("notes", "stored", author="user")
    path = memory.memory_folder / "notes.md"
    path.write_text("I deleted the frontmatter but this text matters\n", encoding="utf-8")
    again = open_memory(workspace)
    kept = list(memory.memory_folder.glob("notes.rejected-*"))
    assert len(kept) == 1
    assert kept[0].read_text() == "I deleted the frontmatter but this text matters\n"
    assert any("not taken in" in n and kept[0].name in n for n in again.notices)
    assert again.blocks.get("notes").value == "stored"
    assert _front(path)[1] == "stored"  # the file is rewritten from the store


def test_two_unparsable_edits_both_kept(memory, workspace, open_memory):
    path = memory.memory_folder / "notes.md"
    path.write_text("first broken edit", encoding="utf-8")
    open_memory(workspace)
    path.write_text("second broken edit", encoding="utf-8")
    open_memory(workspace)
    kept = sorted(p.read_text() for p in memory.memory_folder.glob("notes.rejected-*"))
    assert kept == ["first broken edit", "second broken edit"]


def test_bad_yaml_set_aside(memory, workspace, open_memory):
    path = memory.memory_folder / "human.md"
    path.write_text("---\nlabel: [unclosed\n---\nprefers tabs", encoding="utf-8")
    again = open_memory(workspace)
    kept = list(memory.memory_folder.glob("human.rejected-*"))
    assert [p.read_text() for p in kept] == ["---\nlabel: [unclosed\n---\nprefers tabs"]
    assert again.blocks.get("human").value == ""


def test_new_file_creates_block(memory, workspace, open_memory):
    path = memory.memory_folder / "deploy.md"
    path.write_text("---\ndescription: How we deploy\nlimit: 800\n---\nrun ./deploy.sh\n",
                    encoding="utf-8")
    again = open_memory(workspace)
    block = again.blocks.get("deploy")
    assert (block.value, block.description, block.limit) == ("run ./deploy.sh\n", "How we deploy", 800)
    assert again.blocks.history("deploy")[0].author == "mirror"
    meta, _ = _front(path)
    assert meta["version"] == 1 and meta["label"] == "deploy"


def test_new_file_with_bad_name_set_aside(memory, workspace, open_memory):
    path = memory.memory_folder / "My Notes.md"
    path.write_text("---\ndescription: x\n---\nprecious", encoding="utf-8")
    again = open_memory(workspace)
    assert "My Notes" not in [b.label for b in again.blocks.list()]
    kept = list(memory.memory_folder.glob("My Notes.rejected-*"))
    assert [p.read_text() for p in kept] == ["---\ndescription: x\n---\nprecious"]


def test_file_over_limit_is_not_lost(memory, workspace, open_memory):
    memory.blocks.create("small", "", "short", limit=20)
    path = memory.memory_folder / "small.md"
    meta, _ = _front(path)
    long_text = "a long paragraph the person wrote " * 5
    path.write_text(render_text(meta, long_text), encoding="utf-8")
    again = open_memory(workspace)
    block = again.blocks.get("small")
    # the person wrote it with the frontmatter's limit in view: the limit is raised to fit
    assert block.value == long_text and block.limit == len(long_text)
    assert [v.new_value for v in again.blocks.history("small")] == ["short", long_text]


def test_file_over_limit_without_limit_field_set_aside(memory, workspace, open_memory):
    memory.blocks.create("small", "", "short", limit=20)
    path = memory.memory_folder / "small.md"
    text = "---\ndescription: ''\n---\n" + "x" * 100
    path.write_text(text, encoding="utf-8")
    again = open_memory(workspace)
    assert again.blocks.get("small").value == "short"
    kept = [p.read_text() for p in memory.memory_folder.glob("small.rejected-*")]
    assert kept == [text]
    assert any("limit" in n for n in again.notices)


def test_deleted_file_is_rewritten_not_deleted_from_store(memory, workspace, open_memory):
    memory.blocks.set("notes", "keep", author="user")
    (memory.memory_folder / "notes.md").unlink()
    again = open_memory(workspace)
    assert again.blocks.get("notes").value == "keep"
    assert _front(memory.memory_folder / "notes.md")[1] == "keep"


@pytest.mark.parametrize("text", ["no frontmatter", "---\nlabel: x\nno close", "---\n- a\n- b\n---\nv"])
def test_parse_rejects_malformed(text):
    with pytest.raises(ValueError):
        parse(text)


def test_render_parse_roundtrip(memory):
    block = memory.blocks.create("rt", "desc: with colon\nand newline", "body\n---\nmore\n")
    meta, value = parse(render(block))
    assert meta["description"] == "desc: with colon\nand newline" and value == "body\n---\nmore\n"


def render_text(meta: dict, value: str) -> str:
    return "---\n" + yaml.safe_dump(meta, sort_keys=False).strip() + "\n---\n" + value


def test_file_not_utf8_set_aside_bytes_kept(memory, workspace, open_memory):
    path = memory.memory_folder / "human.md"
    raw = "---\ndescription: x\n---\nprefers caf\xe9 breaks".encode("latin-1")
    path.write_bytes(raw)
    again = open_memory(workspace)
    kept = list(memory.memory_folder.glob("human.rejected-*"))
    assert [p.read_bytes() for p in kept] == [raw]
    assert any("UTF-8" in n for n in again.notices)
    assert _front(path)[1] == ""  # rewritten from the store, which was not changed


def test_agent_edit_does_not_overwrite_pending_person_edit(memory):
    path = memory.memory_folder / "notes.md"
    meta, _ = _front(path)
    path.write_text(render_text(meta, "typed by a person"), encoding="utf-8")
    memory.blocks.set("notes", "agent text", author="agent")
    assert _front(path)[1] == "typed by a person"


def test_shared_block_edit_written_to_own_mirror(tmp_path, home, open_memory):
    a, b = tmp_path / "wa", tmp_path / "wb"
    a.mkdir()
    b.mkdir()
    mem_a, mem_b = open_memory(a), open_memory(b)
    mem_a.blocks.create("team", "", "v1", scope="shared")
    mem_b.blocks.create("team", scope="shared")
    mem_b.blocks.set("team", "v2 from b", author="user")
    meta, value = _front(mem_b.memory_folder / "team.md")
    assert value == "v2 from b" and meta["scope"] == "shared"
    # a's file catches up when a opens, and a person's edit there reaches b
    again_a = open_memory(a)
    path = again_a.memory_folder / "team.md"
    assert _front(path)[1] == "v2 from b"
    path.write_text(render_text(_front(path)[0], "v3 typed in a"), encoding="utf-8")
    open_memory(a)
    assert mem_b.blocks.get("team").value == "v3 typed in a"


def test_blank_description_in_file_is_empty_not_none(memory, workspace, open_memory):
    path = memory.memory_folder / "notes.md"
    path.write_text("---\ndescription:\nlimit: 6000\n---\nnew text", encoding="utf-8")
    block = open_memory(workspace).blocks.get("notes")
    assert block.value == "new text" and block.description == ""
    (memory.memory_folder / "extra.md").write_text("---\ndescription:\n---\nx", encoding="utf-8")
    assert open_memory(workspace).blocks.get("extra").description == ""
