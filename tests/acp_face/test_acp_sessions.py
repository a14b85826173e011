"""`lsp-agent acp` driven by the SDK's client over stdio, with the scripted model behind
litellm: a prompt's stream (text, tool calls with diffs, memory rows, plans), approvals allowed
then rejected, fs through the client, cancel mid-turn, and load after a restart. Every message
the agent sends is checked against the ACP schema (tests/acp_face/harness.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from acp import PROTOCOL_VERSION, text_block
from acp.schema import ClientCapabilities, FileSystemCapabilities

from tests.acp_face.harness import RecordingClient, open_session, running_agent, script

FS = ClientCapabilities(fs=FileSystemCapabilities(read_text_file=True, write_text_file=True))


async def test_a_prompt_streams_text_edits_with_diffs_memory_rows_and_a_plan(
        tmp_path: Path, workspace: Path, home: Path) -> None:
    a = workspace / "a.py"
    a.write_text("x = 1\n")
    model = script(
        tmp_path,
        {"content": "Planning first.", "tool_calls": [{"name": "update_plan", "arguments": {
            "entries": [{"content": "Edit a.py", "status": "in_progress"},
                        {"content": "Remember it", "status": "pending"}]}}]},
        {"content": "Reading.", "tool_calls": [{"name": "read_file", "arguments": {
            "path": "a.py"}}, {"name": "read_file", "arguments": {"path": "../outside.txt"}}]},
        {"content": "Editing the buffer.", "expect_last_tool_result_contains": "outside",
         "tool_calls": [{"name": "edit_file", "arguments": {
            "path": "a.py", "old_string": "x = 2", "new_string": "x = 3"}}]},
        {"content": "Once more.", "expect_last_tool_result_contains": "a.py",
         "tool_calls": [{"name": "write_file", "arguments": {
             "path": "a.py", "content": "x = 4\n"}}]},
        {"content": "Noting it.", "expect_last_tool_result_contains": "refused",
         "tool_calls": [{"name": "memory_insert", "arguments": {
             "label": "human", "new_string": "Prefers x = 3."}}]},
        {"content": "All done: one edit made, one refused."})
    client = RecordingClient()
    client.buffers[str(a)] = "x = 2\n"  # unsaved in the editor: the disk still says x = 1
    client.answers = ["allow_once", "reject_once"]
    async with running_agent(client, workspace, home, "--model", model) as (conn, _p, check):
        init = await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=FS)
        caps = init.agent_capabilities
        assert caps.load_session and caps.session_capabilities.list is not None
        assert caps.prompt_capabilities.image is False and caps.mcp_capabilities.http
        session = await conn.new_session(cwd=str(workspace), mcp_servers=[])
        assert session.modes.current_mode_id == "ask"
        assert {m.id for m in session.modes.available_modes} == {"ask", "accept-edits", "auto"}
        done = await conn.prompt(session_id=session.session_id,
                                 prompt=[text_block("make x three and remember it")])
        assert done.stop_reason == "end_turn"
        sid = session.session_id

    kinds = client.kinds(sid)
    assert kinds[0] == "available_commands_update"
    names = {c.name for c in client.of("available_commands_update")[0].available_commands}
    assert {"init", "remember", "search", "skill", "reflect", "memory"} <= names
    assert client.text(sid).startswith("Planning first.Reading.Editing the buffer.")
    assert client.text(sid).endswith("All done: one edit made, one refused.")
    assert kinds.count("agent_message_chunk") >= 10  # word by word, not one block
    (plan,) = client.of("plan")
    assert [(e.content, e.status) for e in plan.entries] == [("Edit a.py", "in_progress"),
                                                            ("Remember it", "pending")]

    starts = {u.tool_call_id: u for u in client.of("tool_call")}
    reads = [u.tool_call_id for u in starts.values() if u.kind == "read"]
    results = {u.tool_call_id: u for u in client.of("tool_call_update") if u.status}
    # read_file saw the editor's unsaved text (fs/read_text_file), and stays in the workspace
    assert "x = 2" in results[reads[0]].content[0].content.text
    assert results[reads[1]].status == "failed"
    edits = [u for u in starts.values() if u.kind == "edit" and u.title.startswith(("Edit",
                                                                                   "Write"))]
    assert [u.title for u in edits] == ["Edit a.py", "Write a.py"]
    assert all(u.locations[0].path == str(a) for u in edits)
    diff = edits[1].content[0]
    assert diff.type == "diff" and diff.path == str(a) and diff.new_text == "x = 4\n"
    # the allowed edit went to the editor (fs/write_text_file), built on the unsaved buffer
    assert client.writes == [(str(a), "x = 3\n")] and a.read_text() == "x = 1\n"
    (first, second) = client.permission_requests
    assert [o.kind for o in first[1]] == ["allow_once", "allow_always", "reject_once"]
    assert first[0].tool_call_id == edits[0].tool_call_id
    ends = {u.tool_call_id: u.status for u in client.of("tool_call_update") if u.status}
    assert ends[edits[0].tool_call_id] == "completed"
    assert ends[edits[1].tool_call_id] == "failed"  # rejected: the tool says so

    (memory_row,) = [u for u in starts.values() if u.title.startswith("Memory:")]
    assert "'human'" in memory_row.title and "version" in memory_row.title
    assert memory_row.status == "completed" and memory_row.raw_output["block"] == "human"
    mdiff = memory_row.content[0]
    assert mdiff.type == "diff" and "Prefers x = 3." in mdiff.new_text
    assert "Prefers x = 3." not in (mdiff.old_text or "")
    assert check.checked >= len(client.updates) + 3


async def test_cancel_stops_the_turn_and_load_after_a_restart_replays_history(
        tmp_path: Path, workspace: Path, home: Path) -> None:
    words = " ".join(f"word{i}" for i in range(200))
    model = script(tmp_path,
                   {"content": "Looking.", "tool_calls": [{"name": "read_file", "arguments": {
                       "path": "main.py"}}]},
                   {"content": "It prints hello."},
                   {"content": words, "delay_ms": 100})
    client = RecordingClient()
    async with running_agent(client, workspace, home, "--model", model) as (conn, _p, _c):
        sid = await open_session(conn, workspace)
        first = await conn.prompt(session_id=sid, prompt=[text_block("what does main do?")])
        assert first.stop_reason == "end_turn"
        before = len(client.text(sid))
        turn = asyncio.create_task(conn.prompt(session_id=sid,
                                               prompt=[text_block("now say a lot")]))
        await client.wait_for(lambda: "word3" in client.text(sid)[before:])
        await conn.cancel(session_id=sid)
        stopped = await asyncio.wait_for(turn, 60)
        assert stopped.stop_reason == "cancelled"
        assert "word199" not in client.text(sid)
        # the process lives on: the session still answers
        listed = await conn.list_sessions(cwd=str(workspace))
        assert sid in [s.session_id for s in listed.sessions]

    reloaded = RecordingClient()
    async with running_agent(reloaded, workspace, home) as (conn, _p, _c):
        await conn.initialize(protocol_version=PROTOCOL_VERSION)
        listed = await conn.list_sessions(cwd=str(workspace))
        (info,) = [s for s in listed.sessions if s.session_id == sid]
        assert info.cwd == str(workspace) and info.updated_at
        await conn.load_session(cwd=str(workspace), session_id=sid, mcp_servers=[])
        kinds = reloaded.kinds(sid)
        assert reloaded.text(sid, "user_message_chunk") == "what does main do?now say a lot"
        replayed = reloaded.text(sid)
        assert replayed.startswith("Looking.It prints hello.")
        assert "word3" in replayed and replayed.endswith("(stopped by the user)")
        (call,) = reloaded.of("tool_call")
        assert call.kind == "read" and call.title == "Read main.py"
        assert kinds.index("tool_call") < kinds.index("tool_call_update")
        results = [u for u in reloaded.of("tool_call_update") if u.status == "completed"]
        assert "print('hello')" in results[0].content[0].content.text
        unknown = await _error_of(conn.load_session(cwd=str(workspace), session_id="nope",
                                                    mcp_servers=[]))
        assert "No conversation 'nope'" in unknown


async def _error_of(call: object) -> str:
    from acp import RequestError

    try:
        await call  # type: ignore[misc]
    except RequestError as exc:
        return str(exc)
    raise AssertionError("the request succeeded")
