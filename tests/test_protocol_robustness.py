"""The server answers every request, whatever bytes arrive, and never dies on its input.

A real `lsp-agent serve` process over stdio, driven by a raw client that writes bytes and reads
framed replies with timeouts (benchmarks/lsp_fuzz.py's `Wire`). Each case checks the exact
error code and that the server still answers a plain request afterwards.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_spec = importlib.util.spec_from_file_location(
    "lsp_fuzz", Path(__file__).resolve().parents[1] / "benchmarks" / "lsp_fuzz.py")
assert _spec and _spec.loader
fuzz = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz)
frame = fuzz.frame

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
NOT_INITIALIZED = -32002
SHUTDOWN = {"jsonrpc": "2.0", "id": 1, "method": "shutdown"}


@pytest.fixture
def root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lsp-proto-"))
    (path / "ws").mkdir()
    (path / "ws" / "app.py").write_text("def greet():\n    return 1\n")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def bare(root: Path) -> Iterator[Any]:
    """A server that has not been initialized."""
    wire = fuzz.Wire(root / "home")
    yield wire
    if wire.proc.poll() is None:
        wire.proc.kill()
    wire.proc.wait()


@pytest.fixture
def wire(bare: Any, root: Path) -> Any:
    answer = bare.initialize(root / "ws")
    assert answer and "capabilities" in answer["result"]
    return bare


def answer_to(wire: Any, raw: bytes, msg_id: Any) -> dict[str, Any]:
    """Send raw bytes; the one answer carrying `msg_id` (after which the server still works)."""
    wire.send(raw)
    got = [m for m in wire.wait_for({msg_id}, 20) if m.get("id") == msg_id]
    assert len(got) == 1, f"expected one answer to {msg_id!r}, got {got}"
    assert wire.alive(f"after-{msg_id}"), "the server stopped answering"
    return got[0]


def error_code(answer: dict[str, Any]) -> int:
    assert "error" in answer, f"expected an error, got {answer}"
    return answer["error"]["code"]


def test_huge_content_length_is_refused_and_the_stream_resynchronises(wire: Any) -> None:
    body = json.dumps(SHUTDOWN).encode()
    answer = answer_to(wire, b"Content-Length: 99999999999999999999999\r\n\r\n" + body, 1)
    assert error_code(answer) == INVALID_REQUEST
    assert "over the 64 MiB limit" in answer["error"]["message"]


def test_an_honest_message_over_the_limit_is_streamed_past(wire: Any) -> None:
    big = {"jsonrpc": "2.0", "id": 2, "method": "codeAction/resolve",
           "params": {"title": "x" * (64 * 1024 * 1024 + 10)}}
    answer = answer_to(wire, frame(big), 2)
    assert error_code(answer) == INVALID_REQUEST


@pytest.mark.parametrize("params", [{}, {"textDocument": 5}])
def test_code_action_with_bad_params(wire: Any, params: Any) -> None:
    message = {"jsonrpc": "2.0", "id": 3, "method": "textDocument/codeAction", "params": params}
    assert error_code(answer_to(wire, frame(message), 3)) == INVALID_PARAMS


def test_execute_command_without_a_command(wire: Any) -> None:
    message = {"jsonrpc": "2.0", "id": 4, "method": "workspace/executeCommand", "params": {}}
    assert error_code(answer_to(wire, frame(message), 4)) == INVALID_PARAMS


def test_resolve_with_a_number_for_a_title(wire: Any) -> None:
    message = {"jsonrpc": "2.0", "id": 5, "method": "codeAction/resolve", "params": {"title": 5}}
    assert error_code(answer_to(wire, frame(message), 5)) == INVALID_PARAMS


def test_resolve_with_incomplete_data(wire: Any) -> None:
    message = {"jsonrpc": "2.0", "id": 6, "method": "codeAction/resolve",
               "params": {"title": "t", "data": {"action": "remember", "uri": "file:///x"}}}
    answer = answer_to(wire, frame(message), 6)
    assert error_code(answer) == INVALID_PARAMS
    assert "ask for the code actions again" in answer["error"]["message"]


def test_unknown_method(wire: Any) -> None:
    message = {"jsonrpc": "2.0", "id": 7, "method": "no/such", "params": {}}
    assert error_code(answer_to(wire, frame(message), 7)) == METHOD_NOT_FOUND


def test_a_second_initialize_is_refused_and_the_workspace_stays(wire: Any, root: Path) -> None:
    again = {"jsonrpc": "2.0", "id": 8, "method": "initialize",
             "params": {"processId": None, "rootUri": None, "capabilities": {}}}
    assert error_code(answer_to(wire, frame(again), 8)) == INVALID_REQUEST
    # the first initialize's workspace is still the one commands use
    bad = {"jsonrpc": "2.0", "id": 9, "method": "workspace/executeCommand",
           "params": {"command": "lspAgent.status", "arguments": [{"workspace": 5}]}}
    answer = answer_to(wire, frame(bad), 9)
    assert error_code(answer) == INVALID_PARAMS


BODIES = {
    "batch": json.dumps([SHUTDOWN]).encode(),
    "invalid utf-8": b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":"\xff\xfe"}}',
    "object id": json.dumps({**SHUTDOWN, "id": {"a": 1}}).encode(),
    "no jsonrpc": json.dumps({"id": 1, "method": "shutdown"}).encode(),
    "string params": json.dumps({**SHUTDOWN, "params": "x"}).encode(),
    "deep nesting": b'{"jsonrpc":"2.0","id":1,"method":"x","params":'
                    + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "not json": b'{"jsonrpc":"2.0","id":1,"method":',
    "a number": b"5",
}
EXPECTED = {  # (code, the id the answer carries)
    "batch": (INVALID_REQUEST, 1), "invalid utf-8": (PARSE_ERROR, 1),
    "object id": (INVALID_REQUEST, None), "no jsonrpc": (INVALID_REQUEST, 1),
    "string params": (INVALID_REQUEST, 1), "deep nesting": (PARSE_ERROR, 1),
    "not json": (PARSE_ERROR, 1), "a number": (INVALID_REQUEST, None),
}


@pytest.mark.parametrize("name", list(BODIES))
def test_malformed_bodies_are_answered(wire: Any, name: str) -> None:
    code, msg_id = EXPECTED[name]
    answer = answer_to(wire, frame(BODIES[name]), msg_id)
    assert error_code(answer) == code


HEADERS = {
    "length not a number": b"Content-Length: abc\r\n\r\n",
    "no length": b"Content-Type: application/json\r\n\r\n",
    "length too long": b"Content-Length: 500\r\n\r\n",
    "length too short": b"Content-Length: 20\r\n\r\n",
    "garbage line": b"Hello there\r\n\r\n",
}


@pytest.mark.parametrize("name", list(HEADERS))
def test_broken_headers_are_answered_and_the_stream_recovers(wire: Any, name: str) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 10, "method": "no/such"}).encode()
    wire.send(HEADERS[name] + body)
    assert wire.alive(f"ping-{name}")  # the next message is read correctly
    answers = [m for m in wire.received if m.get("id") in (10, None)]
    assert answers and all(error_code(a) == PARSE_ERROR for a in answers), answers


def test_lowercase_header_and_bare_newlines_are_accepted(wire: Any) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 11, "method": "no/such"}).encode()
    raw = b"content-length: %d\nContent-Type: application/vscode-jsonrpc\n\n" % len(body) + body
    assert error_code(answer_to(wire, raw, 11)) == METHOD_NOT_FOUND


def test_requests_before_initialize_get_server_not_initialized(bare: Any, root: Path) -> None:
    assert error_code(answer_to(bare, frame(SHUTDOWN), 1)) == NOT_INITIALIZED
    command = {"jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand",
               "params": {"command": "lspAgent.status", "arguments": [{}]}}
    answer = answer_to(bare, frame(command), 2)
    assert error_code(answer) == NOT_INITIALIZED
    assert "send `initialize` first" in answer["error"]["message"]
    bad_init = {"jsonrpc": "2.0", "id": 3, "method": "initialize", "params": {"x": 1}}
    assert error_code(answer_to(bare, frame(bad_init), 3)) == INVALID_PARAMS
    assert bare.initialize(root / "ws", msg_id=4)["result"]["capabilities"]  # may retry


def test_requests_after_shutdown_are_invalid_and_exit_is_zero(wire: Any) -> None:
    wire.send(frame(SHUTDOWN))
    assert wire.wait_for({1})[-1] == {"jsonrpc": "2.0", "id": 1, "result": None}
    for msg_id, method in ((2, "codeAction/resolve"), (3, "shutdown")):
        wire.send(frame({"jsonrpc": "2.0", "id": msg_id, "method": method,
                         "params": {"title": "t"}}))
        got = [m for m in wire.wait_for({msg_id}) if m.get("id") == msg_id]
        assert error_code(got[0]) == INVALID_REQUEST
    wire.send(frame({"jsonrpc": "2.0", "method": "exit"}))
    assert wire.proc.wait(15) == 0


def test_exit_without_shutdown_exits_1(wire: Any) -> None:
    wire.send(frame({"jsonrpc": "2.0", "method": "exit"}))
    assert wire.proc.wait(15) == 1


def test_exit_before_initialize_exits_1(bare: Any) -> None:
    bare.send(frame({"jsonrpc": "2.0", "method": "exit"}))
    assert bare.proc.wait(15) == 1


def test_generated_malformed_messages_are_all_answered(root: Path) -> None:
    """600 seeded messages: every request with a readable id answered once, alive throughout."""
    stats = fuzz.run(600, seed=11, batch=50, home=root / "fuzz")
    assert stats["tracked"] > 150
    assert stats["unanswered"] == [] and stats["answered_twice"] == []
    assert stats["batches_alive"] == stats["batches"]
    assert stats["alive_at_end"] and stats["exit_code"] == 0
    assert stats["tracebacks_logged"] == 0, stats["stderr_tail"]
