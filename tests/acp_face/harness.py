"""A real ACP client (the SDK's client side) driving a real `lsp-agent acp` subprocess, with
every message the agent sends checked against the protocol's JSON schema.

The schema is the ACP repository's schema/v1/schema.json at tag schema-v1.19.0, the exact
schema the pinned SDK (agent-client-protocol 0.12.1) is generated from (the wheel ships only
the generated models, so the file is kept here).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jsonschema
from acp import PROTOCOL_VERSION, spawn_agent_process
from acp.schema import (
    AllowedOutcome,
    CreateTerminalResponse,
    DeniedOutcome,
    ReadTextFileResponse,
    RequestPermissionResponse,
    TerminalOutputResponse,
    WaitForTerminalExitResponse,
    WriteTextFileResponse,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = Path(__file__).with_name("acp_schema_v1.19.0.json")
_SCHEMA = json.loads(SCHEMA_FILE.read_text())
_DEFS = _SCHEMA["$defs"]
#: The agent's answers to these client requests, by method (the schema's response types).
RESPONSES = {"initialize": "InitializeResponse", "session/new": "NewSessionResponse",
             "session/load": "LoadSessionResponse", "session/list": "ListSessionsResponse",
             "session/prompt": "PromptResponse", "session/set_mode": "SetSessionModeResponse"}
#: The agent's own requests and notifications to the client, by method.
AGENT_SENDS = {"session/update": "SessionNotification",
               "session/request_permission": "RequestPermissionRequest",
               "fs/read_text_file": "ReadTextFileRequest",
               "fs/write_text_file": "WriteTextFileRequest",
               "terminal/create": "CreateTerminalRequest",
               "terminal/output": "TerminalOutputRequest",
               "terminal/wait_for_exit": "WaitForTerminalExitRequest",
               "terminal/kill": "KillTerminalRequest",
               "terminal/release": "ReleaseTerminalRequest"}


_VALIDATORS: dict[str, Any] = {}


def validate(definition: str, value: Any) -> None:
    """Raise when `value` is not a valid `definition` of the ACP schema (one validator per
    definition, built once: checking the 200 kB schema itself on every message is slow)."""
    validator = _VALIDATORS.get(definition)
    if validator is None:
        schema = {"$ref": f"#/$defs/{definition}", "$defs": _DEFS}
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = _VALIDATORS[definition] = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        raise error


def script(tmp: Path, *responses: dict[str, Any]) -> str:
    path = tmp / f"script-{len(list(tmp.glob('script-*.json')))}.json"
    path.write_text(json.dumps({"responses": list(responses)}))
    return f"scripted/{path}"


class RecordingClient:
    """The editor: records updates, answers permissions from `answers` (option ids; "cancel"
    for a dismissed dialog), serves fs/* from `buffers` (unsaved text) over the disk and runs
    terminal commands for real."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, Any]] = []
        self.answers: list[str] = []
        self.permission_requests: list[Any] = []
        self.buffers: dict[str, str] = {}
        self.writes: list[tuple[str, str]] = []
        self.terminals: dict[str, asyncio.subprocess.Process] = {}
        self.terminal_out: dict[str, bytes] = {}
        self._terminal_ids = itertools.count(1)
        self.changed = asyncio.Event()

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.updates.append((session_id, update))
        self.changed.set()

    async def request_permission(self, session_id: str, tool_call: Any, options: list[Any],
                                 **kwargs: Any) -> RequestPermissionResponse:
        self.permission_requests.append((tool_call, options))
        answer = self.answers.pop(0) if self.answers else "reject_once"
        if answer == "cancel":
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected",
                                                                option_id=answer))

    async def read_text_file(self, session_id: str, path: str, line: int | None = None,
                             limit: int | None = None, **kwargs: Any) -> ReadTextFileResponse:
        if path in self.buffers:
            return ReadTextFileResponse(content=self.buffers[path])
        return ReadTextFileResponse(content=Path(path).read_text())

    async def write_text_file(self, session_id: str, path: str, content: str,
                              **kwargs: Any) -> WriteTextFileResponse:
        self.writes.append((path, content))
        self.buffers[path] = content
        return WriteTextFileResponse()

    async def create_terminal(self, session_id: str, command: str, args: list[str] | None = None,
                              env: Any = None, cwd: str | None = None,
                              output_byte_limit: int | None = None,
                              **kwargs: Any) -> CreateTerminalResponse:
        proc = await asyncio.create_subprocess_exec(command, *(args or []), cwd=cwd,
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT)
        terminal_id = f"t{next(self._terminal_ids)}"
        self.terminals[terminal_id] = proc
        return CreateTerminalResponse(terminal_id=terminal_id)

    async def wait_for_terminal_exit(self, session_id: str, terminal_id: str,
                                     **kwargs: Any) -> WaitForTerminalExitResponse:
        proc = self.terminals[terminal_id]
        assert proc.stdout is not None
        self.terminal_out[terminal_id] = await proc.stdout.read()
        return WaitForTerminalExitResponse(exit_code=await proc.wait())

    async def terminal_output(self, session_id: str, terminal_id: str,
                              **kwargs: Any) -> TerminalOutputResponse:
        return TerminalOutputResponse(output=self.terminal_out.get(terminal_id, b"").decode(),
                                      truncated=False)

    async def release_terminal(self, session_id: str, terminal_id: str, **kwargs: Any) -> None:
        self.terminals.pop(terminal_id, None)

    async def kill_terminal(self, session_id: str, terminal_id: str, **kwargs: Any) -> None:
        self.terminals[terminal_id].kill()

    # -- what the tests read -----------------------------------------------------------------

    def kinds(self, session_id: str | None = None) -> list[str]:
        return [u.session_update for s, u in self.updates if session_id in (None, s)]

    def text(self, session_id: str | None = None, kind: str = "agent_message_chunk") -> str:
        return "".join(u.content.text for s, u in self.updates
                       if session_id in (None, s) and u.session_update == kind
                       and getattr(u.content, "text", None))

    def of(self, kind: str) -> list[Any]:
        return [u for _s, u in self.updates if u.session_update == kind]

    async def wait_for(self, predicate: Any, timeout: float = 60.0) -> None:
        async def loop() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), timeout)


class SchemaCheck:
    """Observes the raw stream: every message the agent sends must fit the schema."""

    def __init__(self) -> None:
        self.pending: dict[Any, str] = {}  # our request id -> method
        self.checked = 0
        self.errors: list[str] = []
        self.raw_in: list[dict[str, Any]] = []

    def __call__(self, event: Any) -> None:
        message = event.message
        if event.direction.value == "outgoing":  # client -> agent
            if "method" in message and "id" in message:
                self.pending[message["id"]] = message["method"]
            return
        self.raw_in.append(message)
        try:
            self._check(message)
        except jsonschema.ValidationError as exc:
            self.errors.append(f"{json.dumps(message)[:300]}: {exc.message}")

    def _check(self, message: dict[str, Any]) -> None:
        assert message.get("jsonrpc") == "2.0", message
        if "method" in message:
            definition = AGENT_SENDS.get(message["method"])
            assert definition, f"the agent sent an unknown method {message['method']}"
            validate(definition, message.get("params"))
        elif "error" in message:
            validate("Error", message["error"])
        else:
            method = self.pending.pop(message.get("id"), None)
            if method in RESPONSES:
                validate(RESPONSES[method], message.get("result"))
        self.checked += 1


def agent_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSP_AGENT_")}
    env.update(LSP_AGENT_HOME=str(home), PYTHONPATH=str(ROOT), LSP_AGENT_EMBEDDER="none",
               LITELLM_LOCAL_MODEL_COST_MAP="True", **extra)
    return env


@asynccontextmanager
async def running_agent(client: RecordingClient, workspace: Path, home: Path,
                        *args: str, env: dict[str, str] | None = None,
                        ) -> AsyncIterator[tuple[Any, Any, SchemaCheck]]:
    """(connection, process, schema check) of `lsp-agent acp ARGS` in `workspace`; its
    stderr goes to `home/acp-stderr-N.log` (read it with `stderr_of(home)`)."""
    check = SchemaCheck()
    log = home / f"acp-stderr-{len(list(home.glob('acp-stderr-*.log')))}.log"
    with open(log, "wb") as err:
        async with spawn_agent_process(
                client, sys.executable, "-m", "lsp_agent", "acp", *args,
                env=env or agent_env(home), cwd=workspace, observers=[check],
                transport_kwargs={"stderr": err, "shutdown_timeout": 60.0}) as (conn, proc):
            yield conn, proc, check
    assert not check.errors, check.errors
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text()


async def open_session(conn: Any, workspace: Path, mcp_servers: list[Any] | None = None) -> str:
    """Initialize the connection and open a session in `workspace`; its id."""
    await conn.initialize(protocol_version=PROTOCOL_VERSION)
    return str((await conn.new_session(cwd=str(workspace),
                                       mcp_servers=mcp_servers or [])).session_id)


__all__ = ["RecordingClient", "SchemaCheck", "agent_env", "open_session", "running_agent",
           "script", "validate"]
