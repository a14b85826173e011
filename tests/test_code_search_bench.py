"""The code-search benchmark's scoring rules and its question set (benchmarks/code_search.py)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "code_search.py"
spec = importlib.util.spec_from_file_location("code_search_bench", BENCH)
assert spec and spec.loader
cs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cs)

ANSWER = [{"path": "src/a.py", "start_line": 40, "end_line": 60}]


@pytest.mark.parametrize(("path", "kind"), [
    ("src/pkg/mod.py", "code"), ("docs/api.rst", "docs"), ("README.md", "docs"),
    ("CHANGELOG.md", "docs"), ("documentation/7-retry.md", "docs"), ("tests/test_x.py", "tests"),
    ("test/retry.ts", "tests"), ("flag_test.go", "tests"), ("src/x.spec.ts", "tests"),
    ("testing.py", "code"), ("source/core/index.ts", "code"),
])
def test_path_kind(path: str, kind: str) -> None:
    assert cs.path_kind(path) == kind


def test_file_rank_counts_files_not_chunks() -> None:
    hits = [["docs/a.md", 1, 9], ["docs/a.md", 10, 20], ["tests/t.py", 1, 5], ["src/a.py", 1, 30]]
    row = cs.score_question(hits, ANSWER)
    assert row["rank"] == 3 and row["rr"] == pytest.approx(1 / 3)
    assert row["recall5"] and not row["hit5"]  # src/a.py:1-30 misses lines 40-60
    assert row["top1"] == "docs"


def test_line_hit_needs_overlap_within_the_first_five_results() -> None:
    near = [["src/a.py", 55, 90]]
    assert cs.score_question(near, ANSWER)["hit5"]
    late = [[f"x{i}.py", i, i] for i in range(5)] + [["src/a.py", 40, 60]]
    row = cs.score_question(late, ANSWER)
    assert not row["hit5"] and row["rank"] == 6 and not row["recall5"]
    assert cs.score_question([], ANSWER) == {"rank": None, "rr": 0.0, "recall5": False,
                                             "hit5": False, "top1": None}


def test_aggregate_leaves_test_questions_out_of_the_docs_count() -> None:
    rows = [dict(cs.score_question([["tests/t.py", 1, 2]], ANSWER), type="test"),
            dict(cs.score_question([["src/a.py", 41, 42]], ANSWER), type="reworded")]
    agg = cs.aggregate(rows)
    assert agg["mrr"] == 0.5 and agg["recall5"] == 0.5 and agg["hit5"] == 0.5
    assert (agg["docs_tests_top1"], agg["non_test"]) == (0, 1)


def test_windows_cover_every_line_with_half_overlap() -> None:
    assert cs.window_starts(10) == [0]
    assert cs.window_starts(60) == [0]
    assert cs.window_starts(61) == [0, 30]
    assert cs.window_starts(150) == [0, 30, 60, 90]  # last window 91-150
    assert cs.tokenize("def parse_link(header): return 'A-b'") == \
        ["def", "parse_link", "header", "return", "a", "b"]


def test_question_set_meets_the_issue() -> None:
    repos = json.loads((cs.DATA / "repos.json").read_text())
    qs = [json.loads(x) for x in (cs.DATA / "questions.jsonl").read_text().splitlines()]
    assert len({r["language"] for r in repos}) >= 3
    assert all(len(r["commit"]) == 40 for r in repos)
    assert len(qs) >= 45 and len({q["id"] for q in qs}) == len(qs)
    for r in repos:
        assert sum(q["repo"] == r["name"] for q in qs) >= 16
    types = [q["type"] for q in qs]
    assert set(types) <= {"identifier", "reworded", "docs-trap", "test"}
    assert types.count("reworded") * 3 >= len(qs) and types.count("docs-trap") * 4 >= len(qs)
    for q in qs:
        for a in q["answers"]:
            assert 1 <= a["start_line"] <= a["end_line"]
            if q["type"] != "test":
                assert cs.path_kind(a["path"]) == "code", q["id"]


def test_holdout_set_meets_the_same_rules_on_new_repositories() -> None:
    """The hold-out set: >= 12 questions on each of 3 languages, none of the tuned-on repositories."""
    main = {r["github"] for r in json.loads((cs.DATA / "repos.json").read_text())}
    repos = json.loads((cs.DATA / "holdout_repos.json").read_text())
    qs = [json.loads(x) for x in (cs.DATA / "holdout.jsonl").read_text().splitlines()]
    assert cs.default_repos_file(cs.DATA / "holdout.jsonl") == cs.DATA / "holdout_repos.json"
    assert cs.default_repos_file(cs.DATA / "questions.jsonl") == cs.DATA / "repos.json"
    assert len({r["language"] for r in repos}) >= 3 and not main & {r["github"] for r in repos}
    assert all(re.fullmatch(r"[0-9a-f]{40}", r["commit"]) for r in repos)
    assert len(qs) >= 36 and len({q["id"] for q in qs}) == len(qs)
    assert {q["repo"] for q in qs} == {r["name"] for r in repos}
    for r in repos:
        assert sum(q["repo"] == r["name"] for q in qs) >= 12, r["name"]
    types = [q["type"] for q in qs]
    assert set(types) == {"identifier", "reworded", "docs-trap", "test"}
    assert types.count("reworded") * 3 >= len(qs) and types.count("docs-trap") * 4 >= len(qs)
    for q in qs:
        for a in q["answers"]:
            assert 1 <= a["start_line"] <= a["end_line"]
            assert cs.path_kind(a["path"]) == ("tests" if q["type"] == "test" else "code"), q["id"]
