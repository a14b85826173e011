"""AgentMemory.search across kinds: block and skill term matching, fusion, order, modes."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lsp_agent.learning.code_index import build_index, embed_pending
from lsp_agent.learning.code_search import search_code
from lsp_agent.learning.init import END, START
from lsp_agent.learning.skills_service import search_skills
from lsp_agent.memory.agent_memory import KINDS_FUSION, AgentMemory
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
    assert search_skills(session.workspace, True, "how is it done here", 10) == []  # stop words only
    hits = search_skills(session.workspace, True, "run tests", 10)
    assert [h["id"] for h in hits] == ["run-tests", "release"]  # the name counts most
    assert hits[0]["score"] > hits[1]["score"] > 0
    assert [h["id"] for h in search_skills(session.workspace, True, "greetings", 10)] == ["greet-users"]


# --- modes, order and fusion of AgentMemory.search ------------------------------------------

DEFINITION = ("def frobnicate(widget):\n    \"\"\"Turn a widget.\"\"\"\n"
              + "".join(f"    widget.step_{i}()\n" for i in range(40)) + "    return widget\n")
CALLER = ("def calls_everything(items):\n"
          + "".join(f"    frobnicate(items[{i}])  # frobnicate again\n" for i in range(40))
          + "    return items\n")


class FakeEmbedder:
    """Instant vectors that differ by text: for modes and order, not meaning."""

    name, dim = "fake", 384

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, hash(word) % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


@pytest.fixture
def code_memory(tmp_path: Path, home: Path) -> AgentMemory:
    ws = tmp_path / "code"
    ws.mkdir()
    (ws / "widgets.py").write_text(DEFINITION + "\n\n" + CALLER)
    (ws / "notes.md").write_text("# Notes\n\nWe frobnicate widgets before shipping them.\n")
    mem = AgentMemory(ws, store_uri=str(tmp_path / "store"), embedder="none", code_embedder="none")
    mem.open()
    build_index(mem)
    return mem


def add_code_source(mem: AgentMemory) -> None:
    """The code source as the agent service attaches it (query, limit, mode)."""
    mem.sources["code"] = lambda query, limit, mode: search_code(mem, query, limit, mode)


def scores(hits: list[dict]) -> list[float]:
    return [h["score"] for h in hits]


def test_code_hits_come_out_best_first_by_their_score(code_memory: AgentMemory) -> None:
    for mode in ("hybrid", "text"):
        hits = search_code(code_memory, "frobnicate", 10, mode)
        assert hits[0]["symbol"] == "frobnicate"  # the definition first, as before
        assert len(hits) > 1 and scores(hits) == sorted(scores(hits), reverse=True), mode


def test_code_search_honours_the_mode(code_memory: AgentMemory) -> None:
    code_memory.store._embedder, code_memory.store._embedder_loaded = FakeEmbedder(), True
    assert embed_pending(code_memory) > 0
    add_code_source(code_memory)

    def ranks(mode: str) -> set[tuple[bool, bool]]:
        hits = code_memory.search("frobnicate widgets", kind="code", mode=mode)  # type: ignore[arg-type]
        assert hits
        return {(h["text_rank"] is not None, h["vector_rank"] is not None) for h in hits}

    assert ranks("text") == {(True, False)}
    assert ranks("vector") == {(False, True)}
    assert (True, True) in ranks("hybrid")
    assert not code_memory.store.warnings


def test_vector_mode_without_an_embedder_says_it_searched_full_text(
        code_memory: AgentMemory) -> None:
    add_code_source(code_memory)
    conv = code_memory.recall.new_conversation()
    code_memory.recall.append(conv.id, "user", "should we frobnicate the widgets?")
    for kind in ("code", "messages"):
        hits = code_memory.search("frobnicate", kind=kind, mode="vector")
        assert hits and all(h["vector_rank"] is None for h in hits)
    warnings = [w for w in code_memory.store.warnings if "Vector search" in w]
    assert len(warnings) == 1 and "full text" in warnings[0] and "'none'" in warnings[0]


def test_every_kind_is_best_first_by_its_score(code_memory: AgentMemory, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    mem = code_memory
    add_code_source(mem)
    session = skill_session(tmp_path, monkeypatch)
    mem.sources["skills"] = lambda query, limit, mode: search_skills(session.workspace, True, query, limit)
    conv = mem.recall.new_conversation()
    for text in ("run the tests", "the tests run slowly when we frobnicate", "tests tests tests"):
        mem.recall.append(conv.id, "user", text)
    mem.archival.insert("Run the tests before a release.", ["process"])
    mem.archival.insert("Tests, tests: run them and frobnicate.", ["process"])
    mem.blocks.set("commands", "- Run the tests: pytest -q\n- Release: run tests, tag",
                   author="user")
    mem.blocks.set("notes", "tests are slow", author="user")
    for query in ("run tests", "frobnicate", "tests release"):
        for kind in ("messages", "archival", "blocks", "skills", "code", "all"):
            for mode in ("hybrid", "text"):
                hits = mem.search(query, kind=kind, mode=mode)  # type: ignore[arg-type]
                assert scores(hits) == sorted(scores(hits), reverse=True), (query, kind, mode)
    fused = mem.search("run tests", kind="all")
    assert {h["kind"] for h in fused} >= {"message", "archival", "block", "skill"}
    # each kind's best hit gets the same first-place share: 1 / (rrf_k + 1)
    firsts = [h for h in fused if h["score"] == pytest.approx(1 / (KINDS_FUSION.rrf_k + 1))]
    assert len(firsts) >= 4
