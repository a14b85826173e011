"""Secrets never reach memory in clear: checked in the raw LanceDB rows and the mirror files."""

from __future__ import annotations

import base64
import json
import random
import string
from pathlib import Path

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
    memory.recall.update_conversation(conv.id, summary=f"key {AWS}")
    rows = table_rows(memory.memory_folder.parent, "conversations", all_versions=True)
    assert not any(s in t for t in _all_strings(rows) for s in (AWS, OPENAI))


# -- many formats through every write path -------------------------------------------------------

_R = random.Random(11)
_ALNUM = string.ascii_letters + string.digits
_HEX = "0123456789abcdef"
_UPPER = string.ascii_uppercase + string.digits


def _r(n: int, chars: str = _ALNUM) -> str:
    return "".join(_R.choice(chars) for _ in range(n))


def _b64(n: int) -> str:
    return base64.b64encode(bytes(_R.randrange(256) for _ in range(n))).decode()


def _pem(kind: str, body: str) -> str:
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----"


def _formats() -> list[tuple[str, str, str]]:
    """(name, the text a person or a tool would write, the fake secret inside it)."""
    rsa, ssh, gcp = _b64(600), _b64(300), _b64(200)
    basic = base64.b64encode(f"admin:{_r(12)}".encode()).decode()
    s = {name: value for name, value in [
        ("openai", "sk-proj-" + _r(48)), ("anthropic", "sk-ant-api03-" + _r(80)),
        ("aws-access", "AKIA" + _r(16, _UPPER)), ("aws-secret", _r(40, _ALNUM + "/+")),
        ("github", "ghp_" + _r(36)), ("github-fine", "github_pat_" + _r(22) + "_" + _r(59)),
        ("gitlab", "glpat-" + _r(20)), ("slack", f"xoxb-{_r(11, '0123456789')}-{_r(24)}"),
        ("slack-hook", f"https://hooks.slack.com/services/T{_r(8, _UPPER)}/B{_r(8, _UPPER)}/"
                       + _r(24)),
        ("google", "AIza" + _r(35)), ("google-oauth", "GOCSPX-" + _r(28)),
        ("stripe", "sk_live_" + _r(24)), ("stripe-rk", "rk_live_" + _r(24)),
        ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI" + _r(20) + "." + _r(43)),
        ("rsa", rsa[:64]), ("openssh", ssh[:64]), ("gcp-json", gcp[:60]),
        ("url", _r(14)), ("mongo", _r(16)), ("redis", _r(20, _HEX)),
        ("bearer", _r(40, _HEX)), ("basic", basic), ("azure", _b64(64)), ("azure-sas", _b64(32)),
        ("npm", "npm_" + _r(36)), ("npmrc", "npm_" + _r(36)),
        ("pypi", "pypi-AgEIcHlwaS5vcmc" + _r(60)), ("db-short", _r(6)),
        ("passphrase", f"correct horse {_r(6).lower()} staple"), ("json", _r(12)),
        ("dollar", "$" + _r(11)), ("mysql", _r(10)), ("sendgrid", f"SG.{_r(22)}.{_r(43)}"),
        ("hf", "hf_" + _r(34)), ("yaml", _r(10) + "!"), ("export", _r(24)),
        ("x-api-key", _r(32, _HEX)), ("netrc", _r(18)), ("do", "dop_v1_" + _r(64, _HEX)),
        ("shopify", "shpat_" + _r(32, _HEX)), ("vault", "hvs." + _r(24)),
        ("databricks", "dapi" + _r(32, _HEX)), ("age", "AGE-SECRET-KEY-1" + _r(58, _UPPER)),
        ("telegram", _r(10, "0123456789") + ":AA" + _r(33)), ("twilio", "SK" + _r(32, _HEX)),
        ("mailchimp", _r(32, _HEX) + "-us12"), ("docker", _r(20)), ("client-secret", _r(16)),
        ("prose-quoted", _r(12)), ("toml", _r(16)), ("linear", "lin_api_" + _r(40)),
    ]}
    texts = {
        "openai": "use {} for the model", "anthropic": "ANTHROPIC_API_KEY={}",
        "aws-access": "aws id {}", "aws-secret": "the aws secret access key is {} for prod",
        "github": "token {}", "github-fine": "GH_TOKEN={}", "gitlab": "gitlab token {}",
        "slack": "slack {}", "slack-hook": "post to {}", "google": "maps key {}",
        "google-oauth": '"client_secret": "{}"', "stripe": "stripe {}",
        "stripe-rk": "restricted {}", "jwt": "cookie={}",
        "rsa": _pem("RSA PRIVATE KEY", rsa).replace(rsa[:64], "{}", 1),
        "openssh": _pem("OPENSSH PRIVATE KEY", ssh).replace(ssh[:64], "{}", 1),
        "gcp-json": '{{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----'
                    '\\\\n{}\\\\n-----END PRIVATE KEY-----\\\\n"}}',
        "url": "postgres://app:{}@db.internal:5432/app",
        "mongo": "mongodb+srv://admin:{}@cluster0.example.net/db",
        "redis": "REDIS_URL=redis://:{}@cache:6379/0",
        "bearer": "curl -H 'Authorization: Bearer {}' https://api.example.com",
        "basic": "Authorization: Basic {}",
        "azure": "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={};"
                 "EndpointSuffix=core.windows.net",
        "azure-sas": "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;"
                     "SharedAccessKey={}",
        "npm": "publish with {}", "npmrc": "//registry.npmjs.org/:_authToken={}",
        "pypi": "password = {}", "db-short": "DB_PASSWORD={}", "passphrase": 'passphrase: "{}"',
        "json": '{{"user": "bob", "password": "{}"}}', "dollar": "SMTP_PASSWORD={}",
        "mysql": "mysql -u root -p{} appdb", "sendgrid": "mail via {}", "hf": "hf login {}",
        "yaml": "database:\n  password: {}\n", "export": "export SECRET_KEY='{}'",
        "x-api-key": "X-Api-Key: {}", "netrc": "machine api.example.com login me password {}",
        "do": "doctl auth init -t {}", "shopify": "shopify {}", "vault": "VAULT_TOKEN={}",
        "databricks": "databricks token {}", "age": "{}", "telegram": "bot {}",
        "twilio": "twilio key {}", "mailchimp": "mailchimp {}",
        "docker": "docker login -u me --password {} registry.io",
        "client-secret": "client_secret={}&grant_type=client_credentials",
        "prose-quoted": "the wifi password is '{}'", "toml": 'token = "{}"', "linear": "linear {}",
    }
    return [(name, texts[name].format(value), value) for name, value in s.items()]


FORMATS = _formats()
ALL_TEXT = "\n\n".join(text for _, text, _ in FORMATS)
ALL_SECRETS = [secret for _, _, secret in FORMATS]


def test_at_least_forty_formats() -> None:
    assert len(FORMATS) >= 40 and len(set(ALL_SECRETS)) == len(ALL_SECRETS)
    for name, text, secret in FORMATS:
        assert secret in text, name


@pytest.mark.parametrize("name,text,secret", FORMATS, ids=[f[0] for f in FORMATS])
def test_each_format_is_redacted(name: str, text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out and "[REDACTED " in out
    assert redact(out) == out  # stable: redacted text is left as it is


def _raw_leaks(root: Path, secrets: list[str]) -> list[tuple[str, str]]:
    """(file, secret) for every secret found in the raw bytes of any file under `root`:
    LanceDB data of every version, indexes, transactions, manifests, mirror files."""
    leaks = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            leaks += [(str(path.relative_to(root)), s) for s in secrets if s.encode() in data]
    return leaks


def _visible(root: Path, phrase: str) -> bool:
    """The raw scan can see text stored in LanceDB files at all (a canary: no compression)."""
    return any(phrase.encode() in p.read_bytes() for p in root.rglob("*.lance") if p.is_file())


def test_every_write_path_stores_no_secret_in_clear(memory, workspace, home, open_memory) -> None:
    from lsp_agent.learning.code_index import build_index
    from lsp_agent.learning.remember import remember_verbatim

    canary = "ordinary canary words"
    blocks = memory.blocks
    blocks.create("creds", f"{canary} {ALL_TEXT[:300]}", f"{canary}\n{ALL_TEXT}", limit=60_000,
                  reason=ALL_TEXT)
    blocks.set("notes", ALL_TEXT[:4000], author="agent", reason=f"learned {ALL_TEXT}")
    blocks.edit("creds", lambda old: old + "\nmore " + ALL_TEXT, author="agent", reason=ALL_TEXT)
    blocks.update_settings("creds", description=ALL_TEXT[-300:])
    remember_verbatim(memory, ALL_TEXT[:3000], "project")
    conv = memory.recall.new_conversation(f"{canary} {ALL_TEXT}")
    memory.recall.append(conv.id, "user", f"{canary} {ALL_TEXT}")
    memory.recall.append(conv.id, "assistant", ALL_TEXT, tool_calls=[
        {"id": "c1", "type": "function",
         "function": {"name": "shell", "arguments": json.dumps({"command": ALL_TEXT})}}])
    memory.recall.append(conv.id, "tool", ALL_TEXT, tool_call_id="c1", name="shell")
    memory.recall.append_many([{"conversation_id": conv.id, "role": "tool", "content": ALL_TEXT,
                                "tool_calls": [{"id": "c2", "function": {
                                    "name": "read", "arguments": ALL_TEXT}}]}])
    memory.recall.update_conversation(conv.id, summary=ALL_TEXT)
    memory.recall.fork(conv.id, title=ALL_TEXT)
    memory.archival.insert(f"{canary} {ALL_TEXT}", ["creds", ALL_SECRETS[0]], source=ALL_TEXT)
    memory.archival.insert_many([text for _, text, _ in FORMATS])
    # a writer that forgets to redact is still caught: the store's tables redact every write
    import pyarrow as pa

    tbl = memory.store.table("meta")
    tbl.add(pa.Table.from_pylist([{"key": "note", "value": ALL_TEXT}], schema=tbl.schema))
    # the code index of files holding secrets: by name (.env, keys) and by content
    (workspace / ".env").write_text(ALL_TEXT)
    (workspace / ".env.production").write_text(ALL_TEXT)
    (workspace / "id_rsa").write_text(ALL_TEXT)
    (workspace / "server.pem").write_text(ALL_TEXT)
    (workspace / "settings.py").write_text(f'"""Settings."""\n{ALL_TEXT}\n')
    for i, (_, text, _) in enumerate(FORMATS):  # one file per format: each must be caught
        (workspace / f"config_{i}.yaml").write_text(f"# config\n{text}\n")
    report = build_index(memory)
    assert report.secret_files == 4, report.skipped  # by name: left out whole
    assert report.redacted_files == 1 + len(FORMATS)  # by content: indexed, secrets replaced
    assert report.files_indexed >= 2 + len(FORMATS)
    # a secret typed into the mirror is taken in redacted, and the file rewritten
    notes = memory.memory_folder / "notes.md"
    notes.write_text(notes.read_text() + "\n" + ALL_TEXT)
    open_memory(workspace)

    leaks = _raw_leaks(home, ALL_SECRETS)
    assert not leaks, leaks[:10]
    assert _visible(home, canary)


def test_raw_scan_finds_a_secret_written_without_the_guard(memory, home) -> None:
    """The scan above can fail: a row written around the guard is found in the raw files."""
    import pyarrow as pa

    tbl = memory.store.table("meta").inner
    tbl.add(pa.Table.from_pylist([{"key": "raw", "value": ALL_TEXT}], schema=tbl.schema))
    leaks = {s for _, s in _raw_leaks(home, ALL_SECRETS)}
    assert len(leaks) == len(ALL_SECRETS)


def test_index_skips_secret_files_redacts_secrets_in_code_and_counts_them(memory,
                                                                          workspace) -> None:
    from lsp_agent.learning.code_index import build_index, secret_files_skipped
    from lsp_agent.learning.code_search import search_code

    (workspace / ".env").write_text("DEBUG=1\n")  # by name, even without a secret inside
    (workspace / "deploy.key").write_text("not even a key")
    (workspace / "app.py").write_text(f"def connect():\n    return '{ALL_SECRETS[0]}'\n")
    (workspace / "ok.py").write_text("def connect_plain():\n    return 1\n")
    report = build_index(memory)
    reasons = dict(report.skipped)
    assert reasons[".env"].startswith("holds secrets") and reasons["deploy.key"].startswith(
        "holds secrets") and "app.py" not in reasons
    assert report.to_dict()["secret_files"] == 2 == secret_files_skipped(memory)
    assert report.redacted_files == 1
    hits = {h["path"]: h for h in search_code(memory, "connect", mode="text")}
    assert set(hits) == {"app.py", "ok.py"}  # a file with a secret is still found...
    text = "\n".join(r["text"] for r in memory.store.table("code_chunks").to_arrow().to_pylist())
    assert ALL_SECRETS[0] not in text and "[REDACTED openai-key" in text  # ...without it
    # a file that gains a secret after it was indexed keeps its rows, the secret redacted
    (workspace / "ok.py").write_text(f"def connect_plain():\n    return '{ALL_SECRETS[1]}'\n")
    report = build_index(memory)
    assert report.redacted_files == 1 and search_code(memory, "connect_plain", mode="text")
    text = "\n".join(r["text"] for r in memory.store.table("code_chunks").to_arrow().to_pylist())
    assert ALL_SECRETS[1] not in text


def test_status_shows_files_left_out_for_secrets() -> None:
    from lsp_agent.commands.views import status_doc
    from lsp_agent.service.results import Status

    st = Status(workspace="w", store="s", memory_folder="m", embedder="e", model="", state="idle",
                permission_mode="ask", active_conversation="",
                counts={"code_chunks": 3, "code_files_secret": 2})
    assert "2 files holding secrets not indexed" in status_doc(st).plain()


def test_scrub_removes_secrets_stored_before_redaction(memory, workspace, home, open_memory):
    """A store written before redaction (rows added around the guard, old LanceDB versions,
    a deleted row, a code chunk, set-aside mirror text) is clean after `scrub_store`, and
    still works."""
    from lsp_agent.learning.code_index import build_index
    from lsp_agent.memory.scrub import scrub_store

    secret_text = "old note " + ALL_TEXT
    memory.blocks.set("notes", "plain notes", author="user")
    conv = memory.recall.new_conversation("setup")
    memory.recall.append(conv.id, "user", "the quartz canary sings")
    (workspace / "app.py").write_text("def handler():\n    return 1\n")
    build_index(memory)
    store = memory.store
    raw = {name: store.table(name).inner for name in (
        "blocks", "block_versions", "messages", "archival", "code_chunks", "conversations")}
    raw["blocks"].update(where="label = 'notes'", values={"value": secret_text})
    raw["blocks"].update(where="label = 'notes'", values={"value": "plain notes"})  # old version
    raw["block_versions"].update(values={"reason": secret_text, "old_value": secret_text})
    raw["conversations"].update(values={"title": secret_text})
    msgs = raw["messages"].to_arrow()
    secret_msg = msgs.set_column(msgs.schema.get_field_index("content"), "content",
                                 [[secret_text]]).set_column(
        msgs.schema.get_field_index("id"), "id", [["m-secret"]])
    raw["messages"].add(secret_msg)
    raw["messages"].add(secret_msg.set_column(0, "id", [["m-deleted"]]))
    raw["messages"].delete("id = 'm-deleted'")  # gone from the table, not from its files
    passage = memory.archival.insert("a plain passage")
    raw["archival"].update(where=f"id = '{passage.id}'", values={"content": secret_text})
    raw["code_chunks"].update(where="path = 'app.py'", values={"text": secret_text})
    (memory.memory_folder / "notes.rejected-1.md.txt").write_text(secret_text)
    assert len({s for _, s in _raw_leaks(home, ALL_SECRETS)}) == len(ALL_SECRETS)

    report = scrub_store(store, memory.memory_folder)
    assert not _raw_leaks(home, ALL_SECRETS), _raw_leaks(home, ALL_SECRETS)[:5]
    assert report.secrets_found and report.code_files_dropped == ["app.py"]
    assert {"block_versions", "conversations", "messages", "archival"} <= set(
        report.rows_redacted)
    assert report.mirror_files == ["notes.rejected-1.md.txt"] and report.versions_removed > 0
    # the store still works: blocks, full-text search of messages, the index rebuilds
    again = open_memory(workspace)
    assert again.blocks.get("notes").value == "plain notes"
    assert "[REDACTED" in again.archival.get(passage.id).content
    assert any("canary" in h.row["content"] for h in again.recall.search("quartz canary"))
    assert build_index(again).secret_files == 0  # app.py is read again (it is clean on disk)
    assert scrub_store(again.store).secrets_found is False  # idempotent


def test_cli_doctor_scrub_asks_then_rewrites_history(memory, workspace, home, cli_env):
    """`lsp-agent doctor --scrub` needs a confirmation (`--yes` without a terminal), then no
    stored version of an old secret is left in the store's files."""
    import json
    import subprocess
    import sys

    secret = "ghp_" + "Q7xK2mP9vL4nR8tW1yZ5aB3cD6eF0gH2jK4m"
    memory.blocks.set("notes", "plain notes", author="user")
    memory.store.table("blocks").inner.update(where="label = 'notes'",
                                              values={"value": f"token {secret}"})
    memory.store.table("blocks").inner.update(where="label = 'notes'",
                                              values={"value": "plain notes"})
    assert _raw_leaks(home, [secret])
    base = [sys.executable, "-m", "lsp_agent", "doctor", "--scrub", "--workspace",
            str(workspace), "--embedder", "none"]
    refused = subprocess.run(base, env=cli_env, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "--yes" in refused.stderr, refused.stderr
    assert _raw_leaks(home, [secret])  # nothing was rewritten
    done = subprocess.run([*base, "--yes", "--json"], env=cli_env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["healthy"] and report["scrubbed"]["versions_removed"] > 0
    assert not _raw_leaks(home, [secret])
