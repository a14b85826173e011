"""Search sources that the learning loop adds to memory search: code and skills.

Called before every search (CLI, server), so it must stay cheap and idempotent: a source is
attached once, and only when there is something to search.
"""

from __future__ import annotations

from typing import Any


def attach_sources(memory: Any) -> None:
    """Attach the code index and the skills catalog to `memory.sources` when they exist."""
    if "code" not in memory.sources:
        from lsp_agent.learning.code_index import code_index_exists, search_code

        if code_index_exists(memory):

            def code_source(query: str, limit: int) -> list[dict[str, Any]]:
                return search_code(memory, query, limit)

            memory.sources["code"] = code_source

    # --- skills: attach the skills catalog here (memory.sources["skills"]) -------------------
