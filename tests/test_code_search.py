"""Code search finds the source: categories, filters by path glob and language."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsp_agent.learning.code_index import build_index
from lsp_agent.learning.code_search import path_matcher, search_code
from lsp_agent.learning.workspace_files import file_category
from lsp_agent.memory.agent_memory import AgentMemory

SOURCE = '''\
"""Retries for the HTTP client."""


def compute_backoff(attempt: int, base: float = 0.5) -> float:
    """Delay before retry number `attempt`: exponential, capped."""
    return min(base * 2 ** attempt, 30.0)
'''
TEST = '''\
from client.retry import compute_backoff


def test_compute_backoff_grows() -> None:
    assert compute_backoff(1) > compute_backoff(0)


def test_compute_backoff_is_capped() -> None:
    assert compute_backoff(99) == 30.0  # compute backoff caps the backoff
'''
DOCS = """# Retries

The client waits `compute_backoff(attempt)` seconds between retries: compute backoff
doubles the backoff each attempt. See compute_backoff.
"""
TS = "export function backoffDelay(attempt: number): number {\n  return 2 ** attempt;\n}\n"


@pytest.fixture
def mem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AgentMemory:
    monkeypatch.setenv("LSP_AGENT_HOME", str(tmp_path / "home"))
    root = tmp_path / "ws"
    for rel, text in {"client/retry.py": SOURCE, "tests/test_retry.py": TEST,
                      "docs/retries.md": DOCS, "web/retry.ts": TS,
                      "config/retry.yaml": "compute_backoff:\n  base: 0.5\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    memory = AgentMemory(root, store_uri=str(tmp_path / "store"), embedder="none")
    memory.open()
    build_index(memory)
    return memory


def paths(hits: list[dict]) -> list[str]:
    return [h["path"] for h in hits]


def test_code_means_source_even_when_tests_and_docs_repeat_the_words(mem: AgentMemory) -> None:
    hits = search_code(mem, "compute backoff")
    assert hits[0]["path"] == "client/retry.py"
    assert {"tests/test_retry.py", "docs/retries.md", "config/retry.yaml"}.isdisjoint(paths(hits))
    assert hits[0]["category"] == "code" and hits[0]["language"] == "python"


def test_tests_docs_and_config_are_searched_apart(mem: AgentMemory) -> None:
    assert paths(search_code(mem, "compute backoff", category="test")) == ["tests/test_retry.py"]
    assert paths(search_code(mem, "compute backoff", category="docs")) == ["docs/retries.md"]
    assert paths(search_code(mem, "compute backoff", category="config")) == ["config/retry.yaml"]
    everything = set(paths(search_code(mem, "compute backoff", category=None)))
    assert {"client/retry.py", "tests/test_retry.py", "docs/retries.md"} <= everything


def test_a_question_about_tests_brings_them_in(mem: AgentMemory) -> None:
    found = paths(search_code(mem, "tests of compute_backoff"))
    assert found[0] == "tests/test_retry.py" and "client/retry.py" in found
    assert "docs/retries.md" not in found


def test_a_query_naming_a_test_ranks_it_first_one_mentioning_testing_does_not(
        mem: AgentMemory) -> None:
    assert paths(search_code(mem, "which test checks compute backoff"))[0] == (
        "tests/test_retry.py")
    assert paths(search_code(mem, "compute backoff during a test run"))[0] == "client/retry.py"


def test_filters_by_path_glob_and_language(mem: AgentMemory) -> None:
    assert paths(search_code(mem, "backoff", language="typescript")) == ["web/retry.ts"]
    assert paths(search_code(mem, "backoff", paths=["*.ts"])) == ["web/retry.ts"]
    assert paths(search_code(mem, "backoff", paths=["client/**"])) == ["client/retry.py"]
    assert search_code(mem, "backoff", paths=["nowhere/**"]) == []
    with pytest.raises(ValueError, match="Unknown code category"):
        search_code(mem, "backoff", category="pictures")


@pytest.mark.parametrize(("glob", "path", "matches"), [
    ("*.ts", "web/a/retry.ts", True),
    ("*.ts", "retry.tsx", False),
    ("src/*.py", "src/a.py", True),
    ("src/*.py", "src/sub/a.py", False),
    ("src/**/*.py", "src/sub/deep/a.py", True),
    ("src/**/*.py", "src/a.py", True),
    ("src", "src/sub/a.py", True),
    ("src/", "lib/src.py", False),
    ("retry.py", "client/retry.py", True),
    ("./client/*", "client/retry.py", True),
])
def test_path_globs(glob: str, path: str, matches: bool) -> None:
    assert path_matcher([glob])(path) is matches


@pytest.mark.parametrize(("path", "language", "category"), [
    ("src/app/models.py", "python", "code"),
    ("tests/test_models.py", "python", "test"),
    ("pkg/conftest.py", "python", "test"),
    ("pkg/server_test.go", "go", "test"),
    ("src/button.test.tsx", "tsx", "test"),
    ("src/__tests__/button.ts", "typescript", "test"),
    ("docs/conf.py", "python", "docs"),
    ("docs/guide.md", "markdown", "docs"),
    ("CHANGES.rst", "rst", "docs"),
    ("README", None, "docs"),
    ("pyproject.toml", "toml", "config"),
    (".github/workflows/ci.yml", "yaml", "config"),
    ("requirements-dev.txt", "text", "config"),
    ("Makefile", "make", "config"),
    ("scripts/release.sh", "shell", "code"),
])
def test_file_categories(path: str, language: str | None, category: str) -> None:
    assert file_category(path, language) == category


def test_the_command_offers_every_search_kind() -> None:
    from typing import get_args

    from lsp_agent.commands.arguments import Kind
    from lsp_agent.memory.agent_memory import KINDS

    assert get_args(Kind) == KINDS


def test_vector_mode_before_the_vectors_are_made_searches_full_text(tmp_path: Path,
                                                                   mem: AgentMemory) -> None:
    # the contextual model is not fast: its vectors come after the rows, in a second pass
    slow = AgentMemory(mem.workspace, store_uri=str(tmp_path / "slow"), embedder="none",
                       code_embedder="default")
    slow.open()
    build_index(slow)
    assert slow.store.table("code_chunks").count_rows("embedder != ''") == 0
    hits = search_code(slow, "compute backoff", mode="vector")
    assert hits and hits[0]["path"] == "client/retry.py"
    assert any("not made yet" in w for w in slow.store.warnings)


def test_static_code_vectors_are_made_with_the_rows_and_find_reworded_code(
        mem: AgentMemory) -> None:
    from lsp_agent.learning.code_index import embed_pending

    table = mem.store.table("code_chunks")
    assert table.count_rows("embedder = 'static:e5-small-static-256'") == table.count_rows() > 0
    assert embed_pending(mem) == 0  # nothing left for a second pass
    hits = search_code(mem, "exponential delay between attempts", mode="vector", limit=3)
    assert hits[0]["vector_rank"] == 1 and "retry" in hits[0]["path"]


def test_files_left_out_are_counted_by_reason_for_status(tmp_path: Path) -> None:
    from lsp_agent.commands.views import status_doc
    from lsp_agent.learning.code_index import skipped_files
    from lsp_agent.service.results import Status

    root = tmp_path / "ws"
    (root / "web").mkdir(parents=True)
    (root / "web/app.min.js").write_text("var a=1;" * 2000)
    (root / "web/bundle.js").write_text("!function(){" + "x=1;" * 3000 + "}()")  # minified
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (root / "package-lock.json").write_text("{}")
    (root / "app.py").write_text("def main():\n    return 1\n")
    memory = AgentMemory(root, store_uri=str(tmp_path / "store"), embedder="none")
    memory.open()
    report = build_index(memory)
    assert report.files_indexed == 1
    reasons = skipped_files(memory)["reasons"]
    assert reasons == {"generated (by file name)": 1, "generated (minified: very long lines)": 1,
                       "binary": 1, "generated (lock file)": 1}, reasons
    st = Status(workspace="w", store="s", memory_folder="m", embedder="e", model="",
                state="idle", permission_mode="ask", active_conversation="",
                counts={"code_chunks": 1, "code_chunks_embedded": 1}, skipped_files=reasons)
    line = status_doc(st).plain()
    assert "files left out:" in line and "1 binary" in line and "minified" in line
