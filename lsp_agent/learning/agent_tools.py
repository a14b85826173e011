"""Tools the learning loop gives the agent: search over the codebase index (skills come later).

The index is far cheaper than grep for "where is X handled?" questions phrased in words, and
it finds code by meaning once embeddings are ready; grep stays the tool for exact patterns.
"""

from __future__ import annotations

import asyncio
from typing import Any

from lsp_agent.agent.tools.base import Tool, ToolContext
from lsp_agent.memory.agent_memory import AgentMemory

MAX_HITS = 20
SNIPPET_LINES = 4
NO_INDEX = (
    "This workspace has no code index yet. Ask the user to run `lsp-agent init` (or the "
    "\"lsp-agent: Initialise\" command in the editor) to index it; meanwhile use grep and "
    "list_files."
)


def _search_code_tool(memory: AgentMemory) -> Tool:
    async def run(ctx: ToolContext | None, query: str, limit: int = 8, kind: str = "code",
                  path: str = "", language: str = "") -> str:
        from lsp_agent.learning.code_index import code_index_exists
        from lsp_agent.learning.code_search import CODE_KINDS, search_code

        if not await asyncio.to_thread(code_index_exists, memory):
            return NO_INDEX
        if kind not in CODE_KINDS:
            return f"Unknown kind {kind!r}: use one of {', '.join(CODE_KINDS)}."
        limit = max(1, min(int(limit), MAX_HITS))
        paths = [p for p in path.split(",") if p.strip()]
        hits = await asyncio.to_thread(lambda: search_code(
            memory, query, limit, category=CODE_KINDS[kind], paths=paths,
            language=language or None))
        if not hits:
            return f"No indexed code matches {query!r}. Try other words, or grep for a pattern."
        return "\n\n".join(_format(h) for h in hits)

    return Tool(
        name="search_code",
        description=(
            "Search this workspace's code index by name or by meaning (full text + embeddings). "
            "Source code by default (tests and docs join when the query asks about them); "
            "kind 'tests', 'docs' or 'config' searches only those. Returns the best chunks as "
            "'path:start-end symbol' with a short snippet; read the file with read_file for "
            "more. Use grep for exact patterns or regexes."
        ),
        parameters={
            "type": "object",
            "properties": {
                "query": {"type": "string",
                          "description": "Identifier(s) or words describing the code sought."},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_HITS,
                          "description": "How many chunks to return (default 8)."},
                "kind": {"type": "string", "enum": ["code", "tests", "docs", "config"],
                         "description": "What to search (default code: the source)."},
                "path": {"type": "string",
                         "description": "Only paths matching these globs (comma-separated), "
                                        "e.g. 'src/**' or '*.ts'."},
                "language": {"type": "string",
                             "description": "Only this language, e.g. python, typescript."},
            },
            "required": ["query"],
        },
        fn=run,
    )


def _format(hit: dict[str, Any]) -> str:
    lines = hit["snippet"].split("\n")[:SNIPPET_LINES]
    body = "\n".join(f"    {ln}" for ln in lines)
    return f"{hit['title']}\n{body}"


def learning_tools(memory: AgentMemory) -> list[Tool]:
    """The learning loop's tools for the agent of `memory`'s workspace."""
    from lsp_agent.learning.skills_service import LOAD_SKILL

    return [_search_code_tool(memory), LOAD_SKILL]
