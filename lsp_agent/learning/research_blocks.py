"""Render research facts into the `project`, `commands` and `conventions` memory blocks.

Blocks have a size limit; the least important facts are dropped first, so what stays is
what an agent most needs.
"""

from __future__ import annotations

from lsp_agent.learning.research_facts import PURPOSES, Fact, Research


def _render(facts: list[Fact]) -> str:
    out: list[str] = []
    for fact in facts:
        where = f"from {fact.source}"
        if fact.category == "instructions":
            quoted = "\n".join(f"> {line}".rstrip() for line in fact.text.splitlines())
            out.append(f"\nAgent instructions ({where}):\n{quoted}\n")
        elif fact.category == "commands":
            out.append(f"- {fact.topic}: {fact.text} ({where})")
        else:
            out.append(f"- {fact.text} ({where})")
    return "\n".join(out).strip() + "\n" if out else ""


def _fit(facts: list[Fact], limit: int) -> str:
    """Render, dropping the least important facts (last first) until under `limit`."""
    kept = list(facts)
    text = _render(kept)
    while len(text) > limit and len(kept) > 1:
        del kept[max(range(len(kept)), key=lambda i: (kept[i].priority, i))]
        text = _render(kept)
    if len(text) > limit:  # one fact longer than the block: cut it at a line end
        text = text[: limit - 2].rsplit("\n", 1)[0] + "\n…"
    return text


def render_blocks(research: Research, limit: int = 5000) -> dict[str, str]:
    """Markdown for the `project`, `commands` and `conventions` memory blocks."""
    project = research.of("readme") + research.of("project")
    order = {p: i for i, p in enumerate(PURPOSES)}
    commands = sorted(research.of("commands"), key=lambda f: (order.get(f.topic, 9), f.priority))
    conventions = sorted(research.of("conventions"), key=lambda f: f.priority)
    blocks = {"project": project, "commands": commands}
    blocks["conventions"] = research.of("instructions") + conventions
    return {name: _fit(facts, limit) for name, facts in blocks.items()}
