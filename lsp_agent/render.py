"""One renderer for every face: a result is a small document, shown as markdown or plain text.

Commands describe what to show (a heading, aligned fields, a numbered list, a diff...) once;
LSP clients get markdown, a terminal gets plain aligned text with no markup. `--json` and the
LSP `data` field carry the machine form, so nothing here is parsed by a program.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Style = Literal["markdown", "plain"]


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Para:
    """A sentence or paragraph; `strong` is its emphasised lead (bold in markdown)."""

    text: str
    strong: str = ""


@dataclass(frozen=True)
class Fields:
    """`key: value` rows, aligned in a terminal, a bullet list in markdown."""

    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Item:
    title: str
    where: str = ""  # a path:line or an id, shown as code
    body: str = ""  # indented under the title
    note: str = ""  # after the title, e.g. a score or "active"


@dataclass(frozen=True)
class Items:
    items: tuple[Item, ...]
    numbered: bool = False


@dataclass(frozen=True)
class Text:
    """Verbatim text (a block's value, a reply): markdown in, shown as it is."""

    text: str


@dataclass(frozen=True)
class Code:
    text: str
    lang: str = ""


Part = Heading | Para | Fields | Items | Text | Code


@dataclass
class Doc:
    parts: list[Part] = field(default_factory=list)

    def add(self, *parts: Part) -> Doc:
        self.parts.extend(parts)
        return self

    def render(self, style: Style) -> str:
        out = [_render(p, style) for p in self.parts]
        return "\n\n".join(s for s in out if s).rstrip() + "\n" if out else ""

    def markdown(self) -> str:
        return self.render("markdown").rstrip("\n")

    def plain(self) -> str:
        return self.render("plain")


def doc(*parts: Part) -> Doc:
    return Doc(list(parts))


def _render(part: Part, style: Style) -> str:
    md = style == "markdown"
    if isinstance(part, Heading):
        return f"### {part.text}" if md else part.text
    if isinstance(part, Para):
        lead = (f"**{part.strong}**" if md else part.strong) if part.strong else ""
        return " ".join(s for s in (lead, part.text) if s)
    if isinstance(part, Fields):
        if md:
            return "\n".join(f"- **{k}**: {v}" for k, v in part.rows)
        width = max((len(k) for k, _ in part.rows), default=0)
        return "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in part.rows)
    if isinstance(part, Items):
        return "\n".join(_item(i, n, part.numbered, md) for n, i in enumerate(part.items, 1))
    if isinstance(part, Text):
        return part.text.strip("\n")
    if md:
        return f"```{part.lang}\n{part.text.rstrip()}\n```"
    return part.text.rstrip()


def _item(item: Item, n: int, numbered: bool, md: bool) -> str:
    mark = f"{n}." if numbered else "-"
    pad = " " * (len(mark) + 1)
    title = f"**{item.title}**" if md else item.title
    head = f"{mark} {title}"
    if item.where:
        head += f" — `{item.where}`" if md else f"  {item.where}"
    if item.note:
        head += f" ({item.note})"
    if not item.body:
        return head
    body = item.body.strip("\n").replace("\n", "\n" + pad)
    return f"{head}  \n{pad}{body}" if md else f"{head}\n{pad}{body}"
