"""`lsp-agent acp`: slash commands of the registry, an MCP server's tool (a real one, started
by the agent from `session/new`), the client's terminal, session modes, and bad input that
gets JSON-RPC errors while the process lives on."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from acp import PROTOCOL_VERSION, RequestError, image_block, text_block
from acp.schema import ClientCapabilities, McpServerStdio

from tests.acp_face.harness import (
    ROOT,
    RecordingClient,
    agent_env,
    open_session,
    running_agent,
    script,
    validate,
)


async def _error_of(call: Any) -> RequestError:
    try:
        await call
    except RequestError as exc:
        return exc
    raise AssertionError("the request succeeded")


async def test_slash_commands_run_through_the_registry(tmp_path: Path, workspace: Path,
                                                       home: Path) -> None:
    model = script(tmp_path,
                   {"content": "Filing it.", "tool_calls": [{"name": "memory_insert",
                    "arguments": {"label": "project", "new_string": "Indent with tabs."}}]},
                   {"content": "Filed under project."})
    client = RecordingClient()
    async with running_agent(client, workspace, home, "--model", model) as (conn, _p, _c):
        sid = await open_session(conn, workspace)
        done = await conn.prompt(session_id=sid, prompt=[text_block("/remember use tabs")])
        assert done.stop_reason == "end_turn"
        rows = [u for u in client.of("tool_call") if u.title.startswith("Memory:")]
        assert rows and "'project'" in rows[0].title  # the memory edit shows in the session
        shown_from = len(client.text(sid))
        await conn.prompt(session_id=sid, prompt=[text_block("/memory project")])
        assert "Indent with tabs." in client.text(sid)[shown_from:]
        mark = len(client.text(sid))
        await conn.prompt(session_id=sid, prompt=[text_block("/nope")])
        assert "/help" in client.text(sid)[mark:]  # a sentence, not a protocol error
        mark = len(client.text(sid))
        await conn.prompt(session_id=sid, prompt=[text_block("/new")])
        assert "your editor" in client.text(sid)[mark:]


async def test_an_mcp_server_from_session_new_offers_its_tool_behind_approval(
        tmp_path: Path, workspace: Path, home: Path) -> None:
    model = script(
        tmp_path,
        {"content": "Asking the server.", "tool_calls": [{"name": "mcp__fixture__shout",
                                                          "arguments": {"text": "hi"}}]},
        {"content": "It answered.",
         "expect_last_tool_result_contains": "HI (from the fixture MCP server)",
         "tool_calls": [{"name": "mcp__fixture__shout", "arguments": {"text": "again"}}]},
        {"content": "Refused, fine.", "expect_last_tool_result_contains": "refused"})
    server = McpServerStdio(name="fixture", command=sys.executable,
                            args=[str(ROOT / "tests" / "mcp_fixture_server.py")], env=[])
    client = RecordingClient()
    client.answers = ["allow_once", "reject_once"]
    async with running_agent(client, workspace, home, "--model", model) as (conn, _p, _c):
        sid = await open_session(conn, workspace, [server])
        await conn.prompt(session_id=sid, prompt=[text_block("shout hi")])
    assert client.text(sid).endswith("It answered.Refused, fine.")
    assert len(client.permission_requests) == 2
    assert "MCP tool fixture/shout" in client.permission_requests[0][0].title
    calls = client.of("tool_call")
    assert [c.raw_input for c in calls] == [{"text": "hi"}, {"text": "again"}]
    ends = [u for u in client.of("tool_call_update") if u.status]
    assert [u.status for u in ends] == ["completed", "failed"]
    assert "HI (from the fixture MCP server)" in ends[0].content[0].content.text


async def test_commands_run_in_the_clients_terminal_and_modes_switch(
        tmp_path: Path, workspace: Path, home: Path) -> None:
    model = script(
        tmp_path,
        {"content": "", "tool_calls": [{"name": "run_command",
                                        "arguments": {"command": "echo from-terminal"}}]},
        {"content": "Ran it.", "expect_last_tool_result_contains": "from-terminal",
         "tool_calls": [{"name": "run_command", "arguments": {"command": "echo again"}}]},
        {"content": "Twice.", "expect_last_tool_result_contains": "again"},
        {"content": "", "tool_calls": [{"name": "write_file", "arguments": {
            "path": "b.txt", "content": "new\n"}}]},
        {"content": "Wrote it without asking."})
    client = RecordingClient()
    client.answers = ["allow_always"]  # the second command does not ask again
    caps = ClientCapabilities(terminal=True)
    async with running_agent(client, workspace, home, "--model", model) as (conn, _p, _c):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=caps)
        sid = (await conn.new_session(cwd=str(workspace), mcp_servers=[])).session_id
        await conn.prompt(session_id=sid, prompt=[text_block("run echo")])
        assert client.text(sid) == "Ran it.Twice."
        assert len(client.permission_requests) == 1
        assert set(client.terminal_out) == {"t1", "t2"}  # the client's terminal ran them
        refs = [c for u in client.of("tool_call_update") for c in u.content or ()
                if c.type == "terminal"]
        assert refs and refs[0].terminal_id == "t1"

        auto = await _error_of(conn.set_session_mode(session_id=sid, mode_id="auto"))
        assert "trusted" in str(auto)
        bogus = await _error_of(conn.set_session_mode(session_id=sid, mode_id="yolo"))
        assert "ask, accept-edits, auto" in str(bogus)
        await conn.set_session_mode(session_id=sid, mode_id="accept-edits")
        await conn.prompt(session_id=sid, prompt=[text_block("write b")])
    assert len(client.permission_requests) == 1  # nor did the edit, in accept-edits
    assert (workspace / "b.txt").read_text() == "new\n"  # no fs capability: the disk


async def test_bad_input_gets_errors_and_the_process_lives_on(workspace: Path,
                                                              home: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lsp_agent", "acp", cwd=workspace, env=agent_env(home),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert proc.stdin and proc.stdout and proc.stderr

    async def send(line: str) -> None:
        proc.stdin.write(line.encode() + b"\n")  # type: ignore[union-attr]
        await proc.stdin.drain()  # type: ignore[union-attr]

    async def answer() -> dict[str, Any]:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)  # type: ignore[union-attr]
        assert line, "the agent closed its output"
        message: dict[str, Any] = json.loads(line)
        if "error" in message:
            validate("Error", message["error"])
        return message

    def request(msg_id: int, method: str, params: dict[str, Any]) -> str:
        return json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})

    try:
        await send("this is not json")
        got = await answer()
        assert got["id"] is None and got["error"]["code"] == -32700
        await send("[1, 2]")
        assert (await answer())["error"]["code"] == -32600
        await send('{"jsonrpc": "2.0", "id": 3, "method": 7}')
        got = await answer()
        assert got["id"] == 3 and got["error"]["code"] == -32600
        await send(request(4, "nope/what", {}))
        got = await answer()
        assert got["id"] == 4 and got["error"]["code"] == -32601
        await send(request(5, "initialize", {"protocolVersion": PROTOCOL_VERSION}))
        assert (await answer())["result"]["protocolVersion"] == PROTOCOL_VERSION
        await send(request(6, "session/new", {"cwd": "relative/dir", "mcpServers": []}))
        got = await answer()
        assert got["error"]["code"] == -32602 and "absolute path" in got["error"]["message"]
        await send(request(7, "session/new", {"cwd": str(workspace), "mcpServers": []}))
        sid = (await answer())["result"]["sessionId"]
        image = image_block("aGk=", "image/png").model_dump(by_alias=True, exclude_none=True)
        await send(request(8, "session/prompt", {"sessionId": sid, "prompt": [image]}))
        got = await _skip_updates(answer)
        assert got["id"] == 8 and got["error"]["code"] == -32602
        assert "text prompts" in got["error"]["message"]
        await send(request(9, "session/prompt", {"sessionId": "nope", "prompt": [
            text_block("hi").model_dump(by_alias=True)]}))
        got = await _skip_updates(answer)
        assert got["error"]["code"] == -32602 and "session/new" in got["error"]["message"]
        await send(json.dumps({"jsonrpc": "2.0", "method": "session/cancel",
                               "params": {"sessionId": "unknown"}}))
        await send(request(10, "session/list", {"cwd": str(workspace)}))
        got = await _skip_updates(answer)
        assert got["id"] == 10 and sid in [s["sessionId"] for s in got["result"]["sessions"]]
        assert proc.returncode is None
    finally:
        proc.stdin.close()
        await asyncio.wait_for(proc.wait(), 60)
    err = (await proc.stderr.read()).decode()
    assert "Traceback" not in err, err


async def _skip_updates(answer: Any) -> dict[str, Any]:
    while True:
        got: dict[str, Any] = await answer()
        if got.get("method") != "session/update":
            return got


async def test_an_http_mcp_server_with_headers_is_used_too(tmp_path: Path, workspace: Path,
                                                           home: Path) -> None:
    import socket

    from acp.schema import HttpHeader, HttpMcpServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    web = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "tests" / "mcp_fixture_server.py"), "--http", str(port),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        for _ in range(300):  # until it listens
            try:
                _r, w = await asyncio.open_connection("127.0.0.1", port)
                w.close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        model = script(tmp_path,
                       {"content": "", "tool_calls": [{"name": "mcp__web__shout",
                                                       "arguments": {"text": "over http"}}]},
                       {"content": "Heard it.",
                        "expect_last_tool_result_contains": "OVER HTTP (from the fixture"})
        server = HttpMcpServer(type="http", name="web", url=f"http://127.0.0.1:{port}/mcp",
                               headers=[HttpHeader(name="X-Test", value="1")])
        client = RecordingClient()
        client.answers = ["allow_once"]
        async with running_agent(client, workspace, home, "--model", model) as (conn, _p, _c):
            sid = await open_session(conn, workspace, [server])
            await conn.prompt(session_id=sid, prompt=[text_block("shout over http")])
        assert client.text(sid) == "Heard it."
    finally:
        web.kill()
        await web.wait()
