"""Workspace path confinement and small file helpers shared by the file and shell tools.

Every path a model hands to a tool goes through `resolve_in_workspace`: it is resolved to its
real path (symlinks followed, `..` collapsed) and refused unless that real path lies inside the
real workspace root. This is the only guard between the model and the rest of the disk, so it
errs on the side of refusing.
"""

from __future__ import annotations

import os
from pathlib import Path

from lsp_agent.agent.tools.base import ToolError

#: How many leading bytes are inspected to decide whether a file is binary.
BINARY_SNIFF_BYTES = 8192

#: Largest file the tools will load whole (edit, write, grep). read_file streams and is bounded
#: by its output limits instead.
MAX_FILE_BYTES = 5 * 1024 * 1024

#: Schema description of a tool's `path` argument.
PATH_ARGUMENT_DOC = (
    "Path relative to the workspace root (absolute paths inside the workspace also work)."
)


#: Longest path and file name most file systems take; a longer one fails in the OS with
#: ENAMETOOLONG, so it is refused up front with a sentence instead.
MAX_PATH_BYTES = 4096
MAX_NAME_BYTES = 255


def _real_root(workspace: Path | str) -> Path:
    return Path(os.path.realpath(os.fspath(workspace)))


def resolve_in_workspace(workspace: Path | str, user_path: str | os.PathLike[str]) -> Path:
    """Resolve `user_path` (relative to the workspace, or absolute) to a real path inside it.

    Symlinks are followed, including symlinked parent directories and dangling links, and the
    result must be the workspace root itself or lie beneath it. Raises `ToolError` otherwise.
    The returned path is absolute and real; it need not exist.
    """
    raw = os.fspath(user_path) if user_path is not None else ""
    if not isinstance(raw, str):
        raise ToolError(f"Path must be a string, got {type(raw).__name__}.")
    if "\x00" in raw:
        raise ToolError("Path contains a NUL byte; refusing it.")
    if not raw.strip():
        raw = "."
    root = _real_root(workspace)
    candidate = Path(raw)
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        real = Path(os.path.realpath(candidate))
    except (OSError, ValueError) as exc:  # e.g. symlink loops on strict platforms
        raise ToolError(f"Cannot resolve path {raw!r}: {exc}") from exc
    if real != root and not real.is_relative_to(root):
        raise ToolError(
            f"Path {raw!r} resolves to {real}, which is outside the workspace ({root}). "
            "Only files inside the workspace can be accessed; use a path relative to the "
            "workspace root."
        )
    encoded = os.fsencode(str(real))
    if len(encoded) >= MAX_PATH_BYTES or any(
        len(part) > MAX_NAME_BYTES for part in encoded.split(b"/")
    ):
        raise ToolError(
            f"Path {raw[:60]!r}... is too long (over {MAX_NAME_BYTES} bytes for one name or "
            f"{MAX_PATH_BYTES} in all); use a shorter path."
        )
    return real


def workspace_relative(workspace: Path | str, path: Path) -> str:
    """`path` relative to the real workspace root, POSIX style ("." for the root itself)."""
    root = _real_root(workspace)
    try:
        rel = Path(path).relative_to(root)
    except ValueError:
        return str(path)
    text = rel.as_posix()
    return text if text else "."


def is_binary_bytes(data: bytes) -> bool:
    """True when `data` (the start of a file) looks binary: it holds a NUL byte."""
    return b"\x00" in data[:BINARY_SNIFF_BYTES]


def is_binary_file(path: Path | str) -> bool:
    """True when the file's first `BINARY_SNIFF_BYTES` bytes contain a NUL byte."""
    with open(path, "rb") as fh:
        return is_binary_bytes(fh.read(BINARY_SNIFF_BYTES))


def check_file_size(path: Path | str, limit: int = MAX_FILE_BYTES) -> int:
    """Return the file's size, or raise `ToolError` when it exceeds `limit` bytes."""
    size = os.stat(path).st_size
    if size > limit:
        raise ToolError(
            f"{path} is {size:,} bytes, larger than the {limit:,}-byte limit for this tool."
        )
    return size
