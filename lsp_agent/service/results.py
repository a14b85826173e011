"""What the service's use cases return: typed, JSON-ready results (the `data` of every face)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# the memory doctor's advice on a mirror file (made in learning, a result like the others)
from lsp_agent.learning.memory_doctor import MemoryFinding as MemoryFinding
from lsp_agent.skills.skill import Skill

#: One search result across kinds (docs/protocol.md `Hit`): kind, id, title, snippet, score...
Hit = dict[str, object]


class TeamStatus(BaseModel):
    """The team store (URI without secrets), whether it answered, and the offline queue."""

    store: str
    reachable: bool | None = None  # None: not tried
    error: str = ""
    queued: int = 0
    oldest_queued: str = ""
    set_aside: int = 0
    queue_file: str = ""


class Status(BaseModel):
    workspace: str
    store: str
    memory_folder: str
    embedder: str
    model: str
    state: str
    permission_mode: str
    active_conversation: str
    counts: dict[str, int]
    embedding_in_background: bool = False
    code_embedder: str = ""
    skipped_files: dict[str, int] = Field(default_factory=dict)  # by reason, last index run
    redacted_files: int = 0  # indexed with their secrets replaced by tags
    team: TeamStatus | None = None  # set when the workspace uses a team store
    warnings: list[str] = Field(default_factory=list)


class Remembered(BaseModel):
    block: str
    version: int
    changed: bool
    mode: str
    blocks: list[str] = Field(default_factory=list)
    reply: str = ""


class AskResult(BaseModel):
    reply: str
    conversation_id: str
    turn_id: str = ""
    steps: int
    stopped: str
    usage: dict[str, object]
    tool_calls: list[dict[str, object]] = Field(default_factory=list)


class InitResult(BaseModel):
    blocks: list[str]
    facts: int
    indexed_files: int
    index: dict[str, object]
    embedded_chunks: int | None = None
    embedding_log: str = ""  # where a detached embedding process writes
    research: str = ""


class ReflectResult(BaseModel):
    changes: list[dict[str, object]] = Field(default_factory=list)
    note: str = ""
    reply: str = ""
    conversation_id: str = ""


class SkillProposal(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    skill: Skill
    text: str  # the SKILL.md as it would be written


class BlockEdit(BaseModel):
    label: str
    version: int
    changed: bool  # False: the value was already that; no version was written


class ArchivalInsert(BaseModel):
    id: str
    content: str
    tags: list[str]
    created_at: str
    created: bool  # False: the same passage with the same tags was already stored


class Exported(BaseModel):
    format: str
    path: str  # "" when written to standard output
    text: str
    written: bool


class TableCheck(BaseModel):
    name: str
    state: str  # intact, damaged, missing, absent (not made yet)
    detail: str = ""
    rows: int | None = None


class TeamDoctor(BaseModel):
    """The team store in `doctor`: its status, what killed machines left half done there
    (by kind), what `--repair` did, and why it could not do more."""

    status: TeamStatus
    pending: dict[str, int] = Field(default_factory=dict)
    repaired: list[str] = Field(default_factory=list)
    problem: str = ""


class DoctorReport(BaseModel):
    store: str
    healthy: bool
    tables: list[TableCheck]
    repaired: list[str] = Field(default_factory=list)
    advice: str = ""
    scrubbed: dict[str, object] | None = None  # what `--scrub` redacted and removed
    memory: list[MemoryFinding] = Field(default_factory=list)  # advice on the mirror files
    team: TeamDoctor | None = None
