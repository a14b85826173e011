"""Slash commands in a prompt (`/search retry`, `/new`): run by the server for every face.

A prompt to `ask` that starts with `/` names one of `SLASH_COMMANDS`; the rest of the line is
its argument. It runs the registry's command (no model, nothing stored in the conversation)
and answers `{slash, conversation_id, result}`. `//text` sends `/text` to the model as it is.
The list is plain data so the server can advertise it in `initialize` without importing more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsp_agent.errors import UsageError

if TYPE_CHECKING:
    from lsp_agent.commands.spec import Io, Result
    from lsp_agent.service import AgentService

Build = Callable[[str, "str | None"], dict[str, Any]]


@dataclass(frozen=True)
class Slash:
    name: str
    usage: str
    description: str
    command: str  # the registry name it runs ("" for /help)
    build: Build  # (the text after the name, the conversation id) -> the command's arguments

    def public(self) -> dict[str, str]:
        return {"name": self.name, "usage": self.usage, "description": self.description}


def _text(key: str) -> Build:
    return lambda rest, _conv: {key: rest} if rest else {}


def _required(key: str, usage: str) -> Build:
    def build(rest: str, _conv: str | None) -> dict[str, Any]:
        if not rest:
            raise UsageError(f"Usage: {usage}")
        return {key: rest}

    return build


def _rename(rest: str, conv: str | None) -> dict[str, Any]:
    if not rest:
        raise UsageError("Usage: /rename TITLE")
    if not conv:
        raise UsageError("There is no conversation to rename yet; ask the agent something first.")
    return {"id": conv, "title": rest}


SLASH_COMMANDS: tuple[Slash, ...] = (
    Slash("help", "/help", "list the slash commands", "", _text("")),
    Slash("init", "/init [static|standard|deep]", "research the workspace, fill memory, index "
          "the code", "init", _text("depth")),
    Slash("remember", "/remember TEXT", "store a lesson in memory", "remember", _text("text")),
    Slash("search", "/search QUERY", "search conversations, memory, skills and code", "search",
          _required("query", "/search QUERY")),
    Slash("skill", "/skill [NAME]", "distil a skill from this conversation", "learnSkill",
          _text("name")),
    Slash("reflect", "/reflect", "consolidate memory from recent conversations", "reflect",
          lambda _rest, _conv: {}),
    Slash("memory", "/memory [BLOCK]", "show memory blocks (all, or one)", "memory.show",
          _text("label")),
    Slash("new", "/new [TITLE]", "start a new conversation", "conversation.new", _text("title")),
    Slash("fork", "/fork [TITLE]", "copy this conversation into a new one", "conversation.fork",
          lambda rest, conv: {**({"id": conv} if conv else {}), **({"title": rest} if rest
                                                                      else {})}),
    Slash("rename", "/rename TITLE", "give this conversation a new title",
          "conversation.rename", _rename),
    Slash("conversations", "/conversations", "list conversations", "conversation.list",
          lambda _rest, _conv: {}),
)
BY_NAME = {s.name: s for s in SLASH_COMMANDS}


def parse(prompt: str) -> tuple[Slash, str] | str:
    """The slash command and its argument, or the prompt to send to the model."""
    text = prompt.strip()
    if text.startswith("//"):
        return text[1:]
    if not text.startswith("/"):
        return prompt
    name, _, rest = text[1:].partition(" ")
    name = name.strip().lower()
    if name not in BY_NAME:
        known = ", ".join(f"/{s.name}" for s in SLASH_COMMANDS)
        raise UsageError(f"There is no command /{name}; /help lists them ({known}). To send a "
                         "prompt that starts with / to the agent, begin it with //.")
    return BY_NAME[name], rest.strip()


async def run(svc: AgentService, slash: Slash, rest: str, conversation_id: str | None,
              io: Io) -> Result:
    from pydantic import ValidationError

    from lsp_agent.commands import BY_LSP_NAME
    from lsp_agent.commands.spec import Result
    from lsp_agent.render import Heading, Item, Items, doc

    conv = conversation_id or svc.conversations.active_id()
    if not slash.command:
        listing = doc(Heading("Slash commands"), Items(tuple(
            Item(s.usage, note=s.description) for s in SLASH_COMMANDS)))
        return Result({"slash": slash.name, "conversation_id": conv,
                       "result": {"commands": [s.public() for s in SLASH_COMMANDS]}}, listing)
    command = BY_LSP_NAME[f"lspAgent.{slash.command}"]
    try:
        args = command.args.model_validate(slash.build(rest, conv))
    except ValidationError:
        raise UsageError(f"Usage: {slash.usage} ({slash.description}).") from None
    got = await command.run(svc, args, io)
    conv = conversation_id if slash.name not in ("new", "fork") else None
    return Result({"slash": slash.name,
                   "conversation_id": conv or svc.conversations.active_id(),
                   "result": got.data}, got.doc)
