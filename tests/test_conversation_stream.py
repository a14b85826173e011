"""The conversation views' protocol against a real server process: streamed events, inline
approvals, stopping a turn, paged history, rename / delete, slash commands (docs/protocol.md
"Events" and after). The model is the scripted litellm provider, streaming word by word."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as T
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

ROOT = Path(tempfile.mkdtemp(prefix="lsp-agent-stream-"))
WORKSPACE = ROOT / "ws"
SCRIPT = ROOT / "script.json"
ENV = {**os.environ, "LSP_AGENT_HOME": str(ROOT / "home"), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
CONFIG = ClientServerConfig(server_command=[sys.executable, "-m", "lsp_agent", "serve"],
                            server_env=ENV)


def write_script(*responses: dict[str, Any]) -> None:
    SCRIPT.write_text(json.dumps({"responses": list(responses)}))


def plain(obj: Any) -> Any:
    """pygls hands notification params over as named tuples: back to JSON-like values."""
    if hasattr(obj, "_asdict"):
        return {k: plain(v) for k, v in obj._asdict().items()}
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    return obj


class Events:
    """Every lspAgent/event the client saw, and an answer for inline approvals."""

    def __init__(self, client: LanguageClient) -> None:
        self.seen: list[dict[str, Any]] = []
        self.answer: str | None = "allow"
        self.dialogs: list[str] = []
        self.arrived = asyncio.Event()

        @client.feature("lspAgent/event")
        def on_event(_client: object, params: object) -> None:
            event = plain(params)
            self.seen.append(event)
            self.arrived.set()
            if event["type"] == "approval_request" and event["inline"] and self.answer:
                asyncio.ensure_future(cmd(client, "lspAgent.approve", {
                    "approval_id": event["approval_id"], "answer": self.answer}))

        @client.feature(T.WINDOW_SHOW_MESSAGE_REQUEST)
        def on_dialog(_client: object, params: T.ShowMessageRequestParams) -> T.MessageActionItem:
            self.dialogs.append(params.message)
            return T.MessageActionItem(title="Allow")

        @client.feature(T.WORKSPACE_APPLY_EDIT)
        def on_apply(_client: object,
                     params: T.ApplyWorkspaceEditParams) -> T.ApplyWorkspaceEditResult:
            for uri, edits in (params.edit.changes or {}).items():
                Path(uri.removeprefix("file://")).write_text(edits[0].new_text)
            for change in params.edit.document_changes or []:
                if isinstance(change, T.TextDocumentEdit):
                    Path(change.text_document.uri.removeprefix("file://")).write_text(
                        change.edits[0].new_text)
            return T.ApplyWorkspaceEditResult(applied=True)

    def of_turn(self, turn_id: str) -> list[dict[str, Any]]:
        return [e for e in self.seen if e.get("turn_id") == turn_id]


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    WORKSPACE.mkdir(parents=True, exist_ok=True)
    (WORKSPACE / "app.py").write_text("def greet(name):\n    return 'hello ' + name\n")
    lsp_client.events = Events(lsp_client)  # type: ignore[attr-defined]
    opts = {"model": f"scripted/{SCRIPT}", "store": str(ROOT / "store"), "embedder": "none",
            "permissionMode": "ask", "trustWorkspace": True}
    lsp_client.init_result = await lsp_client.initialize_session(T.InitializeParams(  # type: ignore[attr-defined]
        capabilities=client_capabilities("visual-studio-code"), root_uri=WORKSPACE.as_uri(),
        workspace_folders=[T.WorkspaceFolder(uri=WORKSPACE.as_uri(), name="ws")],
        initialization_options={"lspAgent": opts}))
    yield
    await lsp_client.shutdown_session()


async def cmd(client: LanguageClient, name: str, args: dict[str, Any] | None = None) -> Any:
    return await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command=name, arguments=[args or {}]))


async def test_a_turn_streams_typed_events_in_order(client: LanguageClient) -> None:
    events = client.events  # type: ignore[attr-defined]
    write_script(
        {"content": "I will note that you prefer tabs.", "tool_calls": [
            {"name": "memory_insert", "arguments": {"label": "human",
                                                    "new_string": "Prefers tabs."}}]},
        {"content": "Noted: tabs from now on, in every file."},
    )
    result = await cmd(client, "lspAgent.ask", {"prompt": "I prefer tabs.",
                                                "inline_approvals": True})
    data = result["data"]
    turn = events.of_turn(data["turn_id"])
    types = [e["type"] for e in turn]
    assert types[0] == "turn_start" and types[-1] == "done", types
    assert [e["seq"] for e in turn] == list(range(1, len(turn) + 1))
    assert {e["conversation_id"] for e in turn} == {data["conversation_id"]}
    assert all(e["workspace"] == str(WORKSPACE) for e in turn)
    # text arrives in pieces, before the tool call and before the final message
    first_call = types.index("tool_call")
    deltas_before = [e["text"] for e in turn[:first_call] if e["type"] == "text_delta"]
    assert len(deltas_before) >= 3 and "".join(deltas_before) == "I will note that you prefer tabs."
    final = [e["text"] for e in turn[first_call:] if e["type"] == "text_delta"]
    assert len(final) >= 3 and "".join(final) == data["reply"]
    call = turn[first_call]
    assert call["tool"] == "memory_insert" and call["arguments"]["label"] == "human"
    done_call = next(e for e in turn if e["type"] == "tool_result")
    assert done_call["call_id"] == call["call_id"] and done_call["ok"] is True
    change = next(e for e in turn if e["type"] == "memory_change")
    assert change["block"] == "human" and change["author"] == "agent" and change["version"] >= 1
    usages = [e for e in turn if e["type"] == "usage"]
    assert [u["step"] for u in usages] == [1, 2] and usages[-1]["prompt_tokens"] > 0
    assert types.index("message") < types.index("done")
    assert turn[-1]["stopped"] == "done" and turn[-1]["usage"]["steps"] == 2


async def test_inline_approval_allows_then_denies_an_edit(client: LanguageClient) -> None:
    events = client.events  # type: ignore[attr-defined]
    new_text = "def greet(name):\n    return f'hello {name}'\n"
    write_script(
        {"content": "", "tool_calls": [{"name": "write_file", "arguments": {
            "path": "app.py", "content": new_text}}]},
        {"content": "Rewritten with an f-string."},
        {"content": "", "tool_calls": [{"name": "write_file", "arguments": {
            "path": "app.py", "content": "broken"}}]},
        {"content": "Left it alone.", "expect_last_tool_result_contains": "refused"},
    )
    first = await cmd(client, "lspAgent.ask", {"prompt": "use an f-string",
                                               "inline_approvals": True})
    turn = events.of_turn(first["data"]["turn_id"])
    request = next(e for e in turn if e["type"] == "approval_request")
    assert request["inline"] is True and request["action"] == "Edit file"
    assert request["choices"] == ["allow", "always", "deny"]
    assert request["edit"]["path"] == "app.py" and request["edit"]["new_text"] == new_text
    answer = next(e for e in turn if e["type"] == "approval_result")
    assert answer["approval_id"] == request["approval_id"] and answer["allowed"] is True
    assert (WORKSPACE / "app.py").read_text() == new_text
    assert events.dialogs == [], "inline approvals never open a dialog"

    events.answer = "deny"
    second = await cmd(client, "lspAgent.ask", {"prompt": "break it", "inline_approvals": True})
    assert second["data"]["reply"] == "Left it alone."
    turn = events.of_turn(second["data"]["turn_id"])
    assert next(e for e in turn if e["type"] == "approval_result")["allowed"] is False
    assert next(e for e in turn if e["type"] == "tool_result")["ok"] is False
    assert (WORKSPACE / "app.py").read_text() == new_text


async def test_without_inline_approvals_the_dialog_asks_and_events_say_so(
        client: LanguageClient) -> None:
    events = client.events  # type: ignore[attr-defined]
    write_script({"content": "", "tool_calls": [{"name": "write_file", "arguments": {
        "path": "notes.txt", "content": "x\n"}}]}, {"content": "Written."})
    result = await cmd(client, "lspAgent.ask", {"prompt": "write notes"})
    turn = events.of_turn(result["data"]["turn_id"])
    assert len(events.dialogs) == 1 and "notes.txt" in events.dialogs[0]
    request = next(e for e in turn if e["type"] == "approval_request")
    assert request["inline"] is False
    assert next(e for e in turn if e["type"] == "approval_result")["allowed"] is True


async def test_stopping_a_turn_keeps_what_was_streamed(client: LanguageClient) -> None:
    events = client.events  # type: ignore[attr-defined]
    words = " ".join(f"word{i}" for i in range(200))
    write_script({"content": words, "delay_ms": 30})
    task = asyncio.ensure_future(client.protocol.send_request_async(
        T.WORKSPACE_EXECUTE_COMMAND, T.ExecuteCommandParams(
            command="lspAgent.ask", arguments=[{"prompt": "talk a lot"}]), msg_id="stop-me"))
    for _ in range(200):
        if sum(e["type"] == "text_delta" for e in events.seen) >= 3:
            break
        await asyncio.sleep(0.05)
    client.protocol.notify(T.CANCEL_REQUEST, T.CancelParams(id="stop-me"))  # a stop button
    with pytest.raises(JsonRpcException, match="cancel"):
        await asyncio.wait_for(task, 15)
    for _ in range(100):
        if events.seen and events.seen[-1]["type"] == "done":
            break
        await asyncio.sleep(0.05)
    last = events.seen[-1]
    assert last["type"] == "done" and last["stopped"] == "cancelled"
    assert last["text"].startswith("word0 word1 word2") and "(stopped by the user)" in last["text"]
    assert len(last["text"]) < len(words), "the turn stopped before the model finished"
    page = (await cmd(client, "lspAgent.conversation.history", {"limit": 2}))["data"]
    assert page["messages"][-1]["role"] == "assistant"
    assert page["messages"][-1]["content"].endswith("(stopped by the user)")
    assert page["messages"][-2]["content"] == "talk a lot"
    with pytest.raises(JsonRpcException, match="No approval"):
        await cmd(client, "lspAgent.approve", {"approval_id": "nope", "answer": "allow"})


async def test_history_pages_rename_and_delete(client: LanguageClient) -> None:
    write_script(*({"content": f"answer {i}"} for i in range(5)))
    new = (await cmd(client, "lspAgent.conversation.new", {"title": "paging"}))["data"]
    cid = new["conversation"]["id"]
    for i in range(5):
        await cmd(client, "lspAgent.ask", {"prompt": f"question {i}", "conversation_id": cid})
    page = (await cmd(client, "lspAgent.conversation.history", {"id": cid, "limit": 4}))["data"]
    assert [m["content"] for m in page["messages"]] == ["question 3", "answer 3", "question 4",
                                                        "answer 4"]
    assert page["has_more"] is True and page["conversation"]["messages"] == 10
    older = (await cmd(client, "lspAgent.conversation.history",
                       {"id": cid, "limit": 4, "before": page["before"]}))["data"]
    assert [m["content"] for m in older["messages"]] == ["question 1", "answer 1", "question 2",
                                                         "answer 2"]
    rest = (await cmd(client, "lspAgent.conversation.history",
                      {"id": cid, "limit": 4, "before": older["before"]}))["data"]
    assert [m["content"] for m in rest["messages"]] == ["question 0", "answer 0"]
    assert rest["has_more"] is False and rest["before"] is None

    renamed = (await cmd(client, "lspAgent.conversation.rename",
                         {"id": cid[:6], "title": "Tabs and paging"}))["data"]
    assert renamed["conversation"]["title"] == "Tabs and paging"
    gone = (await cmd(client, "lspAgent.conversation.delete", {"id": cid, "yes": True}))["data"]
    assert gone["deleted"]["id"] == cid
    listed = (await cmd(client, "lspAgent.conversation.list"))["data"]
    assert cid not in {c["id"] for c in listed["conversations"]} and listed["active"] is None
    hits = (await cmd(client, "lspAgent.search", {"query": "question", "kind": "messages",
                                                 "mode": "text"}))["data"]["results"]
    assert not [h for h in hits if h.get("conversation_id") == cid]


async def test_slash_commands_run_on_the_server(client: LanguageClient) -> None:
    caps = client.init_result.capabilities  # type: ignore[attr-defined]
    slashes = {s["name"] for s in caps.experimental["lspAgent"]["slashCommands"]}
    assert {"init", "remember", "search", "skill", "reflect", "memory", "new", "fork",
            "help"} <= slashes
    # one script for the whole server: /remember asks the model where the lesson goes
    write_script({"content": "notes"}, {"content": "You asked about /etc."})
    got = (await cmd(client, "lspAgent.ask", {"prompt": "/remember Run tests with pytest -q"}))
    assert got["data"]["slash"] == "remember" and got["data"]["result"]["block"] == "notes"
    shown = (await cmd(client, "lspAgent.ask", {"prompt": "/memory notes"}))["data"]
    assert "Run tests with pytest -q" in shown["result"]["blocks"][0]["value"]
    before = (await cmd(client, "lspAgent.conversation.list"))["data"]["active"]
    new = (await cmd(client, "lspAgent.ask", {"prompt": "/new Slash chat"}))["data"]
    assert new["slash"] == "new" and new["conversation_id"] != before
    assert new["result"]["conversation"]["title"] == "Slash chat"
    helped = await cmd(client, "lspAgent.ask", {"prompt": "/help"})
    assert "/search QUERY" in helped["markdown"]
    with pytest.raises(JsonRpcException, match=r"Usage: /search QUERY"):
        await cmd(client, "lspAgent.ask", {"prompt": "/search"})
    with pytest.raises(JsonRpcException, match=r"no command /frobnicate; /help"):
        await cmd(client, "lspAgent.ask", {"prompt": "/frobnicate now"})
    plain = (await cmd(client, "lspAgent.ask", {"prompt": "//etc is where?"}))["data"]
    assert plain["reply"] == "You asked about /etc."
    page = (await cmd(client, "lspAgent.conversation.history", {}))["data"]
    assert [m["content"] for m in page["messages"]] == ["/etc is where?",
                                                        "You asked about /etc."]
