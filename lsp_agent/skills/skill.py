"""The Agent Skills format (SKILL.md): model, parsing, validation and rendering.

Skills are folders other agents and people also read and write, so we follow the open
spec strictly when validating (name rules, field set, sizes) and render a stable, minimal
frontmatter so that an agent-written skill round-trips without churn.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field

from lsp_agent.errors import LspAgentError

SKILL_FILE = "SKILL.md"
MAX_NAME = 64
MAX_DESCRIPTION = 1024
MAX_COMPATIBILITY = 500
MAX_BODY_LINES = 500
SPEC_FIELDS = ("name", "description", "license", "compatibility", "metadata", "allowed-tools")
# Claude Code's own extensions; tolerated in .claude/skills, where they are expected.
CLAUDE_FIELDS = frozenset(
    {"disable-model-invocation", "user-invocable", "context", "argument-hint", "model", "agent"}
)
_NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_FRONTMATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*(?:\r?\n|\Z)", re.DOTALL | re.M)

SkillSource = Literal["project", "user", "claude"]


class SkillError(LspAgentError, ValueError):
    """A SKILL.md that cannot be read at all (no frontmatter, bad YAML, not a mapping)."""


class Skill(BaseModel):
    """One skill. `path` is its SKILL.md; `extra` keeps frontmatter keys outside the spec."""

    name: str
    description: str
    body: str = ""
    path: Path | None = None
    source: SkillSource = "project"
    license: str | None = None
    compatibility: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    allowed_tools: list[str] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def version(self) -> str | None:
        return self.metadata.get("version")


def name_errors(name: str) -> list[str]:
    """Why `name` is not a valid skill name (empty when it is)."""
    if not name:
        return ["name is empty"]
    if "/" in name or "\\" in name or ".." in name or Path(name).is_absolute():
        return [f"name {name!r} looks like a path (traversal is refused)"]
    errors = []
    if len(name) > MAX_NAME:
        errors.append(f"name is {len(name)} characters (limit {MAX_NAME})")
    if not _NAME_RE.match(name):
        errors.append(
            f"name {name!r} must be lowercase letters, digits and single hyphens,"
            " not starting or ending with a hyphen"
        )
    return errors


def parse_skill_md(text: str, path: Path | None = None, source: SkillSource = "project") -> Skill:
    """Read a SKILL.md. Raises SkillError when it has no usable frontmatter mapping.

    Field values are taken as found (validation is separate), so that a bad skill can
    still be shown to the user with its problems listed.
    """
    text = text.lstrip("\ufeff")
    match = _FRONTMATTER_RE.match(text)
    if match is None:
        raise SkillError("SKILL.md must start with YAML frontmatter between '---' lines")
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise SkillError(f"frontmatter is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SkillError("frontmatter must be a YAML mapping of fields")
    body = text[match.end() :].strip("\r\n")
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        metadata = {"": metadata}  # kept so validation can report it
    tools = data.get("allowed-tools") or []
    if isinstance(tools, str):
        tools = tools.split()
    return Skill(
        name=_str(data.get("name")),
        description=_str(data.get("description")),
        body=body + "\n" if body else "",
        path=path,
        source=source,
        license=None if data.get("license") is None else _str(data["license"]),
        compatibility=None if data.get("compatibility") is None else _str(data["compatibility"]),
        metadata={_str(k): _str(v) for k, v in metadata.items()},
        allowed_tools=[_str(t) for t in tools] if isinstance(tools, list) else [_str(tools)],
        extra={str(k): v for k, v in data.items() if k not in SPEC_FIELDS},
    )


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return yaml.safe_dump(value, default_flow_style=True).strip()
    return str(value).strip()


def validate_skill(skill: Skill, folder_name: str | None = None) -> list[str]:
    """Every way the skill breaks the spec; empty when valid.

    The name must equal its folder's name (`folder_name`, or the folder holding `path`).
    """
    errors = name_errors(skill.name)
    if folder_name is None and skill.path is not None:
        folder_name = skill.path.parent.name
    if folder_name is not None and skill.name and skill.name != folder_name:
        errors.append(f"name {skill.name!r} differs from its folder name {folder_name!r}")
    if not skill.description:
        errors.append("description is missing")
    elif len(skill.description) > MAX_DESCRIPTION:
        errors.append(f"description is {len(skill.description)} characters (limit 1024)")
    if skill.compatibility is not None and not 1 <= len(skill.compatibility) <= 500:
        errors.append(f"compatibility must be 1-{MAX_COMPATIBILITY} characters")
    if "" in skill.metadata:
        errors.append("metadata must be a mapping of strings")
    lines = skill.body.count("\n") + (0 if skill.body.endswith("\n") or not skill.body else 1)
    if lines > MAX_BODY_LINES:
        errors.append(
            f"body has {lines} lines (limit {MAX_BODY_LINES}); move details to referenced files"
        )
    allowed = CLAUDE_FIELDS if skill.source == "claude" else frozenset()
    unknown = sorted(k for k in skill.extra if k not in allowed)
    if unknown:
        errors.append(f"unknown frontmatter fields: {', '.join(unknown)}")
    return errors


def render_skill_md(skill: Skill) -> str:
    """SKILL.md text: spec fields in spec order, then any extra fields, then the body."""
    data: dict[str, Any] = {"name": skill.name, "description": skill.description}
    if skill.license is not None:
        data["license"] = skill.license
    if skill.compatibility is not None:
        data["compatibility"] = skill.compatibility
    if skill.metadata:
        data["metadata"] = dict(skill.metadata)
    if skill.allowed_tools:
        data["allowed-tools"] = " ".join(skill.allowed_tools)
    data.update(skill.extra)
    front = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000)
    body = skill.body.strip("\r\n")
    return f"---\n{front}---\n\n{body}\n" if body else f"---\n{front}---\n"


def skill_folder(workspace: Path, name: str) -> Path:
    """`<workspace>/.agents/skills/<name>/`; raises ValueError for names that could escape."""
    problems = name_errors(name)
    if problems:
        raise ValueError("; ".join(problems))
    base = (Path(workspace) / ".agents" / "skills").resolve()
    folder = (base / name).resolve()
    if folder.parent != base:
        raise ValueError(f"skill folder for {name!r} would leave {base}")
    return folder


def bump_version(existing: Skill, new: Skill) -> Skill:
    """`new` as an update of `existing`: same name and file, `metadata.version` + 1.

    Updating a skill in place (instead of writing a near-duplicate next to it) keeps the
    catalog short; the version tells readers and diffs that it changed.
    """
    old = existing.metadata.get("version", "1")
    match = re.search(r"(\d+)(?!.*\d)", old)
    if match:
        version = f"{old[: match.start()]}{int(match.group(1)) + 1}{old[match.end() :]}"
    else:
        version = f"{old}.1" if old else "2"
    metadata = {**existing.metadata, **new.metadata, "version": version}
    return new.model_copy(
        update={
            "name": existing.name,
            "path": existing.path,
            "source": existing.source,
            "metadata": metadata,
        }
    )
