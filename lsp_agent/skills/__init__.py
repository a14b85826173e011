"""Agent Skills: SKILL.md folders of task instructions the agent can discover and write."""

from lsp_agent.skills.discovery import (
    SkillDiscovery,
    catalog_text,
    discover_skills,
    find_skills,
    skill_roots,
)
from lsp_agent.skills.skill import (
    SKILL_FILE,
    Skill,
    SkillError,
    bump_version,
    name_errors,
    parse_skill_md,
    render_skill_md,
    skill_folder,
    validate_skill,
)

__all__ = [
    "SKILL_FILE",
    "Skill",
    "SkillDiscovery",
    "SkillError",
    "bump_version",
    "catalog_text",
    "discover_skills",
    "find_skills",
    "name_errors",
    "parse_skill_md",
    "render_skill_md",
    "skill_folder",
    "skill_roots",
    "validate_skill",
]
