"""Searching the code index: source first, filters by category, path glob and language.

Kept apart from building the index (code_index.py): a search never takes the indexing lock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from lsp_agent.learning import code_rows as R
from lsp_agent.learning import workspace_files as wf
from lsp_agent.learning.code_index import memory_of, open_index
from lsp_agent.memory.search import FusionConfig, Mode, search_table
from lsp_agent.memory.store import sql_str

_COLUMNS = ["id", "path", "start_line", "end_line", "kind", "symbol", "language", "category",
            "text"]
# Full text leads for code (identifiers are words there) and vectors add what is worded
# differently. Convex fusion of normalised scores keeps how much better the best match is; rank
# fusion (RRF) let weak vector hits reorder strong text ones (docs/benchmarks.md, code search).
CODE_FUSION = FusionConfig(method="convex", text_weight=1.0, vector_weight=0.25)
CATEGORIES = wf.CATEGORIES
# search kinds of the code index -> the category they search
CODE_KINDS: dict[str, str] = {"code": "code", "tests": "test", "docs": "docs", "config": "config"}
_ASKS_TESTS = re.compile(r"\b(tests?|testing|tested|unit ?tests?|specs?|fixtures?|mocks?)\b",
                         re.IGNORECASE)
# a query about a test itself ("which test checks...", "tests for X"), not about testing helpers
_NAMES_TESTS = re.compile(r"\b(which|what) (unit |integration )?tests?\b"
                          r"|\btests? (for|of|that|which|covering|checking)\b|\bis (it )?tested\b",
                          re.IGNORECASE)
_ASKS_DOCS = re.compile(r"\b(docs?|documentation|documented|readme|changelog|guide|tutorial)\b",
                        re.IGNORECASE)


def search_code(memory: Any, query: str, limit: int = 10, mode: Mode = "hybrid", *,
                category: str | None = "code", paths: Sequence[str] = (),
                language: str | None = None) -> list[dict[str, Any]]:
    """Code hits (docs/protocol.md `Hit`, kind "code") best first; [] before the first init.

    `category` "code" is source code: tests and docs join only when the query asks about
    them (a test that shares a question's words never takes its definition's place);
    "test", "docs", "config" search only those; None searches everything. `paths` are globs
    (a pattern without "/" matches file names anywhere), `language` as in the index
    (python, typescript, ...). `mode` as for memory search: vector mode without an embedder
    searches full text.
    """
    memory = memory_of(memory)
    idx = open_index(memory.store, create=False)
    if idx is None or not query.strip():
        return []
    where = _filters(query, category, paths, language)
    matches = path_matcher(paths)
    vector = memory.store.code_embedding.embed_query(query) if mode != "text" else None
    pool = max(3 * limit, 30) * (3 if paths else 1)
    hits = search_table(idx.chunks, R.expand_query(query), vector, mode=mode, where=where,
                        limit=pool, text_column="search_text", columns=_COLUMNS,
                        fusion=CODE_FUSION)
    if not hits and mode == "vector" and vector is not None:  # no chunk has its vector yet
        memory.store.warnings.append("Code vectors are not made yet (run `lsp-agent index "
                                     "--embed-only`, or wait for init): searched full text.")
        hits = search_table(idx.chunks, R.expand_query(query), None, mode="text", where=where,
                            limit=pool, text_column="search_text", columns=_COLUMNS)
    hits = [h for h in hits if matches(h.row["path"])]
    asked = ({"test"} if category == "code" and _NAMES_TESTS.search(query) else set())
    # The definition of a searched name beats code that merely mentions it often; a test the
    # query asks for beats the source it tests.
    scored = [(R.ranked_score(R.name_tier(h.row["symbol"], query)
                              + _category_bonus(h.row.get("category"), category, asked),
                              h.score), h) for h in hits]
    scored.sort(key=lambda pair: -pair[0])
    return [R.hit(memory.workspace, h.row, query, score, h.text_rank, h.vector_rank)
            for score, h in scored[:limit]]


def _category_bonus(found: str | None, searched: str | None, asked: set[str]) -> float:
    """In a search for source code, a test or doc that only shares a word with the query
    ("during a test") stays below the source; one the query names comes first."""
    if searched != "code" or found in (None, "code"):
        return 0.0
    return 2.5 if found in asked else -0.5  # above even an exact name


def _asked_for(query: str) -> set[str]:
    """The categories besides source code that a query names: tests, docs."""
    return ({"test"} if _ASKS_TESTS.search(query) else set()) | (
        {"docs"} if _ASKS_DOCS.search(query) else set())


def _filters(query: str, category: str | None, paths: Sequence[str],
             language: str | None) -> str | None:
    """The SQL prefilter: categories, language, and a LIKE superset of the path globs."""
    clauses = []
    if category == "code":
        wanted = ["code", *sorted(_asked_for(query))]
        clauses.append("category IN (" + ",".join(sql_str(c) for c in wanted) + ")")
    elif category is not None:
        if category not in CATEGORIES:
            raise ValueError(f"Unknown code category '{category}'; use one of: "
                             f"{', '.join(CATEGORIES)}.")
        clauses.append(f"category = {sql_str(category)}")
    if language:
        clauses.append(f"language = {sql_str(language.strip().lower())}")
    likes = [_like(p) for p in paths if p.strip()]
    if likes:
        clauses.append("(" + " OR ".join(f"path LIKE {sql_str(like)}" for like in likes) + ")")
    return " AND ".join(clauses) or None


def _like(glob: str) -> str:
    glob = glob.strip().lstrip("./") if glob.strip() not in (".", "./") else "*"
    body = glob.replace("%", "_").replace("**", "*").replace("*", "%").replace("?", "_")
    return body if "/" in glob else "%" + body


def path_matcher(globs: Sequence[str]) -> Callable[[str], bool]:
    """A test of workspace-relative paths against globs: `*` stays within a folder, `**`
    crosses folders, a pattern without "/" matches a file name in any folder, and a folder
    (`src`, `src/`) matches everything under it."""
    patterns = [g.strip() for g in globs if g.strip()]
    if not patterns:
        return lambda path: True
    regexes = []
    for glob in patterns:
        glob = glob[2:] if glob.startswith("./") else glob
        if "/" not in glob.rstrip("/") and not any(ch in glob for ch in "*?["):
            glob = glob.rstrip("/") + "/**"  # a bare name: a folder anywhere, or a file name
            regexes.append(re.compile(r"(.*/)?" + re.escape(glob[:-3]) + r"(/.*)?"))
            continue
        if glob.endswith("/"):
            glob += "**"
        anywhere = "/" not in glob
        out = ""
        i = 0
        while i < len(glob):
            if glob.startswith("**/", i):
                out, i = out + "(.*/)?", i + 3
            elif glob.startswith("**", i):
                out, i = out + ".*", i + 2
            elif glob[i] == "*":
                out, i = out + "[^/]*", i + 1
            elif glob[i] == "?":
                out, i = out + "[^/]", i + 1
            else:
                out, i = out + re.escape(glob[i]), i + 1
        regexes.append(re.compile((r"(.*/)?" if anywhere else "") + out))
    return lambda path: any(rx.fullmatch(path) for rx in regexes)
