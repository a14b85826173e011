"""Tool safety through a real server process: a runaway grep and a protected write.

The scripted litellm model makes the tool calls, a pytest-lsp client plays the editor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from lsprotocol import types as T
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

SERVER = [sys.executable, "-m", "lsp_agent", "serve"]
CATASTROPHIC = r"(a|aa)+$"  # backtracks for minutes with re, about a second with regex


@contextlib.asynccontextmanager
async def server(mode: str) -> AsyncIterator[tuple[LanguageClient, Path, dict]]:
    """A server on a fresh workspace; `seen` collects the approvals asked and events sent."""
    root = Path(tempfile.mkdtemp(prefix="lsp-agent-safety-"))
    ws, script = root / "ws", root / "script.json"
    (ws / ".git").mkdir(parents=True)
    (ws / ".git/config").write_text("[core]\n\tbare = false\n")
    (ws / "big.txt").write_text("hello\n" + "a" * 48 + "!\n")
    env = {**os.environ, "LSP_AGENT_HOME": str(root / "home"),
           "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    client = await ClientServerConfig(server_command=SERVER, server_env=env).start()
    seen: dict = {"approvals": [], "events": [], "script": script}

    @client.feature(T.WINDOW_SHOW_MESSAGE_REQUEST)
    def on_request(_c: object, params: T.ShowMessageRequestParams) -> T.MessageActionItem:
        seen["approvals"].append(params)
        return T.MessageActionItem(title="Deny")

    @client.feature("lspAgent/event")
    def on_event(_c: object, params: object) -> None:
        kind = params.get("type") if isinstance(params, dict) else getattr(params, "type", None)
        seen["events"].append(kind)

    opts = {"model": f"scripted/{script}", "store": str(root / "store"), "embedder": "none",
            "permissionMode": mode}
    try:
        await client.initialize_session(T.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"), root_uri=ws.as_uri(),
            workspace_folders=[T.WorkspaceFolder(uri=ws.as_uri(), name="ws")],
            initialization_options={"lspAgent": opts}))
        yield client, ws, seen
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.shutdown_session(), 10)
        process = client._server  # a server stuck in a regex never exits: end it
        if process is not None:
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
        await client.stop()


def script(seen: dict, *responses: dict) -> None:
    """Add model responses: the server's scripted model keeps its place in the script."""
    seen.setdefault("responses", []).extend(responses)
    seen["script"].write_text(json.dumps({"responses": seen["responses"]}))


def command(client: LanguageClient, name: str, args: dict,
            msg_id: str | None = None) -> asyncio.Future:
    """workspace/executeCommand, sent now (a task), answered when awaited."""
    return asyncio.ensure_future(client.protocol.send_request_async(
        T.WORKSPACE_EXECUTE_COMMAND, T.ExecuteCommandParams(command=name, arguments=[args]),
        msg_id=msg_id))


async def until_grep_runs(seen: dict) -> None:
    while "tool_call" not in seen["events"]:
        await asyncio.sleep(0.01)


async def test_a_runaway_grep_leaves_the_server_responsive_and_cancellable() -> None:
    async with server("ask") as (client, _ws, seen):
        await asyncio.wait_for(command(client, "lspAgent.status", {}), 60)  # warm the agent
        grep = {"name": "grep", "arguments": {"pattern": CATASTROPHIC}}
        script(seen, {"content": "", "tool_calls": [grep]},
               {"content": "gave up", "expect_last_tool_result_contains": "backtracks"})
        ask = command(client, "lspAgent.ask", {"prompt": "find the a's"})
        await asyncio.wait_for(until_grep_runs(seen), 30)
        status = await asyncio.wait_for(command(client, "lspAgent.status", {}), 10)
        # before: status waited for re to give up, minutes later; now it is answered while the
        # grep is still matching (its result is sent after a second of matching)
        assert status["ok"] and "tool_result" not in seen["events"]
        result = await asyncio.wait_for(ask, 30)
        assert result["data"]["reply"] == "gave up"
        assert "took more than 1 s on one line" in result["data"]["tool_calls"][0]["result"]

        # $/cancelRequest stops an ask stuck in grep: had it waited for the grep to give up,
        # the ask would have gone on to its next step and answered "unreachable"
        seen["events"].clear()
        script(seen, {"content": "", "tool_calls": [grep]}, {"content": "unreachable"})
        ask = command(client, "lspAgent.ask", {"prompt": "again"}, msg_id="ask-2")
        await asyncio.wait_for(until_grep_runs(seen), 30)
        client.protocol.notify(T.CANCEL_REQUEST, T.CancelParams(id="ask-2"))
        with pytest.raises(JsonRpcRequestCancelled):
            await asyncio.wait_for(ask, 5)
        status = await asyncio.wait_for(command(client, "lspAgent.status", {}), 5)
        assert status["ok"]


async def test_accept_edits_cannot_write_git_config_without_asking() -> None:
    async with server("accept-edits") as (client, ws, seen):
        payload = "[core]\n\tfsmonitor = touch pwned\n"
        script(seen, {"content": "", "tool_calls": [{"name": "write_file", "arguments": {
            "path": ".git/config", "content": payload}}]},
               {"content": "asked", "expect_last_tool_result_contains": "explicit approval"})
        result = await asyncio.wait_for(command(client, "lspAgent.ask", {"prompt": "go"}), 60)
        assert result["data"]["reply"] == "asked"
        assert (ws / ".git/config").read_text() == "[core]\n\tbare = false\n"
        [asked] = seen["approvals"]
        assert "writes .git/config: git runs commands from it" in asked.message
        assert [a.title for a in asked.actions] == ["Allow", "Deny"]
