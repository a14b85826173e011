"""Markdown renderings of command results, shown as-is by any client."""

from __future__ import annotations

from typing import Any


def block_md(b: dict[str, Any]) -> str:
    flags = (" · read-only" if b["read_only"] else "") + (" · shared" if b["scope"] == "shared" else "")
    value = b["value"] or "_(empty)_"
    return (f"### {b['label']}\n_{b['description']}_  \n`{b['chars']}/{b['limit']} chars · "
            f"v{b['version']}{flags}`\n\n{value}")


def hits_md(query: str, hits: list[dict[str, Any]]) -> str:
    if not hits:
        return f"No results for **{query}**."
    lines = [f"### Results for “{query}”"]
    for i, h in enumerate(hits, 1):
        where = ""
        if loc := h.get("location"):
            where = f" — `{loc['uri'].removeprefix('file://')}:{loc['range']['start']['line'] + 1}`"
        snippet = h["snippet"].strip().replace("\n", " ")[:240]
        lines.append(f"{i}. **[{h['kind']}] {h['title']}**{where}  \n   {snippet}")
    return "\n".join(lines)


def history_md(label: str, versions: list[dict[str, Any]]) -> str:
    lines = [f"### History of `{label}`"]
    for v in reversed(versions):
        lines.append(f"- **v{v['version']}** {v['timestamp'][:19]} by {v['author']}: {v['reason']}")
    return "\n".join(lines)


def conversations_md(convs: list[dict[str, Any]]) -> str:
    lines = ["### Conversations"]
    for c in convs:
        mark = " ← active" if c["active"] else ""
        lines.append(f"- `{c['id']}` **{c['title']}** ({c['messages']} messages){mark}")
    return "\n".join(lines)
