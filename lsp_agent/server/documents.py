"""Open documents and their URIs: the one place the LSP face turns a URI into a path or finds
an editor's unsaved text. pygls keys open documents by the percent-decoded URI, so a file
whose path has a space or a `#` is found only through here."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lsp_agent.paths import path_of_uri, uri_of_path

__all__ = ["is_open", "open_uris", "path_of", "text_at", "text_of", "uri_of"]


def path_of(uri: str) -> Path | None:
    """A `file:` URI's resolved path; None for other schemes."""
    return path_of_uri(uri)


def uri_of(path: Path) -> str:
    return uri_of_path(path)


def _document(ls: Any, uri: str) -> Any:
    return ls.workspace.text_documents.get(unquote(uri))


def is_open(ls: Any, uri: str) -> bool:
    return _document(ls, uri) is not None


def text_of(ls: Any, uri: str) -> str | None:
    """The editor's text of an open document (unsaved edits included), None when closed."""
    doc = _document(ls, uri)
    return doc.source if doc is not None else None


def text_at(ls: Any, path: Path) -> str | None:
    """`text_of` for a path."""
    return text_of(ls, uri_of(Path(path).resolve()))


def open_uris(ls: Any) -> list[str]:
    """The URIs of the open documents, as the editor sent them."""
    return [doc.uri for doc in ls.workspace.text_documents.values()]
