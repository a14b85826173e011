"""Typed arguments of every `lspAgent.*` command (one JSON object each, see docs/protocol.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class InvalidArguments(ValueError):
    """The command's arguments do not fit its model (reported as JSON-RPC InvalidParams)."""


class Args(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    workspace: str | None = None
    uri: str | None = None


class InitArgs(Args):
    depth: Literal["static", "standard", "deep"] = "static"


class RememberArgs(Args):
    text: str | None = None
    block: str | None = None


class SearchArgs(Args):
    query: str = Field(min_length=1)
    kind: Literal["all", "messages", "archival", "blocks", "skills", "code"] = "all"
    limit: int = Field(10, ge=1, le=200)
    mode: Literal["hybrid", "vector", "text"] = "hybrid"

    @field_validator("query")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("query must contain some words")
        return v


class LearnSkillArgs(Args):
    name: str | None = None
    conversation_id: str | None = None
    text: str | None = None


class AskContext(BaseModel):
    model_config = ConfigDict(extra="ignore")
    uri: str | None = None
    range: dict[str, Any] | None = None
    text: str | None = None


class AskArgs(Args):
    prompt: str = Field(min_length=1)
    conversation_id: str | None = None
    context: AskContext | None = None


class ReflectArgs(Args):
    pass


class MemoryShowArgs(Args):
    label: str | None = None


class MemoryEditArgs(Args):
    label: str = Field(min_length=1)
    value: str
    reason: str = "edited by the user"


class MemoryHistoryArgs(Args):
    label: str = Field(min_length=1)


class MemoryRevertArgs(Args):
    label: str = Field(min_length=1)
    version: int = Field(ge=1)


class ConversationNewArgs(Args):
    title: str = ""


class ConversationSwitchArgs(Args):
    id: str = Field(min_length=1)


class ConversationForkArgs(Args):
    id: str | None = None
    title: str = ""


class StatusArgs(Args):
    pass


def parse_args(model: type[Args], raw: tuple[Any, ...] | list[Any]) -> Args:
    """Validate a command's `arguments` list; raise ValueError with what was expected."""
    if len(raw) == 0:
        data: Any = {}
    elif len(raw) == 1:
        data = raw[0]
    else:
        raise InvalidArguments(f"expected one JSON object as the only argument, got {len(raw)} arguments")
    if data is None:
        data = {}
    if hasattr(data, "__dict__") and not isinstance(data, dict):
        data = dict(vars(data))
    if not isinstance(data, dict):
        raise InvalidArguments(f"expected a JSON object as the argument, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "argument"
            problems.append(f"{where}: {err['msg']}")
        fields = ", ".join(
            f"{n}{'' if f.is_required() else '?'}" for n, f in model.model_fields.items()
        )
        raise InvalidArguments("; ".join(problems) + f". Expected an object with: {fields}") from None
