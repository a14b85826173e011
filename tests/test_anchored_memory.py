"""Memories anchored to code, against a real server process, real LanceDB and tree-sitter:
remember at a function, see it on hover and in a code lens, follow the function when lines are
added and when it is renamed, a stale diagnostic when its body changes (with quick fixes that
work), a lost one when it is deleted, file renames, and the memories a turn starting there
gets first (issue 13)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as T
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

ROOT = Path(tempfile.mkdtemp(prefix="lsp-agent-anchors-"))
WORKSPACE = ROOT / "ws"
SCRIPT = ROOT / "script.json"
ENV = {**os.environ, "LSP_AGENT_HOME": str(ROOT / "home"), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
CONFIG = ClientServerConfig(server_command=[sys.executable, "-m", "lsp_agent", "serve"],
                            server_env=ENV)
APP = '''import os


def greet(name):
    """Say hello."""
    message = "hello " + name
    return message.strip()


def part(x):
    return x * 2
'''
LESSON = "greet must strip the message: the UI breaks on trailing spaces"


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    WORKSPACE.mkdir(parents=True, exist_ok=True)
    (WORKSPACE / "app.py").write_text(APP)
    SCRIPT.write_text(json.dumps({"responses": [{"content": "Checked."}]}))

    @lsp_client.feature(T.WORKSPACE_CODE_LENS_REFRESH)
    def on_lens_refresh(_client: object, _params: object) -> None:
        return None

    opts = {"model": f"scripted/{SCRIPT}", "store": str(ROOT / "store"), "embedder": "none",
            "trustWorkspace": True}
    await lsp_client.initialize_session(T.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=WORKSPACE.as_uri(),
        workspace_folders=[T.WorkspaceFolder(uri=WORKSPACE.as_uri(), name="ws")],
        initialization_options={"lspAgent": opts}))
    yield
    await lsp_client.shutdown_session()


async def cmd(client: LanguageClient, name: str, args: dict[str, Any] | None = None) -> Any:
    return await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command=name, arguments=[args or {}]))


def uri(name: str) -> str:
    return (WORKSPACE / name).as_uri()


def open_doc(client: LanguageClient, name: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(T.DidOpenTextDocumentParams(text_document=T.TextDocumentItem(
        uri=uri(name), language_id="python", version=version, text=text)))


def change_doc(client: LanguageClient, name: str, text: str, version: int) -> None:
    client.text_document_did_change(T.DidChangeTextDocumentParams(
        text_document=T.VersionedTextDocumentIdentifier(uri=uri(name), version=version),
        content_changes=[T.TextDocumentContentChangeWholeDocument(text=text)]))


def save(client: LanguageClient, name: str, text: str, version: int) -> None:
    (WORKSPACE / name).write_text(text)
    change_doc(client, name, text, version)
    client.text_document_did_save(T.DidSaveTextDocumentParams(
        text_document=T.TextDocumentIdentifier(uri=uri(name))))


async def hover(client: LanguageClient, name: str, line: int) -> str | None:
    got = await client.text_document_hover_async(T.HoverParams(
        text_document=T.TextDocumentIdentifier(uri=uri(name)),
        position=T.Position(line=line, character=5)))
    return None if got is None else got.contents.value  # type: ignore[union-attr]


async def lenses(client: LanguageClient, name: str) -> list[tuple[int, str]]:
    got = await client.text_document_code_lens_async(T.CodeLensParams(
        text_document=T.TextDocumentIdentifier(uri=uri(name))))
    return [(lens.range.start.line, lens.command.title) for lens in got or []
            if lens.command is not None]


async def diagnostics(client: LanguageClient, name: str) -> list[T.Diagnostic]:
    got = await client.text_document_diagnostic_async(T.DocumentDiagnosticParams(
        text_document=T.TextDocumentIdentifier(uri=uri(name))))
    return list(got.items)  # type: ignore[union-attr]


async def anchors(client: LanguageClient) -> list[dict[str, Any]]:
    return (await cmd(client, "lspAgent.anchors"))["data"]["anchors"]


async def settled(client: LanguageClient, check: Any, tries: int = 300) -> Any:
    """Saves are handled as notifications: poll until the server's view shows the change."""
    import asyncio

    got = None
    for _ in range(tries):
        got = await check()
        if got:
            return got
        await asyncio.sleep(0.1)
    return got


async def test_an_anchor_follows_its_function_and_goes_stale(client: LanguageClient) -> None:
    got = (await cmd(client, "lspAgent.remember", {"text": LESSON, "at": "app.py:4"}))["data"]
    assert got["mode"] == "anchored" and got["anchor"]["symbol"] == "greet"
    assert (got["anchor"]["start_line"], got["anchor"]["end_line"]) == (4, 7)
    open_doc(client, "app.py", APP)
    shown = await hover(client, "app.py", 3)
    assert shown is not None and LESSON in shown and "`greet`" in shown
    assert await hover(client, "app.py", 9) is None, "no empty hovers"
    assert await hover(client, "app.py", 5) is None, "a function's memory shows on its name"
    assert await lenses(client, "app.py") == [(3, "1 memory")]

    # lines added above: the memory moves with the function (unsaved text, no write)
    shifted = "# header\n# more\n" + APP
    change_doc(client, "app.py", shifted, 2)
    assert LESSON in (await hover(client, "app.py", 5) or "")
    assert await lenses(client, "app.py") == [(5, "1 memory")]

    # the function renamed: found again by its code, symbol path updated
    renamed = shifted.replace("def greet(", "def welcome(")
    save(client, "app.py", renamed, 3)
    row = await settled(client, lambda: stored(lambda a: a["symbol"] == "welcome"))
    assert row["state"] == "ok" and row["start_line"] == 5 and "renamed" in row["note"]
    assert await diagnostics(client, "app.py") == []

    # its body rewritten: stale, said once, with four quick fixes
    rewritten = renamed.replace('    message = "hello " + name\n    return message.strip()\n',
                                '    parts = ["hi", name, "!"]\n    joined = "-".join(parts)\n'
                                '    print(joined)\n    return joined\n')
    save(client, "app.py", rewritten, 4)
    diags = await settled(client, lambda: diagnostics(client, "app.py"))
    assert len(diags) == 1 and diags[0].severity == T.DiagnosticSeverity.Information
    assert LESSON in diags[0].message and "changed" in diags[0].message
    assert diags[0].range.start.line == 5
    actions = await client.text_document_code_action_async(T.CodeActionParams(
        text_document=T.TextDocumentIdentifier(uri=uri("app.py")), range=diags[0].range,
        context=T.CodeActionContext(diagnostics=diags)))
    fixes = [a for a in actions or [] if "memory" in a.title and "Search" not in a.title]
    assert [a.title for a in fixes] == ["Re-anchor this memory here", "Forget this memory",
                                        "Keep this memory as is",
                                        "Ask the agent to re-verify this memory"]
    assert "1 stale" in dict(await lenses(client, "app.py"))[5]
    await run_fix(client, fixes[2])
    assert await diagnostics(client, "app.py") == []
    assert (await anchors(client))[0]["state"] == "ok"

    # the function deleted: lost, at the line where it was
    gone = rewritten.split("def welcome(")[0] + "def part(x):\n    return x * 2\n"
    save(client, "app.py", gone, 5)
    diags = await settled(client, lambda: diagnostics(client, "app.py"))
    assert len(diags) == 1 and "lost its code" in diags[0].message
    assert (await anchors(client))[0]["state"] == "lost"

    forget = next(a for a in (await client.text_document_code_action_async(T.CodeActionParams(
        text_document=T.TextDocumentIdentifier(uri=uri("app.py")), range=diags[0].range,
        context=T.CodeActionContext(diagnostics=diags))) or [])
        if a.title == "Forget this memory")
    await run_fix(client, forget)
    assert await diagnostics(client, "app.py") == [] and await anchors(client) == []
    restorable = (await cmd(client, "lspAgent.anchors", {"all": True}))["data"]["anchors"]
    assert restorable[0]["state"] == "forgotten"


async def run_fix(client: LanguageClient, action: T.CodeAction) -> None:
    """Resolve a picked quick fix and run its command, as the editor does."""
    assert action.kind == T.CodeActionKind.QuickFix and action.command is None
    resolved = await client.code_action_resolve_async(action)
    command = resolved.command
    assert command is not None
    first = command.arguments[0]  # type: ignore[index]
    await cmd(client, command.command, dict(first._asdict() if hasattr(first, "_asdict")
                                            else first))


async def _first(client: LanguageClient, pick: Any) -> dict[str, Any] | None:
    return next((a for a in await anchors(client) if pick(a)), None)


async def stored(pick: Any) -> dict[str, Any] | None:
    """An anchor row as the server committed it (read from the LanceDB table itself)."""
    import lancedb

    db = lancedb.connect(str(ROOT / "store"))
    if "anchors" not in db.list_tables().tables:
        return None
    return next((r for r in db.open_table("anchors").search().limit(1000).to_list()
                 if pick(r)), None)


async def test_file_renames_move_anchors_and_bad_anchors_are_refused(
        client: LanguageClient) -> None:
    await cmd(client, "lspAgent.remember", {"text": "part doubles", "at": "app.py:10-11"})
    await cmd(client, "lspAgent.memory.edit", {"label": "notes", "value":
                                                "- The entry point is `app.py`; see app.pyc"})
    (WORKSPACE / "lib").mkdir(exist_ok=True)
    (WORKSPACE / "app.py").rename(WORKSPACE / "lib" / "core.py")
    client.workspace_did_rename_files(T.RenameFilesParams(files=[T.FileRename(
        old_uri=uri("app.py"), new_uri=uri("lib/core.py"))]))
    row = await settled(client, lambda: stored(
        lambda a: a["path"] == "lib/core.py" and a["lesson"] == "part doubles"))
    assert row is not None and row["state"] == "ok" and row["symbol"] == "part"
    notes = (await cmd(client, "lspAgent.memory.show", {"label": "notes"}))["data"]["blocks"][0]
    assert notes["value"] == "- The entry point is `lib/core.py`; see app.pyc"
    history = (await cmd(client, "lspAgent.memory.history", {"label": "notes"}))["data"]
    assert history["versions"][-1]["reason"] == "app.py was renamed to lib/core.py"
    (WORKSPACE / "lib" / "core.py").rename(WORKSPACE / "app.py")
    client.workspace_did_rename_files(T.RenameFilesParams(files=[T.FileRename(
        old_uri=uri("lib"), new_uri=uri("elsewhere"))]))  # a folder holding nothing anchored

    (WORKSPACE / "blob.bin").write_bytes(b"\x00\x01binary")
    with pytest.raises(JsonRpcException, match="binary"):
        await cmd(client, "lspAgent.remember", {"text": "x", "at": "blob.bin:1"})
    with pytest.raises(JsonRpcException, match="outside the workspace"):
        await cmd(client, "lspAgent.remember", {"text": "x", "at": str(ROOT / "script.json")})
    far = (await cmd(client, "lspAgent.remember", {"text": "end", "at": "app.py:400-420"}))
    assert "clamped" in far["data"]["warnings"][0] and far["data"]["anchor"]["end_line"] == 12


async def test_a_turn_at_a_location_gets_its_memories_first(client: LanguageClient) -> None:
    await cmd(client, "lspAgent.remember", {"text": LESSON, "at": "app.py:4"})
    await cmd(client, "lspAgent.ask", {"prompt": "Can I drop the strip()?", "context": {
        "uri": uri("app.py"), "range": {"start": {"line": 5, "character": 0},
                                        "end": {"line": 5, "character": 0}}}})
    page = (await cmd(client, "lspAgent.conversation.history", {"limit": 2}))["data"]
    sent = page["messages"][0]["content"]
    assert sent.startswith("Can I drop the strip()?")
    assert "Memories anchored at or near this location" in sent and LESSON in sent
    assert "app.py:4-7 (greet)" in sent

    open_doc(client, "app.py", APP)

    async def related() -> str:
        shown = await hover(client, "app.py", 3) or ""
        return shown if "**Related memories**" in shown else ""

    # the hover never searches inline: the first may come without them, a later one has them
    shown = await settled(client, related)
    assert LESSON in shown and "Can I drop the strip()?" in shown.split("Related memories")[1]
    assert re.search(r"— \*\d{4}-\d{2}-\d{2}, conversation\*", shown), "dated, with its source"


async def test_mirror_files_show_size_and_prompt_cost(client: LanguageClient) -> None:
    status = (await cmd(client, "lspAgent.status"))["data"]
    mirror = Path(status["memory_folder"]) / "notes.md"
    client.text_document_did_open(T.DidOpenTextDocumentParams(text_document=T.TextDocumentItem(
        uri=mirror.as_uri(), language_id="markdown", version=1, text=mirror.read_text())))
    got = await client.text_document_code_lens_async(T.CodeLensParams(
        text_document=T.TextDocumentIdentifier(uri=mirror.as_uri())))
    titles = [lens.command.title for lens in got or [] if lens.command]
    assert len(titles) == 1 and titles[0].startswith("notes: ") and "tokens in every prompt" \
        in titles[0]


def test_cli_remember_at_and_anchors(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "app.py").write_text(APP)
    env = {**ENV, "LSP_AGENT_HOME": str(tmp_path / "home")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "lsp_agent", *args, "--workspace", str(ws),
                               "--embedder", "none"], env=env, capture_output=True, text=True,
                              timeout=120, stdin=subprocess.DEVNULL)

    res = run("remember", "part doubles its input", "--at", "app.py:10")
    assert res.returncode == 0, res.stderr
    assert "Remembered at app.py:10-11 (part)" in res.stdout
    listed = run("anchors", "--json")
    rows = json.loads(listed.stdout)["anchors"]
    assert [(r["path"], r["symbol"], r["state"]) for r in rows] == [("app.py", "part", "ok")]
    res = run("remember", "x", "--at", "app.py:1", "--block", "notes")
    assert res.returncode == 2 and "not both" in res.stderr


async def test_the_agent_anchors_what_it_writes_and_moves_follow_the_code(
        client: LanguageClient) -> None:
    SCRIPT.write_text(json.dumps({"responses": [
        {"content": "", "tool_calls": [{"name": "memory_insert", "arguments": {
            "label": "notes", "new_string": "part() must stay pure: the cache relies on it",
            "at": "app.py:10-11"}}]},
        {"content": "Noted, and anchored to part().",
         "expect_last_tool_result_contains": "Anchored at app.py:10-11"}]}))
    got = await cmd(client, "lspAgent.ask", {"prompt": "remember that part is pure"})
    assert got["data"]["reply"] == "Noted, and anchored to part()."
    open_doc(client, "app.py", APP)
    shown = await hover(client, "app.py", 9) or ""
    assert "part() must stay pure" in shown and "`part`" in shown and "agent" in shown
    assert "notes.md" in shown, "a block's memory opens in its mirror file"

    # a rename outside the editor (git mv, a branch switch): a delete and a create, watched
    (WORKSPACE / "pkg").mkdir(exist_ok=True)
    (WORKSPACE / "app.py").rename(WORKSPACE / "pkg" / "tools.py")
    client.workspace_did_change_watched_files(T.DidChangeWatchedFilesParams(changes=[
        T.FileEvent(uri=uri("app.py"), type=T.FileChangeType.Deleted),
        T.FileEvent(uri=uri("pkg/tools.py"), type=T.FileChangeType.Created)]))
    row = await settled(client, lambda: stored(
        lambda a: a["memory_kind"] == "block" and a["path"] == "pkg/tools.py"))
    assert row is not None and row["state"] == "ok" and row["note"] == "moved from app.py"
    (WORKSPACE / "pkg" / "tools.py").rename(WORKSPACE / "app.py")


@pytest_lsp.fixture(config=CONFIG)
async def push_client(lsp_client: LanguageClient):
    """A client that cannot pull diagnostics: the server pushes them."""
    import attrs

    WORKSPACE.mkdir(parents=True, exist_ok=True)
    (WORKSPACE / "app.py").write_text(APP)
    caps = client_capabilities("visual-studio-code")
    caps = attrs.evolve(caps, text_document=attrs.evolve(caps.text_document, diagnostic=None))
    opts = {"store": str(ROOT / "store-push"), "embedder": "none", "trustWorkspace": True}
    await lsp_client.initialize_session(T.InitializeParams(
        capabilities=caps, root_uri=WORKSPACE.as_uri(),
        workspace_folders=[T.WorkspaceFolder(uri=WORKSPACE.as_uri(), name="ws")],
        initialization_options={"lspAgent": opts}))
    yield
    await lsp_client.shutdown_session()


async def test_clients_without_pull_get_diagnostics_pushed(push_client: LanguageClient) -> None:
    client = push_client

    @client.feature(T.WORKSPACE_CODE_LENS_REFRESH)
    def on_lens_refresh(_client: object, _params: object) -> None:
        return None

    await cmd(client, "lspAgent.remember", {"text": LESSON, "at": "app.py:4"})
    open_doc(client, "app.py", APP)
    broken = APP.replace('    message = "hello " + name\n    return message.strip()\n',
                         '    raise NotImplementedError\n')
    save(client, "app.py", broken, 2)

    async def pushed() -> list[T.Diagnostic]:
        return client.diagnostics.get(uri("app.py"), [])

    diags = await settled(client, pushed)
    assert len(diags) == 1 and LESSON in diags[0].message and diags[0].source == "lsp-agent"


async def test_a_file_whose_path_needs_quoting_shows_its_memories(client: LanguageClient) -> None:
    """Editors percent-encode URIs (a space is %20) and pygls keys open documents decoded:
    the unsaved text of `my app.py` must be found, or its hover and lens stay empty."""
    (WORKSPACE / "my app.py").write_text(APP)
    assert "%20" in uri("my app.py")
    await cmd(client, "lspAgent.remember", {"text": LESSON, "at": uri("my app.py") + ":4"})
    moved = "# two lines\n# added, not saved\n" + APP
    open_doc(client, "my app.py", moved)
    shown = await settled(client, lambda: hover(client, "my app.py", 5))
    assert shown is not None and LESSON in shown, "found through the unsaved buffer"
    assert await hover(client, "my app.py", 3) is None
    assert (5, "1 memory") in await lenses(client, "my app.py")
    raw = await client.text_document_code_lens_async(T.CodeLensParams(
        text_document=T.TextDocumentIdentifier(uri=uri("my app.py"))))
    lens = next(lens.command for lens in raw or [] if lens.command is not None)
    assert lens.arguments and lens.arguments[0]["workspace"] == str(WORKSPACE.resolve()), \
        "a lens names its folder: in a multi-root window it must not open the first folder's"
    listed = (await cmd(client, lens.command, lens.arguments[0]))["data"]["anchors"]
    assert [a["path"] for a in listed] == ["my app.py"] and listed[0]["lesson"] == LESSON
