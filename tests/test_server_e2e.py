"""The language server end to end over stdio, driven by a real LSP client (pytest-lsp).

The agent's model is the scripted litellm provider, so every ask goes through litellm.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

ROOT = Path(tempfile.mkdtemp(prefix="lsp-agent-e2e-"))
WORKSPACE = ROOT / "ws"
STORE = ROOT / "store"
SCRIPT = ROOT / "script.json"
OUTSIDE = ROOT / "outside.txt"
ENV = {**os.environ, "LSP_AGENT_HOME": str(ROOT / "home"), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
SERVER = [sys.executable, "-m", "lsp_agent", "serve"]


def write_script(*responses: dict) -> None:
    SCRIPT.write_text(json.dumps({"responses": list(responses)}))


def setup_module() -> None:
    WORKSPACE.mkdir(parents=True, exist_ok=True)
    (WORKSPACE / "app.py").write_text("def greet(name):\n    return f'hello {name}'\n")
    OUTSIDE.write_text("secret outside the workspace\n")
    link = WORKSPACE / "escape.txt"
    if not link.exists():
        link.symlink_to(OUTSIDE)


def init_params(**options: object) -> T.InitializeParams:
    setup_module()
    opts = {"model": f"scripted/{SCRIPT}", "store": str(STORE), "embedder": "none",
            "permissionMode": "ask", "trustWorkspace": True, **options}
    return T.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=WORKSPACE.as_uri(),
        workspace_folders=[T.WorkspaceFolder(uri=WORKSPACE.as_uri(), name="ws")],
        initialization_options={"lspAgent": opts},
    )


CONFIG = ClientServerConfig(server_command=SERVER, server_env=ENV)


def as_dict(obj: object) -> dict:
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "_asdict"):
        return {k: as_dict(v) if hasattr(v, "_asdict") else v for k, v in obj._asdict().items()}
    return dict(vars(obj))


class Recorder:
    """What the client saw: events, approvals asked, edits proposed; and what it answers."""

    def __init__(self, client: LanguageClient) -> None:
        self.events: list[dict] = []
        self.approvals: list[str] = []
        self.edits: list[T.ApplyWorkspaceEditParams] = []
        self.approve = "Allow"
        self.apply = True

        @client.feature("lspAgent/event")
        def on_event(_client: object, params: object) -> None:
            self.events.append(as_dict(params))

        @client.feature(T.WINDOW_SHOW_MESSAGE_REQUEST)
        def on_request(_client: object, params: T.ShowMessageRequestParams) -> T.MessageActionItem | None:
            self.approvals.append(params.message)
            return T.MessageActionItem(title=self.approve) if self.approve else None

        @client.feature(T.WORKSPACE_CODE_LENS_REFRESH)
        def on_lens_refresh(_client: object, _params: object) -> None:
            return None  # anchored memories changed: an editor asks for its lenses again

        @client.feature(T.WORKSPACE_APPLY_EDIT)
        def on_apply(_client: object, params: T.ApplyWorkspaceEditParams) -> T.ApplyWorkspaceEditResult:
            self.edits.append(params)
            if self.apply:
                for uri, edits in (params.edit.changes or {}).items():
                    Path(uri.removeprefix("file://")).write_text(edits[0].new_text)
                for change in params.edit.document_changes or []:
                    if isinstance(change, T.TextDocumentEdit):
                        path = Path(change.text_document.uri.removeprefix("file://"))
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_text(change.edits[0].new_text)
            return T.ApplyWorkspaceEditResult(applied=self.apply)


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    lsp_client.recorder = Recorder(lsp_client)  # type: ignore[attr-defined]
    lsp_client.init_result = await lsp_client.initialize_session(init_params())  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def cmd(client: LanguageClient, name: str, args: dict | None = None) -> dict:
    return await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command=name, arguments=[args or {}]))


async def test_capabilities_list_every_command(client: LanguageClient) -> None:
    caps = client.init_result.capabilities  # type: ignore[attr-defined]
    commands = set(caps.execute_command_provider.commands)
    assert {"lspAgent.ask", "lspAgent.remember", "lspAgent.memory.revert",
            "lspAgent.conversation.fork", "lspAgent.status"} <= commands
    assert caps.code_action_provider.resolve_provider is True


async def test_ask_edits_memory_and_streams_progress_and_events(client: LanguageClient) -> None:
    rec = client.recorder  # type: ignore[attr-defined]
    write_script(
        {"content": "Noting your preference.", "tool_calls": [{"name": "memory_insert", "arguments": {
            "label": "human", "new_string": "Prefers tabs over spaces."}}]},
        {"content": "I will use tabs.", "expect_last_tool_result_contains": "updated"},
    )
    result = await cmd(client, "lspAgent.ask", {"prompt": "I prefer tabs."})
    assert result["ok"] and result["data"]["reply"] == "I will use tabs."
    assert result["data"]["steps"] == 2
    types = [e["type"] for e in rec.events]
    assert "tool_call" in types and "tool_result" in types and types[-1] == "done"
    reports = [r for rs in client.progress_reports.values() for r in rs]
    kinds = [type(r).__name__ for r in reports]
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"
    shown = await cmd(client, "lspAgent.memory.show", {"label": "human"})
    assert "Prefers tabs over spaces." in shown["data"]["blocks"][0]["value"]
    history = await cmd(client, "lspAgent.memory.history", {"label": "human"})
    assert history["data"]["versions"][-1]["author"] == "agent"


async def test_memory_replace_by_the_agent_survives_a_server_restart() -> None:
    write_script(
        {"content": "", "tool_calls": [{"name": "memory_replace", "arguments": {
            "label": "persona", "old_string": "ask before risky actions",
            "new_string": "ask before risky actions, and answer in French"}}]},
        {"content": "D'accord."},
    )
    for round_ in (1, 2):
        c = await CONFIG.start()
        Recorder(c)
        try:
            await c.initialize_session(init_params())
            if round_ == 1:
                result = await cmd(c, "lspAgent.ask", {"prompt": "Answer in French from now on"})
                assert result["data"]["reply"] == "D'accord."
            shown = await cmd(c, "lspAgent.memory.show", {"label": "persona"})
            assert "answer in French" in shown["data"]["blocks"][0]["value"]
            convs = await cmd(c, "lspAgent.conversation.list")
            assert convs["data"]["conversations"][0]["messages"] >= 3
        finally:
            await c.shutdown_session()
            await c.stop()


async def test_edit_goes_through_apply_edit_and_refusal_is_respected(
        client: LanguageClient) -> None:
    rec = client.recorder  # type: ignore[attr-defined]
    write_script(
        {"content": "", "tool_calls": [{"name": "edit_file", "arguments": {
            "path": "app.py", "old_string": "hello", "new_string": "hi"}}]},
        {"content": "Edited."},
        {"content": "", "tool_calls": [{"name": "edit_file", "arguments": {
            "path": "app.py", "old_string": "hi", "new_string": "bye"}}]},
        {"content": "Refused.", "expect_last_tool_result_contains": "did not apply"},
    )
    await cmd(client, "lspAgent.ask", {"prompt": "say hi instead"})
    assert len(rec.edits) == 1 and "hi {name}" in (WORKSPACE / "app.py").read_text()
    rec.apply = False
    result = await cmd(client, "lspAgent.ask", {"prompt": "say bye"})
    assert "hi {name}" in (WORKSPACE / "app.py").read_text()
    assert result["data"]["reply"] == "Refused."
    rec.apply = True


async def test_shell_waits_for_approval(client: LanguageClient) -> None:
    rec = client.recorder  # type: ignore[attr-defined]
    write_script(
        {"content": "", "tool_calls": [{"name": "run_command", "arguments": {"command": "echo ran-it"}}]},
        {"content": "ok", "expect_last_tool_result_contains": "ran-it"},
        {"content": "", "tool_calls": [{"name": "run_command", "arguments": {"command": "echo nope"}}]},
        {"content": "denied", "expect_last_tool_result_contains": "refused"},
    )
    result = await cmd(client, "lspAgent.ask", {"prompt": "run it"})
    assert rec.approvals and "echo ran-it" in rec.approvals[-1]
    assert result["data"]["reply"] == "ok"
    rec.approve = "Deny"
    result = await cmd(client, "lspAgent.ask", {"prompt": "run again"})
    assert result["data"]["reply"] == "denied"
    rec.approve = "Allow"


async def test_file_tools_refuse_escapes(client: LanguageClient) -> None:
    write_script(
        {"content": "", "tool_calls": [{"name": "read_file", "arguments": {"path": "../outside.txt"}}]},
        {"content": "", "tool_calls": [{"name": "read_file", "arguments": {"path": "escape.txt"}}]},
        {"content": "done"},
    )
    result = await cmd(client, "lspAgent.ask", {"prompt": "read outside"})
    outputs = [c["result"] for c in result["data"]["tool_calls"]]
    assert len(outputs) == 2
    assert all("outside the workspace" in o for o in outputs)
    assert not any("secret outside" in o for o in outputs)


async def test_bad_arguments_and_unknown_commands_keep_the_server_serving(
        client: LanguageClient) -> None:
    with pytest.raises(Exception, match="query"):
        await cmd(client, "lspAgent.search", {"kind": "code"})
    with pytest.raises(Exception, match="version"):
        await cmd(client, "lspAgent.memory.revert", {"label": "human", "version": "x"})
    with pytest.raises(Exception, match="not defined"):
        await cmd(client, "lspAgent.nope")
    with pytest.raises(Exception, match="No memory block"):
        await cmd(client, "lspAgent.memory.history", {"label": "missing"})
    status = await cmd(client, "lspAgent.status")
    assert status["ok"] and status["data"]["state"] == "idle"


async def test_code_actions_resolve_to_commands(client: LanguageClient) -> None:
    uri = (WORKSPACE / "app.py").as_uri()
    client.text_document_did_open(T.DidOpenTextDocumentParams(T.TextDocumentItem(
        uri=uri, language_id="python", version=1, text=(WORKSPACE / "app.py").read_text())))
    actions = await client.text_document_code_action_async(T.CodeActionParams(
        text_document=T.TextDocumentIdentifier(uri=uri),
        range=T.Range(T.Position(0, 4), T.Position(0, 9)),
        context=T.CodeActionContext(diagnostics=[])))
    titles = [a.title for a in actions]
    assert "Remember this" in titles and "Search memory for greet" in titles
    assert all(a.command is None for a in actions)  # cheap: work happens in resolve
    on_def = await client.text_document_code_action_async(T.CodeActionParams(
        text_document=T.TextDocumentIdentifier(uri=uri),
        range=T.Range(T.Position(0, 1), T.Position(0, 1)),  # the cursor on `def`
        context=T.CodeActionContext(diagnostics=[])))
    assert "Search memory for greet" in [a.title for a in on_def or []], "not for `def`"
    remember = next(a for a in actions if a.title == "Remember this")
    resolved = await client.code_action_resolve_async(remember)
    assert resolved.command.command == "lspAgent.remember"
    args = resolved.command.arguments[0]
    assert args["text"] == "greet" and args["at"] == f"{WORKSPACE / 'app.py'}:1"
    # the editor asks for the lesson (VS Code, Neovim), then runs the command with it
    result = await cmd(client, resolved.command.command,
                       {**args, "text": "greet() in app.py builds the greeting."})
    assert result["data"]["mode"] == "anchored" and result["data"]["anchor"]["symbol"] == "greet"
    shown = await cmd(client, "lspAgent.archival.show", {"id": result["data"]["passage_id"]})
    assert shown["data"]["content"] == "greet() in app.py builds the greeting."
    assert shown["data"]["anchors"][0]["path"] == "app.py"
    assert "Anchored memories" in shown["markdown"] and "app.py:1 greet" in shown["markdown"]


async def test_learn_skill_is_proposed_as_an_edit(client: LanguageClient) -> None:
    rec = client.recorder  # type: ignore[attr-defined]
    write_script({"content": "", "tool_calls": [{"name": "propose_skill", "arguments": {
        "name": "greet-users", "description": "How greetings are built here; use when "
        "changing greet().", "body": "1. Edit greet() in app.py.\n2. Run the tests."}}]})
    rec.edits.clear()
    result = await cmd(client, "lspAgent.learnSkill", {"text": "We changed greet() to say hi."})
    assert result["data"]["applied"] and result["data"]["name"] == "greet-users"
    assert len(rec.edits) == 1
    skill = WORKSPACE / ".agents" / "skills" / "greet-users" / "SKILL.md"
    assert "name: greet-users" in skill.read_text()
    found = await cmd(client, "lspAgent.search", {"query": "greetings", "kind": "skills"})
    assert found["data"]["results"][0]["location"]["uri"] == skill.as_uri()


async def test_bad_configuration_is_reported_and_defaults_used() -> None:
    c = await CONFIG.start()
    Recorder(c)
    try:
        await c.initialize_session(init_params(maxSteps="lots", permissionMode="yolo"))
        for _ in range(100):  # both warnings, as separate notifications
            text = " ".join(m.message for m in c.messages)
            if "maxSteps" in text and "permissionMode" in text:
                break
            await asyncio.sleep(0.1)
        assert "maxSteps" in text and "permissionMode" in text
        status = await cmd(c, "lspAgent.status")
        assert status["data"]["permission_mode"] == "ask"
    finally:
        await c.shutdown_session()
        await c.stop()


async def test_progress_cancel_stops_the_work_and_answers(client: LanguageClient) -> None:
    write_script(
        {"content": "", "tool_calls": [{"name": "run_command", "arguments": {
            "command": "sleep 30 && echo finished > never.txt", "timeout_seconds": 60}}]},
        {"content": "should not get here"},
    )
    before = set(client.progress_reports)
    started = asyncio.get_running_loop().time()
    fut = asyncio.ensure_future(client.protocol.send_request_async(
        T.WORKSPACE_EXECUTE_COMMAND, T.ExecuteCommandParams(
            command="lspAgent.ask", arguments=[{"prompt": "run the slow thing"}])))
    token = None
    for _ in range(200):  # wait until the command is running the shell tool
        new = set(client.progress_reports) - before
        events = [e for e in client.recorder.events if e.get("type") == "tool_call"]  # type: ignore[attr-defined]
        if new and events and events[-1].get("tool") == "run_command":
            token = new.pop()
            break
        await asyncio.sleep(0.1)
    assert token is not None
    await asyncio.sleep(1.0)
    client.protocol.notify(T.WINDOW_WORK_DONE_PROGRESS_CANCEL,
                           T.WorkDoneProgressCancelParams(token=token))
    with pytest.raises(Exception, match="cancelled"):
        await asyncio.wait_for(fut, 15)
    assert asyncio.get_running_loop().time() - started < 20
    await asyncio.sleep(0.5)
    status = await cmd(client, "lspAgent.status")
    assert status["data"]["state"] == "idle"
    assert not (WORKSPACE / "never.txt").exists()
