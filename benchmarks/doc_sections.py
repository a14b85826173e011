"""Write one benchmark's section of docs/benchmarks.md, leaving the others as they are."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def replace_section(heading: str, body: str, keep_from: str | None = None,
                    doc: Path = DOC) -> None:
    """Replace the section that starts with `heading` (up to the next `## `) by `body`, or
    append it. With `keep_from`, the old section's text from that sub-heading on is kept
    (a hand-written part the benchmark does not produce)."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    if heading in text:
        start = text.index(heading)
        nxt = text.find("\n## ", start + len(heading))
        old = text[start:nxt] if nxt != -1 else text[start:]
        kept = old.find(keep_from) if keep_from else -1
        if kept != -1:
            body = body.rstrip("\n") + "\n" + old[kept:].rstrip("\n") + "\n"
        text = text[:start] + body + ("\n" + text[nxt + 1 :] if nxt != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + body
    doc.write_text(text)
    print(f"wrote {doc}")
