"""Cut source files into retrieval-sized chunks along syntax boundaries.

A chunk that holds one whole function (or a few small neighbours) embeds and reads far
better than an arbitrary 60-line window that starts mid-body. tree-sitter gives us the
top-level definitions cheaply; big classes are split into their members, huge functions
into overlapping line windows, and anything we cannot parse falls back to line windows.
tree_sitter is imported lazily so that importing this module stays cheap and works
without the optional grammars installed.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

TARGET_CHARS = 1500  # small neighbours are merged up to about this size...
TARGET_LINES = 60  # ...and this many lines
MAX_CHARS = 3000  # a single definition above this is split (members or line windows)
MAX_LINES = 120
WINDOW_LINES = 60  # line windows for fallback and oversized functions
WINDOW_OVERLAP = 10

# language name (as in workspace_files.LANGUAGES) -> (grammar module, function)
GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
}

_FUNCTIONS = frozenset(
    "function_definition function_declaration function_item generator_function_declaration "
    "method singleton_method method_declaration method_definition constructor_declaration "
    "function_signature_item abstract_method_signature method_signature".split()
)
_CLASSES = frozenset(
    "class_definition class_declaration abstract_class_declaration class_specifier "
    "struct_specifier union_specifier enum_specifier struct_item enum_item union_item "
    "trait_item impl_item interface_declaration enum_declaration record_declaration "
    "annotation_type_declaration class type_declaration type_alias_declaration type_item".split()
)
_NAMESPACES = frozenset("module namespace_definition mod_item internal_module".split())
_CONTAINERS = frozenset({"class", "impl", "namespace"})  # kinds whose members become chunks
_WRAPPERS = {"decorated_definition": "definition", "export_statement": "declaration"}
_DECLARATORS = frozenset("variable_declarator var_spec const_spec type_spec".split())
_NAME_LEAVES = frozenset(
    "identifier field_identifier type_identifier qualified_identifier destructor_name "
    "operator_name constant scope_resolution".split()
)
_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function"})


@dataclass(frozen=True, slots=True)
class Chunk:
    """A contiguous slice of a file; lines are 1-based and inclusive, `text` is raw."""

    path: str
    start_line: int
    end_line: int
    kind: str  # function, method, class, impl, namespace, module (other code), lines
    symbol: str | None
    text: str
    context: str = ""  # signatures enclosing this piece (a method's class, a long body's def)

    @property
    def header(self) -> str:
        """One-line locator prepended to the text when indexing."""
        head = f"{self.path}:{self.start_line}-{self.end_line} {self.kind}"
        return f"{head} {self.symbol}" if self.symbol else head


@dataclass(slots=True)
class _Seg:
    start: int  # 0-based rows, inclusive
    end: int
    kind: str
    symbol: str | None
    mergeable: bool = True
    context: str = ""


_languages: dict[str, Any] = {}
_local = threading.local()


def _parser(language: str) -> Any | None:
    """A per-thread parser for the language, or None when its grammar is not installed."""
    parsers: dict[str, Any] = getattr(_local, "parsers", None) or {}
    _local.parsers = parsers
    if language in parsers:
        return parsers[language]
    parser = None
    spec = GRAMMARS.get(language)
    if spec is not None:
        try:
            import tree_sitter

            if language not in _languages:
                module = importlib.import_module(spec[0])
                _languages[language] = tree_sitter.Language(getattr(module, spec[1])())
            parser = tree_sitter.Parser(_languages[language])
        except Exception:  # missing or incompatible grammar: fall back to line windows
            parser = None
    parsers[language] = parser
    return parser


def supported_languages() -> list[str]:
    """Languages whose grammar is installed and loads."""
    return [name for name in GRAMMARS if _parser(name) is not None]


def chunk_file(path: str, text: str, language: str | None) -> list[Chunk]:
    """Chunks covering every non-blank line of `text`, in file order."""
    lines = text.split("\n")
    if not text.strip():
        return []
    cum = [0]
    for line in lines:
        cum.append(cum[-1] + len(line) + 1)
    segs: list[_Seg] | None = None
    parser = _parser(language) if language else None
    if parser is not None:
        try:
            segs = _syntax_segments(parser, text, lines, cum)
        except Exception:
            segs = None
    if segs is None:
        segs = [_Seg(s, e, "lines", None, False) for s, e in _windows(0, len(lines) - 1, cum)]
    chunks = []
    for seg in segs:
        start, end = seg.start, seg.end
        while start <= end and not lines[start].strip():
            start += 1
        while end >= start and not lines[end].strip():
            end -= 1
        if start <= end:
            body = "\n".join(lines[start : end + 1])
            chunks.append(Chunk(path, start + 1, end + 1, seg.kind, seg.symbol, body,
                                seg.context))
    return chunks


def _windows(start: int, end: int, cum: list[int]) -> Iterator[tuple[int, int]]:
    """Overlapping windows of up to WINDOW_LINES lines and MAX_CHARS characters."""
    s = start
    while True:
        e = s
        while e < end and e - s + 1 < WINDOW_LINES and cum[e + 2] - cum[s] <= MAX_CHARS:
            e += 1
        yield s, e
        if e >= end:
            return
        s = max(s + 1, e + 1 - min(WINDOW_OVERLAP, (e - s + 1) // 4))


def _syntax_segments(parser: Any, text: str, lines: list[str], cum: list[int]) -> list[_Seg] | None:
    root = parser.parse(text.encode("utf-8", "surrogatepass")).root_node
    if root.has_error:
        bad = sum(c.end_point[0] - c.start_point[0] + 1 for c in root.children if c.is_error)
        if bad * 2 > len(lines):
            return None  # mostly unparseable: line windows are more honest
    segs = _split_items(_items(root.children), cum, None, 0, lines)
    return _merge(segs, cum)


def _items(children: list[Any]) -> list[tuple[int, int, Any]]:
    """(start_row, end_row, node) per statement; comments attach to what follows them."""
    items: list[tuple[int, int, Any]] = []
    pending: int | None = None
    for node in children:
        start, end = node.start_point[0], node.end_point[0]
        if node.type == "comment" or node.type.endswith("_comment"):
            pending = start if pending is None else pending
            continue
        if not node.is_named and items and start <= items[-1][1] + 1:
            items[-1] = (items[-1][0], max(items[-1][1], end), items[-1][2])
            continue
        if pending is not None:
            start, pending = min(start, pending), None
        if items and start <= items[-1][1]:  # shares a row with the previous statement
            items[-1] = (items[-1][0], max(items[-1][1], end), items[-1][2])
            continue
        items.append((start, end, node))
    if pending is not None:
        last = children[-1].end_point[0]
        if items and pending <= items[-1][1]:
            items[-1] = (items[-1][0], max(items[-1][1], last), items[-1][2])
        else:
            items.append((pending, last, None))
    return items


def _unwrap(node: Any) -> Any:
    while node is not None:
        field = _WRAPPERS.get(node.type)
        if field is not None:
            inner = node.child_by_field_name(field)
        elif node.type == "template_declaration":
            inner = node.named_children[-1] if node.named_children else None
        else:
            return node
        if inner is None:
            return node
        node = inner
    return node


def _text(node: Any) -> str:
    return node.text.decode("utf-8", "replace")


def _name(node: Any) -> str | None:
    if node.type == "impl_item":
        typ, trait = node.child_by_field_name("type"), node.child_by_field_name("trait")
        if typ is not None:
            return f"{_text(trait)} for {_text(typ)}" if trait is not None else _text(typ)
    found = node.child_by_field_name("name")
    if found is None:
        decl = node.child_by_field_name("declarator")
        while decl is not None and decl.type not in _NAME_LEAVES:
            decl = decl.child_by_field_name("declarator") or decl.child_by_field_name("name")
        found = decl
    if found is None:
        for child in node.named_children:
            if child.type in _DECLARATORS:
                found = child.child_by_field_name("name")
                break
    if found is None:
        return None
    name = _text(found)
    if node.type == "method_declaration":  # Go methods: qualify with the receiver type
        receiver = node.child_by_field_name("receiver")
        if receiver is not None:
            plain = re.sub(r"\[.*\]", "", _text(receiver))  # Box[T] -> Box (generics)
            typ = plain.strip("()").split()[-1].lstrip("*")
            name = f"{typ}.{name}"
    return name if len(name) <= 200 else name[:200]


def _classify(node: Any | None, in_class: bool) -> tuple[str, str | None]:
    if node is None:
        return "module", None
    node = _unwrap(node)
    kind = node.type
    if kind in _FUNCTIONS:
        return ("method" if in_class else "function"), _name(node)
    if kind in _CLASSES:
        return ("impl" if kind == "impl_item" else "class"), _name(node)
    if kind in _NAMESPACES:
        return "namespace", _name(node)
    if kind in ("lexical_declaration", "variable_declaration"):
        for child in node.named_children:
            if child.type == "variable_declarator":
                value = child.child_by_field_name("value")
                if value is not None and value.type in _FUNCTION_VALUES:
                    return ("method" if in_class else "function"), _name(child)
    return "module", None


def _body(node: Any) -> Any | None:
    node = _unwrap(node)
    body = node.child_by_field_name("body")
    if body is None:
        for child in node.named_children:
            if child.type in ("body_statement", "declaration_list", "class_body"):
                return child
    return body


def _signature(node: Any, lines: list[str]) -> str:
    """The head of a definition or block (`def f(a, b) -> int:`, `class A(B) {`), at most
    three lines: what a piece cut out of its body needs to be understood."""
    node = _unwrap(node)
    start = node.start_point[0]
    body = _body(node) or node.child_by_field_name("consequence")
    stop = body.start_point[0] if body is not None else start
    head = [ln.strip() for ln in lines[start : max(stop, start + 1)][:3]]
    return " ".join(h for h in head if h)[:300]


def _split_items(
    items: list[tuple[int, int, Any]], cum: list[int], owner: str | None, depth: int,
    lines: list[str], context: str = "",
) -> list[_Seg]:
    segs: list[_Seg] = []
    for start, end, node in items:
        kind, symbol = _classify(node, owner is not None)
        if owner and symbol:
            symbol = f"{owner}.{symbol}"
        if cum[end + 1] - cum[start] <= MAX_CHARS and end - start < MAX_LINES:
            segs.append(_Seg(start, end, kind, symbol, True, context))
            continue
        segs.extend(_split_big(start, end, node, kind, symbol, owner, cum, depth, lines,
                               context))
    return segs


def _split_big(start: int, end: int, node: Any, kind: str, symbol: str | None,
               owner: str | None, cum: list[int], depth: int, lines: list[str],
               context: str) -> list[_Seg]:
    """An item too big for one chunk: a container into its members, a function or block into
    runs of its statements (each piece carrying the enclosing signatures), else line windows."""
    body = _block_of(node) if node is not None and depth < 6 else None
    while body is not None and len(body.named_children) == 1 and (
            body.named_children[0].type in _LISTS):  # Go: block { statement_list }
        body = body.named_children[0]
    members = _items(body.children) if body is not None else []
    members = [m for m in members if m[2] is not None and m[2].is_named]
    if len(members) < 2:
        return [_Seg(s, e, kind, symbol, False, context) for s, e in _windows(start, end, cum)]
    sig = _signature(node, lines)
    inner = f"{context}\n{sig}".strip() if sig else context
    first = max(members[0][0], start)
    out: list[_Seg] = []
    if kind in _CONTAINERS:
        if first > start:
            out.append(_Seg(start, first - 1, kind, symbol, True, context))
        out.extend(_split_items(members, cum, symbol or owner, depth + 1, lines, inner))
        out[-1].end = max(out[-1].end, end)  # the closing brace / `end` joins the last member
        return out
    # a long function or statement: its head goes with the first run of statements
    members[0] = (start, members[0][1], members[0][2])
    pieces = _split_items(members, cum, owner, depth + 1, lines, inner)
    for piece in pieces:
        piece.kind, piece.symbol = kind, symbol
    out = _merge(pieces, cum)
    for piece in out:
        piece.mergeable = False
        piece.kind, piece.symbol = kind, symbol
    out[0].context = context  # the first piece holds the signature itself
    out[-1].end = max(out[-1].end, end)
    return out


_LISTS = frozenset({"statement_list", "expression_list"})
_BLOCKS = frozenset("block statement_block compound_statement declaration_list class_body "
                    "body_statement field_declaration_list enum_body interface_body "
                    "switch_body match_block".split())


def _block_of(node: Any) -> Any | None:
    """The child holding a definition's or a compound statement's statements."""
    body = _body(node)
    if body is not None:
        return body
    for child in _unwrap(node).named_children:
        if child.type in _BLOCKS:
            return child
    return None


def _merge(segs: list[_Seg], cum: list[int]) -> list[_Seg]:
    """Join runs of small neighbours up to the target size."""
    out: list[_Seg] = []
    group: list[_Seg] = []

    def flush() -> None:
        if not group:
            return
        kind = next((g.kind for g in group if g.kind != "module"), "module")
        names = list(dict.fromkeys(g.symbol for g in group if g.symbol))
        out.append(_Seg(group[0].start, group[-1].end, kind, ", ".join(names) or None, True,
                        group[0].context))
        group.clear()

    for seg in segs:
        if not seg.mergeable:
            flush()
            out.append(seg)
            continue
        if group:
            start = group[0].start
            if (cum[seg.end + 1] - cum[start] > TARGET_CHARS or seg.end - start >= TARGET_LINES
                    or seg.context != group[0].context):
                flush()
        group.append(seg)
    flush()
    return out
