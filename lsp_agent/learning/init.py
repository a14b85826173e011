"""init's research: the agent learns the workspace from its files (the service runs init).

Static research (no model, seconds) fills the project/commands/conventions blocks inside a
marked section, so re-running init updates that section instead of duplicating it and never
touches what people or the agent wrote around it. Then the code index is built (full-text search
works at once, embedding continues), and with a model, deep research refines memory.

Imported text is written by author "init" with the files it came from in the version's reason,
so `memory history` tells it apart from what the agent learned. An untrusted workspace's
files are not imported at all (only its layout), see static_research.research_workspace.
"""

from __future__ import annotations

from lsp_agent.memory.agent_memory import AgentMemory
from lsp_agent.memory.blocks import INIT

START = "<!-- lsp-agent init: from the workspace files; text outside this section is kept -->"
END = "<!-- /lsp-agent init -->"

DEEP_PROMPT = """\
Research this workspace to improve your memory. Your blocks already hold facts found statically
(with the files they came from). Explore the code with list_files, grep, read_file and search_code:
find the architecture, the main modules and how they fit, the entry points, the non-obvious
conventions and the gotchas. Then rewrite the parts of your `project`, `commands` and
`conventions` blocks outside the generated section with what you verified (cite files), and
store longer findings in archival memory with tags. Stay within your tool budget. End with a
short summary of what you learned."""

def merge_section(old: str, generated: str, limit: int) -> str:
    """`old` with its init section replaced by `generated` (cut to fit `limit`)."""
    before, after = old, ""
    if START in old and END in old.split(START, 1)[1]:
        before, rest = old.split(START, 1)
        after = rest.split(END, 1)[1]
    before, after = before.rstrip(), after.strip()
    room = limit - len(before) - len(after) - len(START) - len(END) - 6
    body = generated.strip()
    if len(body) > room:
        cut = body[: max(room, 0)].rsplit("\n", 1)[0]
        body = cut
    parts = [p for p in (before, f"{START}\n{body}\n{END}", after) if p]
    return "\n\n".join(parts)


UNTRUSTED_NOTE = ("Workspace not trusted: only its layout was read into memory (no instruction "
                  "files, README, build or CI files); trust it to import them.")


def sources_reason(files: list[str], limit: int = 400) -> str:
    """The version reason naming the files the imported text came from (cut to `limit`)."""
    reason = "init: static research from " + (", ".join(files) or "the workspace layout")
    return reason if len(reason) <= limit else reason[: limit - 1].rsplit(", ", 1)[0] + ", …"


def apply_research(memory: AgentMemory, *, trusted: bool) -> tuple[list[str], int]:
    """Run static research and write it into the blocks; returns (changed labels, fact count).

    `trusted` is the workspace's trust: without it, none of its files' text is imported."""
    from lsp_agent.learning.static_research import render_blocks, research_workspace

    research = research_workspace(memory.workspace, trusted=trusted)
    blocks = {b.label: b for b in memory.blocks.list()}
    limit = min((blocks[label].limit for label in ("project", "commands", "conventions")
                 if label in blocks), default=5000)
    rendered = render_blocks(research, limit=max(limit - 400, 500))
    changed = []
    for label, text in rendered.items():
        block = blocks.get(label)
        if block is None or block.read_only or not text.strip():
            continue
        def change(old: str, text: str = text, limit: int = block.limit) -> str:
            return merge_section(old, text, limit)

        files = list(dict.fromkeys(f.source for f in research.facts
                                   if f"from {f.source})" in text or f"from {f.source}:" in text))
        updated = memory.blocks.edit(label, change, author=INIT, reason=sources_reason(files))
        if updated.version != block.version:
            changed.append(label)
    return changed, len(research.facts)
