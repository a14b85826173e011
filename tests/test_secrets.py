"""Secrets never reach memory in clear: checked in the raw LanceDB rows and the mirror files."""

from __future__ import annotations

import pytest

from lsp_agent.memory.secrets import contains_secret, redact

OPENAI = "sk-proj-Abc123def456GHI789jkl012MNO345"
AWS = "AKIAIOSFODNN7EXAMPLE"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
PASSWORD = "hunter2hunter2!"
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEA7bq2mZqGFeU1kY4wQ3vN0xPq8rTz\n"
    "Zm9vYmFyYmF6cXV4cXV1eHF1dXpjb3JnZQ==\n"
    "-----END RSA PRIVATE KEY-----"
)
KEY_BODY = "MIIEowIBAAKCAQEA7bq2mZqGFeU1kY4wQ3vN0xPq8rTz"
SECRETS = [OPENAI, AWS, GITHUB, PASSWORD, KEY_BODY]
TEXT = (
    f"use {OPENAI} for the model, aws {AWS}, token {GITHUB}\n"
    f"db password={PASSWORD}\n{PRIVATE_KEY}\n"
)


@pytest.mark.parametrize("secret,kind", [
    (OPENAI, "openai-key"), (AWS, "aws-access-key"), (GITHUB, "github-token"),
    (PRIVATE_KEY, "private-key"),
])
def test_redact_known_formats(secret, kind):
    out = redact(f"before {secret} after")
    assert secret not in out and f"[REDACTED {kind} #" in out
    assert out.startswith("before ") and out.endswith(" after")
    assert contains_secret(secret)


def test_redact_assignments_and_plain_text():
    out = redact(f"PASSWORD={PASSWORD}\napi_key: 'abcdefgh12345678'\nDB_SECRET = s3cr3tv4lue")
    for s in (PASSWORD, "abcdefgh12345678", "s3cr3tv4lue"):
        assert s not in out
    assert out.startswith("PASSWORD=[REDACTED secret #")
    plain = "the password is stored in vault; token length=8; see $API_KEY"
    assert redact(plain) == plain
    assert redact(redact(TEXT)) == redact(TEXT)  # idempotent: redacted text stays as is
    # the same secret gets the same tag, a different one a different tag
    assert redact(OPENAI) == redact(OPENAI) != redact(OPENAI[:-1] + "X")


def test_unterminated_private_key_redacted_to_end():
    text = "key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nmore"
    out = redact(text)
    assert "b3BlbnNzaC1rZXktdjE" not in out and "more" not in out


def _all_strings(rows):
    for row in rows:
        for value in row.values():
            if isinstance(value, str):
                yield value
            elif isinstance(value, list):
                yield from (v for v in value if isinstance(v, str))


def _assert_clean(store, table_rows, tables):
    for name in tables:
        rows = table_rows(store, name, all_versions=True)
        assert rows, name
        for text in _all_strings(rows):
            for secret in SECRETS:
                assert secret not in text, (name, secret)
    canary_seen = False  # proves the byte scan can see the stored text at all
    for path in store.rglob("*"):  # data files, indexes, transactions, mirror files
        if path.is_file():
            data = path.read_bytes()
            canary_seen |= path.suffix == ".lance" and b"for the model, aws" in data
            for secret in SECRETS:
                assert secret.encode() not in data, (path, secret)
    assert canary_seen


def test_no_secret_stored_in_clear(memory, table_rows):
    memory.blocks.set("notes", TEXT, author="agent", reason="learned credentials")
    memory.blocks.edit("notes", lambda old: old + f"\nalso {AWS}", author="agent", reason="more")
    memory.blocks.create("creds", "where keys live", TEXT, limit=2000)
    conv = memory.recall.new_conversation("setup")
    memory.recall.append(conv.id, "user", TEXT)
    memory.recall.append(conv.id, "assistant", "", tool_calls=[
        {"id": "c1", "function": {"name": "shell", "arguments": f"export KEY={OPENAI}"}}])
    memory.recall.append_many([{"conversation_id": conv.id, "role": "tool", "content": TEXT}])
    memory.recall.fork(conv.id)
    memory.archival.insert(TEXT, ["creds"])
    memory.archival.insert_many([f"aws key {AWS}", f"gh {GITHUB}"])

    got = memory.blocks.get("notes").value
    assert "[REDACTED openai-key #" in got and "use " in got and "db password=" in got
    store = memory.memory_folder.parent
    _assert_clean(store, table_rows, ["blocks", "block_versions", "messages", "archival"])
    for md in memory.memory_folder.glob("*.md"):
        text = md.read_text()
        assert not any(s in text for s in SECRETS), md


def test_secret_typed_into_mirror_file_is_redacted(memory, workspace, open_memory, table_rows):
    path = memory.memory_folder / "notes.md"
    text = path.read_text()
    path.write_text(text + f"deploy token: {GITHUB}\n")
    again = open_memory(workspace)
    assert GITHUB not in again.blocks.get("notes").value
    assert "[REDACTED github-token" in again.blocks.get("notes").value
    assert GITHUB not in path.read_text()  # rewritten from the store
    for name in ("blocks", "block_versions"):
        assert not any(GITHUB in s for s in _all_strings(table_rows(memory.memory_folder.parent,
                                                                     name, all_versions=True)))


def test_block_description_redacted(memory, table_rows):
    memory.blocks.create("deploy", f"uses {AWS}", "x")
    memory.blocks.update_settings("deploy", description=f"now {OPENAI}")
    rows = table_rows(memory.memory_folder.parent, "blocks", all_versions=True)
    assert not any(s in t for t in _all_strings(rows) for s in (AWS, OPENAI))
    assert AWS not in (memory.memory_folder / "deploy.md").read_text()


def test_conversation_title_and_summary_redacted(memory, table_rows):
    conv = memory.recall.new_conversation(f"set up {OPENAI}")
    memory.recall.update_conversation(conv.model_copy(update={"summary": f"key {AWS}"}))
    rows = table_rows(memory.memory_folder.parent, "conversations", all_versions=True)
    assert not any(s in t for t in _all_strings(rows) for s in (AWS, OPENAI))
