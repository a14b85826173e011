"""Agent Skills: parsing, spec validation, rendering, discovery precedence and trust."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsp_agent.skills import (
    Skill,
    SkillError,
    bump_version,
    catalog_text,
    discover_skills,
    find_skills,
    parse_skill_md,
    render_skill_md,
    skill_folder,
    validate_skill,
)

GOOD = """---
name: run-tests
description: Runs the test suite. Use when asked to test or verify a change.
license: Apache-2.0
metadata:
  version: 1
  author: team
allowed-tools: Bash(pytest:*) Read
---

# Running tests

Run `pytest -q`.
"""


def write_skill(root: Path, folder: str, text: str) -> Path:
    path = root / folder / "SKILL.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def make(name: str, description: str = "Does a thing. Use when needed.", body: str = "") -> str:
    return f"---\nname: {name}\ndescription: {description}\n---\n\n{body or '# ' + name}\n"


def test_parse_good_skill() -> None:
    skill = parse_skill_md(GOOD, Path("/w/.agents/skills/run-tests/SKILL.md"))
    assert skill.name == "run-tests"
    assert skill.description.startswith("Runs the test suite.")
    assert skill.license == "Apache-2.0"
    assert skill.metadata == {"version": "1", "author": "team"}
    assert skill.allowed_tools == ["Bash(pytest:*)", "Read"]
    assert skill.body == "# Running tests\n\nRun `pytest -q`.\n"
    assert skill.extra == {}
    assert validate_skill(skill) == []


@pytest.mark.parametrize(
    "name",
    ["Run-Tests", "-lead", "trail-", "dou--ble", "under_score", "a" * 65, "sp ace", ""],
)
def test_bad_names(name: str) -> None:
    skill = Skill(name=name, description="ok")
    errors = validate_skill(skill, folder_name=name)
    assert errors and any("name" in e for e in errors)


@pytest.mark.parametrize("name", ["a", "run-tests", "x1-2y", "a" * 64])
def test_good_names(name: str) -> None:
    assert validate_skill(Skill(name=name, description="ok"), folder_name=name) == []


def test_name_must_match_folder() -> None:
    skill = parse_skill_md(make("alpha"), Path("/w/.agents/skills/beta/SKILL.md"))
    assert any("folder" in e for e in validate_skill(skill))


def test_missing_and_long_description() -> None:
    missing = parse_skill_md("---\nname: a\n---\nbody\n")
    assert "description is missing" in validate_skill(missing, "a")
    long = Skill(name="a", description="x" * 1025)
    assert any("1024" in e for e in validate_skill(long, "a"))
    assert validate_skill(Skill(name="a", description="x" * 1024), "a") == []


def test_body_too_long() -> None:
    ok = Skill(name="a", description="d", body="line\n" * 500)
    assert validate_skill(ok, "a") == []
    too_long = Skill(name="a", description="d", body="line\n" * 501)
    assert any("501 lines" in e for e in validate_skill(too_long, "a"))


@pytest.mark.parametrize("name", ["../evil", "a/b", "/abs", "..", "a\\b"])
def test_traversal_refused(name: str, tmp_path: Path) -> None:
    assert any("traversal" in e for e in validate_skill(Skill(name=name, description="d")))
    with pytest.raises(ValueError):
        skill_folder(tmp_path, name)


def test_skill_folder(tmp_path: Path) -> None:
    assert skill_folder(tmp_path, "run-tests") == (tmp_path / ".agents/skills/run-tests").resolve()


@pytest.mark.parametrize(
    "text",
    ["no frontmatter\n", "---\n- a list\n---\nbody\n", "---\nname: [unclosed\n---\n", "---\n---\n"],
)
def test_unusable_frontmatter_raises(text: str) -> None:
    with pytest.raises(SkillError):
        parse_skill_md(text)


def test_unknown_fields_rejected_except_claude_extensions() -> None:
    text = "---\nname: a\ndescription: d\nmodel: opus\ncolour: red\n---\nbody\n"
    project = parse_skill_md(text, source="project")
    assert validate_skill(project, "a") == ["unknown frontmatter fields: colour, model"]
    claude = parse_skill_md(text, source="claude")
    assert validate_skill(claude, "a") == ["unknown frontmatter fields: colour"]


def test_round_trip() -> None:
    skill = parse_skill_md(GOOD)
    text = render_skill_md(skill)
    assert text.startswith("---\nname: run-tests\ndescription: ")
    assert "allowed-tools: Bash(pytest:*) Read\n" in text
    assert parse_skill_md(text) == skill
    assert render_skill_md(parse_skill_md(text)) == text
    tricky = Skill(name="b", description="Colons: and 'quotes' # hash", metadata={"k": "1"})
    assert parse_skill_md(render_skill_md(tricky)) == tricky


def test_discovery_precedence_and_invalid(tmp_path: Path) -> None:
    ws, home = tmp_path / "ws", tmp_path / "home"
    write_skill(ws / ".agents/skills", "shared", make("shared", "Project version."))
    write_skill(ws / ".claude/skills", "shared", make("shared", "Claude version."))
    write_skill(ws / ".claude/skills", "claude-only", make("claude-only"))
    write_skill(home / ".agents/skills", "shared", make("shared", "User version."))
    write_skill(home / ".agents/skills", "mine", make("mine"))
    bad = write_skill(ws / ".agents/skills", "Bad-Name", make("Bad-Name"))
    broken = write_skill(ws / ".agents/skills", "broken", "no frontmatter\n")
    (ws / ".agents/skills/empty-dir").mkdir()

    found = find_skills(ws, home=home)
    by_name = {s.name: s for s in found.skills}
    assert sorted(by_name) == ["claude-only", "mine", "shared"]
    assert by_name["shared"].description == "Project version."
    assert by_name["shared"].source == "project"
    assert by_name["claude-only"].source == "claude"
    assert by_name["mine"].source == "user"
    invalid = dict(found.invalid)
    assert set(invalid) == {bad, broken}
    assert any("name" in e for e in invalid[bad])
    assert [s.name for s in discover_skills(ws, home=home)] == ["claude-only", "mine", "shared"]


def test_untrusted_workspace_loads_only_user_skills(tmp_path: Path) -> None:
    ws, home = tmp_path / "ws", tmp_path / "home"
    write_skill(ws / ".agents/skills", "project-skill", make("project-skill"))
    write_skill(ws / ".agents/skills", "shared", make("shared", "Project version."))
    write_skill(home / ".agents/skills", "shared", make("shared", "User version."))
    skills = discover_skills(ws, home=home, trusted=False)
    assert [(s.name, s.description, s.source) for s in skills] == [
        ("shared", "User version.", "user")
    ]


def test_catalog_text(tmp_path: Path) -> None:
    assert catalog_text([]) == ""
    skills = [
        Skill(name="zeta", description="Last.\nTwo lines.", path=Path("/s/zeta/SKILL.md")),
        Skill(name="alpha", description="First."),
    ]
    text = catalog_text(skills)
    assert text.index("**alpha**: First.") < text.index("**zeta**: Last. Two lines. (/s/zeta")
    assert "SKILL.md" in text


def test_bump_version() -> None:
    existing = parse_skill_md(GOOD, Path("/w/.agents/skills/run-tests/SKILL.md"))
    new = Skill(name="run-tests", description="Better.", body="New body.\n")
    bumped = bump_version(existing, new)
    assert bumped.metadata["version"] == "2"
    assert bumped.metadata["author"] == "team"
    assert bumped.path == existing.path
    assert bumped.description == "Better."
    assert bump_version(bumped, new).metadata["version"] == "3"
    unversioned = Skill(name="x", description="d")
    assert bump_version(unversioned, unversioned).metadata["version"] == "2"
    dotted = Skill(name="x", description="d", metadata={"version": "1.4"})
    assert bump_version(dotted, dotted).metadata["version"] == "1.5"
