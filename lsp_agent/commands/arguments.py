"""Typed arguments of every command: one pydantic model each, shared by every face.

The LSP face validates a command's JSON object against it (-> InvalidParams); the CLI builds
its options from the same fields: `positional()` fields are positional arguments, `flag=` names
an option differently from the field, `stdin=True` lets a value come from `--file` or `-`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lsp_agent.errors import InvalidArguments

Kind = Literal["all", "messages", "archival", "blocks", "skills", "code", "tests", "docs", "config"]
SearchMode = Literal["hybrid", "vector", "text"]


def positional(default: Any = ..., description: str = "", *, ge: int | None = None,
               **extra: Any) -> Any:
    return Field(default, description=description, ge=ge,
                 json_schema_extra={"positional": True, **extra})


def option(default: Any = None, description: str = "", *, ge: int | None = None,
           **extra: Any) -> Any:
    return Field(default, description=description, ge=ge, json_schema_extra=extra or None)


class Args(BaseModel):
    """Every command's arguments: which workspace (a folder) or a file inside one (`uri`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    workspace: str | None = None
    uri: str | None = None


def _version(value: Any) -> Any:
    """`v2` (as history prints it) or `2`."""
    if isinstance(value, str) and re.fullmatch(r"[vV]?\d+", value.strip()):
        return int(value.strip().lstrip("vV"))
    return value


def _tags(value: Any) -> Any:
    """`["a,b", "c"]` or `"a,b"` -> `["a", "b", "c"]`."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return [t.strip() for v in value for t in str(v).split(",") if t.strip()]
    return value


def _day(value: Any, *, end: bool) -> Any:
    """A date or date-time; a bare date as `until` means the end of that day."""
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"'{value}' is not a date; use YYYY-MM-DD") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if end and len(value.strip()) == 10:
        parsed += timedelta(days=1, microseconds=-1)
    return parsed


class InitArgs(Args):
    depth: Literal["static", "standard", "deep"] = option(
        "static", "static: files only; standard/deep: then research with the model")
    wait: bool = option(False, "block until the code's vectors are done too (default: return "
                        "once full-text search works; vectors continue in the background)")


class IndexArgs(Args):
    embed_only: bool = option(False, "only embed chunks still without vectors")


class RememberArgs(Args):
    text: str | None = positional(None, "the lesson (without it, with a model: the conversation)")
    block: str | None = option(None, "block to store it in (default: notes, or the agent picks)")
    at: str | None = option(None, "anchor the lesson to code: PATH:LINE or PATH:START-END "
                            "(stored as an archival passage about that code)")


class AnchorsArgs(Args):
    path: str | None = positional(None, "only this file's (workspace-relative)")
    line: int | None = option(None, "only those at this line (1-based)", ge=1)
    all: bool = option(False, "also the forgotten ones")


class AnchorArgs(Args):
    id: str = positional(description="the anchored memory's id (`anchors` lists them)")
    action: Literal["reanchor", "forget", "keep"] = positional(
        description="reanchor (at --at, or where its code is now), forget (restorable) or "
        "keep (the code as it is now is what it is about)")
    at: str | None = option(None, "where to re-anchor it: PATH:LINE or PATH:START-END")


class ArchivalShowArgs(Args):
    id: str = positional(description="the passage's id")


class SearchArgs(Args):
    query: str = positional(description="words to look for")
    kind: Kind = option("all", "what to search (code: source code; tests, docs, config apart)")
    limit: int = option(10, "how many results")
    mode: SearchMode = option("hybrid", "hybrid, vector (meaning) or text (words)")
    paths: list[str] = option([], "only code under this path glob (repeat: any of them), "
                              "e.g. 'src/**' or '*.ts'", flag="path")
    language: str | None = option(None, "only code in this language (python, typescript, go...)")

    @field_validator("query")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("query must contain some words")
        return v

    @field_validator("limit")
    @classmethod
    def _limit(cls, v: int) -> int:
        if not 1 <= v <= 200:
            raise ValueError(f"must be at least 1 and at most 200, got {v}")
        return v


class LearnSkillArgs(Args):
    name: str | None = option(None, "the skill's name (lowercase-hyphenated)")
    conversation_id: str | None = option(None, "conversation to learn from", flag="conversation")
    text: str | None = option(None, "learn from this text instead of a conversation")


class AskContext(BaseModel):
    model_config = ConfigDict(extra="ignore")
    uri: str | None = None
    range: dict[str, Any] | None = None
    text: str | None = None


class AskArgs(Args):
    prompt: str = positional(description="what to ask the agent")
    conversation_id: str | None = option(None, "conversation (id or unique prefix)",
                                         flag="conversation")
    context: AskContext | None = option(None, cli=False)
    inline_approvals: bool = option(False, "ask approvals in the conversation (answered with "
                                    "lspAgent.approve) instead of a dialog", cli=False)

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("prompt must contain some text")
        return v


class ReflectArgs(Args):
    pass


class StatusArgs(Args):
    pass


class DoctorArgs(Args):
    repair: bool = option(False, "rebuild damaged tables from the intact ones")
    scrub: bool = option(False, "redact secrets from every stored version (rewrites history; "
                                "run it with no other lsp-agent using this store)")


class MemoryShowArgs(Args):
    label: str | None = positional(None, "one block (default: all)")


class MemoryEditArgs(Args):
    label: str = positional(description="the block")
    value: str = positional(description="the new value ('-' reads stdin)", stdin=True)
    reason: str = option("edited by the user", "why (kept in the history)")


class MemoryCreateArgs(Args):
    label: str = positional(description="the new block's label")
    description: str = option("", "what the block is for (shown to the agent)")
    value: str = option("", "its first value")
    limit: int = option(5000, "its size limit in characters", ge=1)
    read_only: bool = option(False, "the agent may read but not change it")
    shared: bool = option(False, "share it with every workspace agent")
    team: bool = option(False, "keep it in the team store (teamStore), shared with the team")


class MemoryHistoryArgs(Args):
    label: str = positional(description="the block")


class MemoryRevertArgs(Args):
    label: str = positional(description="the block")
    version: int = positional(description="the version to restore (2 or v2)", ge=1)

    _v = field_validator("version", mode="before")(lambda cls, v: _version(v))


class ArchivalInsertArgs(Args):
    text: str = positional(description="the passage")
    tags: list[str] = option([], "tag (repeat, or comma-separated)", flag="tag")

    _t = field_validator("tags", mode="before")(lambda cls, v: _tags(v))

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the passage must contain some text")
        return v


class ArchivalSearchArgs(Args):
    query: str = positional(description="words to look for")
    tags: list[str] = option([], "tag (repeat, or comma-separated)", flag="tag")
    all_tags: bool = option(False, "require every tag (default: any)")
    since: datetime | None = option(None, "from this date (YYYY-MM-DD)")
    until: datetime | None = option(None, "up to and including this date (YYYY-MM-DD)")
    limit: int = option(10, "how many results", ge=1)
    mode: SearchMode = option("hybrid", "hybrid, vector or text")

    _t = field_validator("tags", mode="before")(lambda cls, v: _tags(v))
    _s = field_validator("since", mode="before")(lambda cls, v: _day(v, end=False))
    _u = field_validator("until", mode="before")(lambda cls, v: _day(v, end=True))


class ArchivalListArgs(Args):
    tags: list[str] = option([], "only passages with this tag", flag="tag")
    limit: int = option(50, "how many (newest first)", ge=1)

    _t = field_validator("tags", mode="before")(lambda cls, v: _tags(v))


class ArchivalDeleteArgs(Args):
    id: str = positional(description="the passage's id")


class ExportArgs(Args):
    format: Literal["agents-md", "claude-md"] = positional(description="agents-md or claude-md")
    output: str | None = option(None, "file to write ('-': standard output; default: "
                                "AGENTS.md / CLAUDE.md in the workspace)", path=True)
    force: bool = option(False, "overwrite a file lsp-agent did not write")


class ConversationNewArgs(Args):
    title: str = option("", "its title")


class ConversationListArgs(Args):
    pass


class ConversationSwitchArgs(Args):
    id: str = positional(description="id or unique prefix")


class ConversationForkArgs(Args):
    id: str | None = positional(None, "id or unique prefix (default: the active one)")
    title: str = option("", "the fork's title")


class ConversationHistoryArgs(Args):
    id: str | None = positional(None, "id or unique prefix (default: the active one)")
    before: int | None = option(None, "messages before this seq (the previous page)", ge=0)
    limit: int = option(50, "how many messages (the newest first page)", ge=1)


class ConversationRenameArgs(Args):
    id: str = positional(description="id or unique prefix")
    title: str = positional(description="the new title")


class ConversationDeleteArgs(Args):
    id: str = positional(description="id or unique prefix")
    yes: bool = option(False, "already confirmed by the user", cli=False)


class ApproveArgs(Args):
    approval_id: str = option(..., "the approval_id of an approval_request event")
    answer: Literal["allow", "always", "deny"] = option(..., "allow, always (this session) "
                                                         "or deny")


class SkillsArgs(Args):
    pass


def parse_args(model: type[Args], raw: tuple[Any, ...] | list[Any]) -> Args:
    """Validate a command's `arguments` list; raise InvalidArguments with what was expected."""
    if len(raw) == 0:
        data: Any = {}
    elif len(raw) == 1:
        data = raw[0]
    else:
        raise InvalidArguments(
            f"expected one JSON object as the only argument, got {len(raw)} arguments")
    if data is None:
        data = {}
    if hasattr(data, "__dict__") and not isinstance(data, dict):
        data = dict(vars(data))
    if not isinstance(data, dict):
        raise InvalidArguments(
            f"expected a JSON object as the argument, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidArguments(describe(exc, model)) from None


def describe(exc: ValidationError, model: type[Args]) -> str:
    """What was wrong with the arguments, in words (no schema): one clause per problem."""
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "the argument"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            problems.append(f"{where} is required")
        elif err["type"] == "extra_forbidden":
            problems.append(f"{where} is not an argument of this command")
        else:
            problems.append(f"{where}: {msg[0].lower() + msg[1:] if msg else msg}")
    return "; ".join(problems) + "."
