"""The tool protocol: what every agent tool is, and what it may ask of its host.

Tools are plain async functions with a JSON schema. The host (LSP server or CLI) supplies a
`ToolHost` so that a tool can ask for approval or apply an edit without knowing about LSP.
Errors are values: a tool raises `ToolError` and the loop hands its message back to the model.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lsp_agent.agent import events
from lsp_agent.config import PermissionMode
from lsp_agent.errors import LspAgentError


class ToolError(LspAgentError):
    """A failure the model should read and can act on (bad path, no match, refused...)."""


#: The permission modes in which an edit, or a shell command, must be approved first.
EDIT_APPROVAL_MODES = frozenset({PermissionMode.ASK})
COMMAND_APPROVAL_MODES = frozenset({PermissionMode.ASK, PermissionMode.ACCEPT_EDITS})


class ToolHost(Protocol):
    """What the environment offers a tool. The LSP server and the CLI each implement it.

    A host may also have `asks_inline() -> bool` (it waits for an answer given in the
    conversation, to the approval in `events.current_approval`) and `preapproved(action) ->
    bool` (the user said "always"); both count as False when absent."""

    async def approve(self, action: str, detail: str) -> bool:
        """Ask the user to allow `action` (e.g. "Run shell command"); True when allowed."""
        ...

    async def apply_edit(self, path: Path, new_text: str, description: str) -> bool:
        """Replace the whole text of `path` (creating it if needed); True when applied."""
        ...


@dataclass
class ToolContext:
    """Everything a tool call can see: the workspace root, the host and the permission mode."""

    workspace: Path
    host: ToolHost
    permission_mode: PermissionMode = PermissionMode.ASK
    extra: dict[str, Any] = field(default_factory=dict)


async def require_approval(
    ctx: ToolContext,
    action: str,
    detail: str,
    *,
    modes: frozenset[PermissionMode],
    refusal: str,
) -> None:
    """Ask the host to allow `action` when the permission mode is in `modes`.

    One place for the approve-or-refuse step so every tool asks and refuses the same way;
    raises `ToolError(refusal)` when the user says no.
    """
    if PermissionMode(ctx.permission_mode) not in modes:
        return
    if not await ask_user(ctx, action, detail):
        raise ToolError(refusal)


async def ask_user(ctx: ToolContext, action: str, detail: str, *, every_time: bool = False,
                   edit: dict[str, str] | None = None) -> bool:
    """Ask the host to allow `action`, shown in the conversation as `approval_request` and
    `approval_result` events. `every_time`: "always" is not offered (protected files);
    `edit`: `{path, uri, new_text}` of a proposed file edit, for a diff."""
    host = ctx.host
    if not every_time and getattr(host, "preapproved", lambda _a: False)(action):
        return True
    turn = events.current.get()
    request = events.Approval(id=turn.approval_id() if turn else "", action=action)
    inline = bool(getattr(host, "asks_inline", lambda: False)())
    choices = ["allow", "deny"] if every_time else ["allow", "always", "deny"]
    await events.emit("approval_request", approval_id=request.id, action=action,
                      detail=detail[:4000], choices=choices, inline=inline,
                      **({"edit": edit} if edit else {}))
    token = events.current_approval.set(request)
    try:
        allowed = bool(await host.approve(action, detail))
    finally:
        events.current_approval.reset(token)
    await events.emit("approval_result", approval_id=request.id, action=action, allowed=allowed)
    return allowed


def optional_int_argument(value: Any, name: str, minimum: int = 1) -> int | None:
    """A model-supplied integer argument: None when absent, `ToolError` when not a valid int."""
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise ToolError(f"{name} must be an integer, got {value!r}.") from exc
    if number < minimum:
        raise ToolError(f"{name} must be at least {minimum}, got {number}.")
    return number


def bool_argument(value: Any) -> bool:
    """A model-supplied boolean argument; models often send "true"/"false" as strings."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


ToolFn = Callable[..., Awaitable[str]]


@dataclass(frozen=True)
class Tool:
    """One tool as the model sees it: name, description, JSON-schema parameters, and the function.

    `fn(ctx, **arguments)` returns the text given back to the model.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    fn: ToolFn

    def schema(self) -> dict[str, Any]:
        """The OpenAI/litellm `tools=[...]` entry for this tool."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }
