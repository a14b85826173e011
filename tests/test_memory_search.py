"""AgentMemory.search across kinds: block and skill term matching, fusion, order, modes."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from lsp_agent.learning.init import END, START
from lsp_agent.learning.skills_service import search_skills
from lsp_agent.memory.agent_memory import AgentMemory
from lsp_agent.memory.terms import best_line, query_terms, term_score


def test_query_terms_drop_stop_words() -> None:
    assert query_terms("How do I run the tests?") == ["run", "tests"]
    assert query_terms("the THE a I") == []
    assert term_score(["test"], "the tests and testing") > term_score(["test"], "a test") > 0
    assert term_score(["tests"], "", name="tests", name_weight=3.0) == 0.0  # name alone: no
    assert best_line(["lint"], f"{START}\n- Test: pytest\n- Lint: ruff\n{END}") == "- Lint: ruff"


def test_blocks_never_match_on_stop_words_or_empty_values(memory: AgentMemory) -> None:
    assert memory.blocks.get("human").value == ""
    assert memory.search("how do I run the tests", kind="blocks") == []
    assert memory.search("how do I run the tests", kind="all") == []
    memory.blocks.set("commands", "- Run the tests with pytest -q", author="user")
    hits = memory.search("how do I run the tests", kind="all")
    assert [(h["kind"], h["id"]) for h in hits] == [("block", "commands")]
    assert hits[0]["snippet"] == "- Run the tests with pytest -q"


def test_block_label_or_description_alone_is_no_match(memory: AgentMemory) -> None:
    memory.blocks.set("human", "Prefers tabs over spaces.", author="user")
    # "preferences" and "habits" are only in the human block's description
    assert memory.search("preferences habits", kind="blocks") == []
    assert [h["id"] for h in memory.search("tabs", kind="blocks")] == ["human"]


def test_block_snippet_is_the_best_line_never_the_init_markers(memory: AgentMemory) -> None:
    value = (f"Hand-written note: deploys go through CI.\n{START}\n- Test: `pytest -q`\n"
             f"- Lint: `ruff check .` (from pyproject.toml)\n{END}")
    memory.blocks.set("commands", value, author="user")
    hit = memory.search("init lint check", kind="blocks")[0]
    assert hit["snippet"] == "- Lint: `ruff check .` (from pyproject.toml)"
    # words found only inside the markers are no match
    assert memory.search("section kept outside", kind="blocks") == []


def skill_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    ws = tmp_path / "ws"
    for name, description, body in [
        ("run-tests", "Runs the test suite. Use when asked to verify a change.", "pytest -q"),
        ("greet-users", "How greetings are built here; use when changing greet().", "Edit it."),
        ("release", "Cut a release of the package.", "Bump the version, then run the tests."),
    ]:
        folder = ws / ".agents" / "skills" / name
        folder.mkdir(parents=True)
        (folder / "SKILL.md").write_text(
            f"---\nname: {name}\ndescription: {description}\n---\n\n{body}\n")
    return SimpleNamespace(workspace=ws, settings=SimpleNamespace(trust_workspace=True))


def test_skills_use_the_same_term_scorer(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    session = skill_session(tmp_path, monkeypatch)
    assert search_skills(session, "how is it done here", 10) == []  # stop words only
    hits = search_skills(session, "run tests", 10)
    assert [h["id"] for h in hits] == ["run-tests", "release"]  # the name counts most
    assert hits[0]["score"] > hits[1]["score"] > 0
    assert [h["id"] for h in search_skills(session, "greetings", 10)] == ["greet-users"]
