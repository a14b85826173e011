"""Static research measured on real repositories, against facts written by hand.

Each folder of tests/fixtures/research/ holds one open-source repository at a pinned commit
(source.json): the files research reads, verbatim (files/), and for every other file its
path and line count (_tree.txt), materialised here as stand-ins of the same length. Its
expected.json, written by reading the repository, lists:

- expected: facts a maintainer wants research to find (recall counts these);
- allowed: further facts that are right but not required;
- forbidden: facts that are wrong (another project's CI commands, a release step labelled
  build, `tox -e typing` labelled test...).

An item matches a fact when the category is equal, `purpose` (for commands, the fact's
topic) and `topic` are equal when given, `source` is a prefix of the fact's source when
given, and every string of `contains` occurs in the fact's text (case-insensitive).

Precision = among the produced `commands` and `conventions` facts, the share that match an
expected or allowed item and no forbidden item. Recall = the share of expected items (of
every category, project facts included) matched by a produced fact that is not forbidden.
Run this file as a script to print the table for whichever lsp_agent is on PYTHONPATH.

The repositories under holdout/ are a hold-out set: their expected facts were written and
committed before research was first run on them, so their first score was out-of-sample
(docs/benchmarks.md keeps it). Both sets are reported apart and the thresholds hold over all.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lsp_agent.learning.static_research import Fact, research_workspace

FIXTURES = Path(__file__).parent / "fixtures" / "research"
IN_SAMPLE = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.json").is_file())
HOLDOUT = sorted(f"holdout/{p.name}" for p in (FIXTURES / "holdout").iterdir()
                 if (p / "expected.json").is_file())  # fmt: skip
REPOS = IN_SAMPLE + HOLDOUT
SCORED = ("commands", "conventions")
RUFF_CONFIGS = ("pyproject.toml", "ruff.toml", ".ruff.toml")  # stored as .txt (extract.py)


def materialise(name: str, into: Path) -> Path:
    """The repository `name` as a folder: its verbatim files and same-length stand-ins."""
    root = into / name
    shutil.copytree(FIXTURES / name / "files", root)
    for stored in root.rglob("*.txt"):  # kept as .txt so that linters leave them alone
        if stored.name.endswith(".py.txt") or stored.name[:-4] in RUFF_CONFIGS:
            stored.rename(stored.with_suffix(""))
    for row in (FIXTURES / name / "_tree.txt").read_text("utf-8").splitlines():
        rel, lines = row.rsplit("\t", 1)
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("pass\n" * int(lines) if rel.endswith(".py") else "x\n" * int(lines))
    return root


def matches(item: dict[str, Any], fact: Fact) -> bool:
    if item["category"] != fact.category:
        return False
    if "purpose" in item and item["purpose"] != fact.topic:
        return False
    if "topic" in item and item["topic"] != fact.topic:
        return False
    if "source" in item and not fact.source.startswith(item["source"]):
        return False
    needles = item.get("contains", [])
    needles = [needles] if isinstance(needles, str) else needles
    return all(n.lower() in fact.text.lower() for n in needles)


@dataclass
class Score:
    repo: str
    produced: int
    correct: int
    expected: int
    found: int
    wrong: list[Fact]
    missed: list[dict[str, Any]]

    @property
    def precision(self) -> float:
        return self.correct / self.produced if self.produced else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 1.0


def score(name: str, root: Path) -> Score:
    spec = json.loads((FIXTURES / name / "expected.json").read_text("utf-8"))
    facts = research_workspace(root).facts
    forbidden = spec.get("forbidden", [])
    good = spec["expected"] + spec.get("allowed", [])

    def ok(fact: Fact) -> bool:
        return not any(matches(i, fact) for i in forbidden)

    scored = [f for f in facts if f.category in SCORED]
    wrong = [f for f in scored if not (ok(f) and any(matches(i, f) for i in good))]
    missed = [i for i in spec["expected"] if not any(matches(i, f) and ok(f) for f in facts)]
    return Score(name, len(scored), len(scored) - len(wrong), len(spec["expected"]),
                 len(spec["expected"]) - len(missed), wrong, missed)  # fmt: skip


def table(scores: list[Score]) -> str:
    """In-sample rows, hold-out rows, a total for each set and for all."""
    inside = [s for s in scores if not s.repo.startswith("holdout/")]
    held = [s for s in scores if s.repo.startswith("holdout/")]
    rows = _rows(inside, "in-sample")
    if held:
        rows += _rows(held, "hold-out")[2:]
        rows.append(_total(overall(scores), "all"))
    return "\n".join(rows)


def _total(total: Score, label: str) -> str:
    return (f"| **{label}** | {total.produced} | {total.correct} | {total.precision:.0%} | "
            f"{total.expected} | {total.found} | {total.recall:.0%} |")  # fmt: skip


def _rows(scores: list[Score], label: str) -> list[str]:
    rows = ["| repository | facts | right | precision | expected | found | recall |",
            "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for s in scores:
        rows.append(f"| {s.repo} | {s.produced} | {s.correct} | {s.precision:.0%} | "
                    f"{s.expected} | {s.found} | {s.recall:.0%} |")  # fmt: skip
    rows.append(_total(overall(scores), label))
    return rows


def overall(scores: list[Score]) -> Score:
    return Score("all", sum(s.produced for s in scores), sum(s.correct for s in scores),
                 sum(s.expected for s in scores), sum(s.found for s in scores), [], [])  # fmt: skip


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> list[Score]:
    base = tmp_path_factory.mktemp("research")
    return [score(name, materialise(name, base)) for name in REPOS]


def test_fixture_set_covers_languages() -> None:
    assert len(IN_SAMPLE) >= 8 and len(HOLDOUT) >= 4
    for name in REPOS:
        source = json.loads((FIXTURES / name / "source.json").read_text("utf-8"))
        assert len(source["commit"]) == 40
        assert source.get("holdout", False) == name.startswith("holdout/")


def test_precision_and_recall_over_fixture_repositories(scores: list[Score]) -> None:
    print("\n" + table(scores))
    for s in scores:
        for fact in s.wrong:
            print(f"  {s.repo} wrong: [{fact.category}/{fact.topic}] {fact.text} ({fact.source})")
        for item in s.missed:
            print(f"  {s.repo} missed: {item}")
    total = overall(scores)  # over in-sample and hold-out repositories together
    assert total.precision >= 0.95, table(scores)
    assert total.recall >= 0.80, table(scores)


@pytest.mark.parametrize("name", REPOS)
def test_no_forbidden_fact(scores: list[Score], name: str) -> None:
    """Facts about another project, or with a wrong purpose, never appear."""
    spec = json.loads((FIXTURES / name / "expected.json").read_text("utf-8"))
    root_score = next(s for s in scores if s.repo == name)
    bad = [f for f in root_score.wrong if any(matches(i, f) for i in spec.get("forbidden", []))]
    assert not bad, bad


def main() -> None:
    """Print the table (and with --facts, every produced fact) for the lsp_agent on the path."""
    with tempfile.TemporaryDirectory() as tmp:
        scores = []
        for name in REPOS:
            root = materialise(name, Path(tmp))
            if "--facts" in sys.argv:
                for f in research_workspace(root).facts:
                    print(f"{name}\t{f.category}/{f.topic}\t{f.text[:160]}\t{f.source}:{f.line}")
            scores.append(score(name, root))
    print(table(scores))
    if "--why" in sys.argv:
        for s in scores:
            for fact in s.wrong:
                print(f"  {s.repo} wrong: [{fact.category}/{fact.topic}] {fact.text[:140]}")
            for item in s.missed:
                print(f"  {s.repo} missed: {item}")


if __name__ == "__main__":
    main()
