"""Find the skills available in a workspace and describe them to the model.

Skills come from the project (`.agents/skills/`, and `.claude/skills/` for compatibility)
and from the user's home (`~/.agents/skills/`). The project wins a name clash because it
knows its own needs best. A broken skill must never stop the agent, so problems are
collected and returned for display, not raised. An untrusted workspace's skills are
instructions written by strangers, so they are not loaded at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lsp_agent.skills.skill import (
    SKILL_FILE,
    Skill,
    SkillError,
    SkillSource,
    parse_skill_md,
    validate_skill,
)


@dataclass
class SkillDiscovery:
    """Valid skills by name (sorted), plus each invalid SKILL.md with its problems."""

    skills: list[Skill] = field(default_factory=list)
    invalid: list[tuple[Path, list[str]]] = field(default_factory=list)


def skill_roots(
    workspace: Path, home: Path | None = None, trusted: bool = True
) -> list[tuple[Path, SkillSource]]:
    """Skill directories, highest precedence first."""
    home = Path.home() if home is None else home
    roots: list[tuple[Path, SkillSource]] = []
    if trusted:
        roots.append((workspace / ".agents" / "skills", "project"))
        roots.append((workspace / ".claude" / "skills", "claude"))
    roots.append((home / ".agents" / "skills", "user"))
    return roots


def find_skills(workspace: Path, home: Path | None = None, trusted: bool = True) -> SkillDiscovery:
    """All skills with their problems; see `discover_skills` for the common case."""
    found = SkillDiscovery()
    by_name: dict[str, Skill] = {}
    for root, source in skill_roots(Path(workspace), home, trusted):
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            skill_file = folder / SKILL_FILE
            if not folder.is_dir() or not skill_file.is_file():
                continue
            try:
                skill = parse_skill_md(skill_file.read_text(encoding="utf-8"), skill_file, source)
            except (SkillError, OSError, UnicodeDecodeError) as exc:
                found.invalid.append((skill_file, [str(exc)]))
                continue
            errors = validate_skill(skill, folder.name)
            if errors:
                found.invalid.append((skill_file, errors))
            elif skill.name not in by_name:  # roots come in precedence order
                by_name[skill.name] = skill
    found.skills = [by_name[name] for name in sorted(by_name)]
    return found


def discover_skills(workspace: Path, home: Path | None = None, trusted: bool = True) -> list[Skill]:
    """Valid skills visible in `workspace`, project ones overriding the user's by name."""
    return find_skills(workspace, home, trusted).skills


def catalog_text(skills: list[Skill]) -> str:
    """The system-prompt section naming each skill, so the model knows when to open one.

    Only name, description and location go in: bodies are read on demand, which keeps the
    prompt small however many skills there are.
    """
    if not skills:
        return ""
    lines = [
        "## Skills",
        "Skills are instructions for specific tasks. When a task matches a skill's"
        " description, read its SKILL.md before starting and follow it.",
        "",
    ]
    for skill in sorted(skills, key=lambda s: s.name):
        where = f" ({skill.path})" if skill.path else ""
        description = " ".join(skill.description.split())
        lines.append(f"- **{skill.name}**: {description}{where}")
    return "\n".join(lines) + "\n"
