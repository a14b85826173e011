"""AgentMemory: everything one workspace's agent remembers, behind one object.

Used by the CLI, the agent loop and the server alike. Opening it creates the default blocks,
repairs interrupted edits and takes in people's edits to the memory folder.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lsp_agent.memory.archival import ArchivalMemory
from lsp_agent.memory.blocks import BlockManager
from lsp_agent.memory.code_embedding import DEFAULT_CODE_SPEC
from lsp_agent.memory.mirror import Mirror
from lsp_agent.memory.recall import RecallMemory
from lsp_agent.memory.search import FusionConfig, Mode, contributions
from lsp_agent.memory.store import MemoryStore
from lsp_agent.memory.terms import best_line, query_terms, term_score, visible
from lsp_agent.paths import (
    ENV_STORE,
    ENV_TEAM_STORE,
    agent_home,
    default_store_uri,
    display_uri,
    is_local_uri,
    local_path,
    shared_store_uri,
    team_folder,
)

if TYPE_CHECKING:
    from lsp_agent.memory.team import TeamMemory

Kind = Literal["all", "messages", "archival", "blocks", "skills", "code", "tests", "docs", "config"]
KINDS: tuple[str, ...] = ("all", "messages", "archival", "blocks", "skills", "code", "tests",
                          "docs", "config")
# Kinds of the code index that "all" leaves out: it searches source code, not what shares words
# with it (tests, docs, configuration); each can be searched on its own.
NOT_IN_ALL = frozenset({"tests", "docs", "config"})
# A search the learning loop adds (code, skills): (query, limit, mode) -> hits, best first.
SearchSource = Callable[[str, int, Mode], list[dict[str, Any]]]
# `all`: each kind's list adds 1 / (10 + rank) to a hit's score: a kind's best hits stay near
# the top whichever kind's scores run higher (they are not comparable across kinds).
KINDS_FUSION = FusionConfig(method="rrf", rrf_k=10.0)
BLOCK_NAME_WEIGHT = 0.5  # a term in a block's label or description, beside one in its value


class AgentMemory:
    """The memory of the agent of `workspace`."""

    def __init__(
        self, workspace: Path, *, store_uri: str | None = None, shared_uri: str | None = None,
        embedder: str = "default", code_embedder: str = DEFAULT_CODE_SPEC,
        team_uri: str | None = None,
    ) -> None:
        self.workspace = Path(workspace).expanduser().resolve()
        self.store_uri = store_uri or os.environ.get(ENV_STORE) or default_store_uri(self.workspace)
        self.store = MemoryStore(self.store_uri, embedder_spec=embedder,
                                 code_embedder_spec=code_embedder)
        shared = shared_uri or shared_store_uri()
        self.shared = (MemoryStore(shared, embedder_spec="none", expects_meta=False)
                       if shared != self.store_uri else None)
        self.mirror = Mirror(self.memory_folder)
        local = BlockManager(self.store, self.shared, self.mirror)
        team = team_uri or os.environ.get(ENV_TEAM_STORE) or None
        # with a team store, the project's memory is shared there (memory/team.py)
        self.team: TeamMemory | None = None
        self.blocks: BlockManager = local
        self.archival: ArchivalMemory = ArchivalMemory(self.store)
        if team and team != self.store_uri:
            from lsp_agent.memory.team import TEAM_LABELS, TeamMemory
            from lsp_agent.memory.team_blocks import TeamBlocks

            def seed() -> dict[str, Any]:
                return {b.label: b for b in local.list() if b.label in TEAM_LABELS}

            self.team = TeamMemory(team, team_folder(self.workspace), embedder=embedder,
                                   seed=seed)
            self.blocks = TeamBlocks(local, self.team)
            self.archival = self.team.archival
        self.recall = RecallMemory(self.store)
        # "code", "skills": attached by the agent service (SearchSource: query, limit, mode)
        self.sources: dict[str, SearchSource] = {}
        self.notices: list[str] = []
        self.settings: Any = None  # the Settings it was opened with, when a caller sets them

    @property
    def memory_folder(self) -> Path:
        if is_local_uri(self.store_uri):
            return local_path(self.store_uri) / "memory"
        return agent_home(self.workspace) / "memory"

    def open(self, *, resume_vectors: bool = True) -> list[str]:
        """Prepare the store for use; returns notices for the user (edits taken in, warnings).

        `resume_vectors=False` (read-only commands) starts no backfill, which loads the embedder.
        """
        if self.store.db is not None and self.store.damage:
            # read-only until the user acts: no defaults, no repair, no mirror rewrite
            from lsp_agent.memory.damage import notice

            self.notices = [notice(self.store)]
            return self.notices
        self.store.ensure_initialized()
        if self.store.get_meta("workspace") is None:
            self.store.set_meta("workspace", str(self.workspace))
        self.blocks.ensure_defaults()
        from lsp_agent.memory.damage import record_tables

        record_tables(self.store)
        team_notices = list(getattr(self.blocks, "notices", []))
        self.notices = team_notices + self.mirror.sync(self.blocks) + self.mirror.warnings
        if self.team is not None and resume_vectors:
            self.team.start()  # replays queued team writes while any are left
        if resume_vectors:
            threading.Thread(target=self._resume_vectors, name="lsp-agent-resume",
                             daemon=True).start()
        return self.notices

    def _resume_vectors(self) -> None:
        try:
            self.recall.resume_vectors()
        except Exception:  # noqa: BLE001 - full-text search still finds every message
            logging.getLogger(__name__).info("could not resume vector backfill", exc_info=True)

    # -- search across kinds ---------------------------------------------------------------

    def search(
        self, query: str, *, kind: str = "all", limit: int = 10, mode: Mode = "hybrid",
    ) -> list[dict[str, Any]]:
        """Unified hits (see docs/protocol.md `Hit`), best first by the `score` they report.

        One kind: its own hits and scores. `all`: each kind's list fused by rank
        (KINDS_FUSION). `mode` goes to every kind that has one (messages, archival, code);
        vector mode without an embedder searches full text, with a warning.
        """
        if kind not in KINDS:
            raise ValueError(f"Unknown search kind '{kind}'; use one of: {', '.join(KINDS)}.")
        if not query.strip():
            raise ValueError("Give a search query (some words to look for).")
        if mode == "vector" and self.store.embedder is None:
            self._warn_once(
                f"Vector search needs an embedder and this store has none (embedder "
                f"'{self.store.embedder_spec}'): searched full text instead.")
        kinds = (["messages", "archival", "blocks", *(k for k in self.sources if k not in NOT_IN_ALL)]
                 if kind == "all" else [kind])
        per_kind: list[list[dict[str, Any]]] = []
        for k in kinds:
            if k == "messages":
                per_kind.append([_message_hit(h) for h in self.recall.search(query, mode=mode,
                                                                             limit=limit)])
            elif k == "archival":
                per_kind.append(self._archival_hits(query, mode, limit, alone=kind != "all"))
            elif k == "blocks":
                per_kind.append(self._block_hits(query, limit))
            elif k in self.sources:
                per_kind.append(self.sources[k](query, limit, mode))
            elif kind != "all":
                raise ValueError(
                    f"Nothing to search for kind '{k}' yet: run `lsp-agent init` to index the code "
                    "and skills of this workspace."
                )
        if kind != "all":
            return _best_first(per_kind[0])[:limit]
        return fuse_kinds(per_kind)[:limit]

    def _archival_hits(self, query: str, mode: Mode, limit: int, *,
                       alone: bool) -> list[dict[str, Any]]:
        """Archival hits; in a search of every kind, none (with a warning) while the team
        store holding them is away, so the other kinds still answer."""
        from lsp_agent.memory.team_link import TeamStoreUnavailable

        try:
            hits = self.archival.search(query, mode=mode, top_k=limit)
        except TeamStoreUnavailable as exc:
            if alone:
                raise
            self._warn_once(f"Archival passages were not searched: {exc}")
            return []
        return [_archival_hit(h) for h in hits]

    def _warn_once(self, message: str) -> None:
        if message not in self.store.warnings:
            logging.getLogger(__name__).warning(message)
            self.store.warnings.append(message)

    def _block_hits(self, query: str, limit: int) -> list[dict[str, Any]]:
        """Blocks whose value holds the query's terms (stop words and HTML comments left out;
        a label or description alone never matches, so an empty block never does)."""
        terms = query_terms(query)
        hits: list[dict[str, Any]] = []
        for block in self.blocks.list():
            value = visible(block.value)
            score = term_score(terms, value, name=f"{block.label} {block.description}",
                               name_weight=BLOCK_NAME_WEIGHT)
            if score:
                snippet = best_line(terms, value)[:300]
                hit = {"kind": "block", "id": block.label, "label": block.label,
                       "title": f"Memory block: {block.label}", "snippet": snippet,
                       "score": round(score, 6)}
                location = self._mirror_location(block.label, snippet)
                hits.append({**hit, "location": location} if location else hit)
        return sorted(hits, key=lambda h: -h["score"])[:limit]

    def _mirror_location(self, label: str, line: str) -> dict[str, Any] | None:
        """Where a block's line is in its markdown mirror file (editors open hits there)."""
        path = self.mirror.path(label)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return None
        needle = line.strip()[:80]
        row = next((n for n, text in enumerate(lines) if needle and needle in text), 0)
        return {"uri": path.as_uri(), "range": {"start": {"line": row, "character": 0},
                                                "end": {"line": row, "character": 0}}}

    def status(self) -> dict[str, Any]:
        """Counts and settings; a damaged store is refused with the report (a status that
        counted only the intact tables would show a damaged store as a sound, emptier one)."""
        if self.store.db is not None and self.store.damage:
            from lsp_agent.memory.damage import StoreDamaged, describe

            raise StoreDamaged(describe(self.store))
        counts = self.store.counts()
        counts["blocks"] = len(self.blocks.list())
        team = self.team.status() if self.team is not None else None
        if self.team is not None and self.team.link.reachable:
            from lsp_agent.memory.team_link import TeamStoreUnavailable

            try:
                counts["archival"] = self.team.link.run(
                    lambda: self.team.store.counts()["archival"])  # type: ignore[union-attr]
            except TeamStoreUnavailable:
                pass
        return {
            "team": team,
            "workspace": str(self.workspace),
            "store": display_uri(self.store_uri),
            "memory_folder": str(self.memory_folder),
            "embedder": self.store.describe_embedder(),
            "code_embedder": self.store.code_embedding.describe(),
            "counts": counts,
            "warnings": list(self.store.warnings),
        }


def fuse_kinds(per_kind: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Hits of several kinds in one list, fused by rank (KINDS_FUSION), best first."""
    fused: dict[tuple[str, str], dict[str, Any]] = {}
    for hits in per_kind:
        for hit, add in zip(hits, contributions(hits, 1.0, KINDS_FUSION, "score"), strict=True):
            entry = fused.setdefault((hit["kind"], str(hit["id"])), {**hit, "score": 0.0})
            entry["score"] += add
    return _best_first(list(fused.values()))


def _best_first(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """By reported score, best first (stable: equal scores keep the source's order)."""
    return sorted(hits, key=lambda h: -h["score"])


def _message_hit(hit: Any) -> dict[str, Any]:
    row = hit.row
    when = row["created_at"].strftime("%Y-%m-%d %H:%M") if row.get("created_at") else ""
    who = row.get("name") or row.get("role", "")
    return {
        "kind": "message", "id": row["id"], "conversation_id": row.get("conversation_id"),
        "title": f"{who} · {when}", "snippet": (row.get("content") or row.get("tool_calls", ""))[:300],
        "created_at": _iso(row.get("created_at")),
        "score": round(hit.score, 6), "text_rank": hit.text_rank, "vector_rank": hit.vector_rank,
    }


def _archival_hit(hit: Any) -> dict[str, Any]:
    row = hit.row
    tags = ", ".join(row.get("tags") or [])
    return {
        "kind": "archival", "id": row["id"], "title": f"Archival{' [' + tags + ']' if tags else ''}",
        "snippet": row["content"][:300], "tags": row.get("tags") or [],
        "created_at": _iso(row.get("created_at")),
        "score": round(hit.score, 6), "text_rank": hit.text_rank, "vector_rank": hit.vector_rank,
    }


def _iso(when: Any) -> str:
    return when.isoformat() if hasattr(when, "isoformat") else str(when or "")
