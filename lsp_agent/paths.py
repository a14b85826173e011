"""Where an agent's state lives: one folder per workspace in the user's data folder.

Memory must survive `git clean`, so the default store is outside the workspace, keyed by the
workspace's resolved path plus a stable hash (two folders named `app` never collide).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

ENV_STORE = "LSP_AGENT_STORE"
ENV_TEAM_STORE = "LSP_AGENT_TEAM_STORE"
ENV_HOME = "LSP_AGENT_HOME"


def data_home() -> Path:
    """The root of all lsp-agent data (override with LSP_AGENT_HOME, e.g. in tests)."""
    if env := os.environ.get(ENV_HOME):
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("lsp-agent", appauthor=False))


def workspace_id(workspace: Path) -> str:
    """A readable, stable id for a workspace folder: `<name>-<12 hex of its path hash>`."""
    resolved = str(Path(workspace).expanduser().resolve())
    digest = hashlib.sha256(resolved.encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(resolved).name).strip("-") or "root"
    return f"{name}-{digest}"


def agent_home(workspace: Path) -> Path:
    """The local folder of a workspace's agent (memory mirror, locks, default store)."""
    return data_home() / "workspaces" / workspace_id(workspace)


def default_store_uri(workspace: Path) -> str:
    return str(agent_home(workspace) / "store")


def team_folder(workspace: Path) -> Path:
    """Where a workspace's agent keeps its team-store cache and its queue of offline writes."""
    return agent_home(workspace) / "team"


def shared_store_uri() -> str:
    """The user-level store holding blocks shared by several workspace agents."""
    return str(data_home() / "shared")


def path_of_uri(uri: str) -> Path | None:
    """The resolved file path of a `file:` URI (percent-decoding, drive letters: pygls.uris),
    None for any other scheme (`untitled:`, `git:`...). The one place URIs become paths."""
    if not uri.startswith("file:"):
        return None
    from pygls.uris import to_fs_path

    fs_path = to_fs_path(uri)
    return Path(fs_path).resolve() if fs_path else None


def uri_of_path(path: Path) -> str:
    """The `file:` URI an editor uses for `path` (the inverse of `path_of_uri`)."""
    from pygls.uris import from_fs_path

    return from_fs_path(str(path)) or Path(path).resolve().as_uri()


def is_local_uri(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def local_path(uri: str) -> Path:
    return Path(uri.removeprefix("file://")).expanduser()


_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", re.IGNORECASE)


def display_uri(uri: str) -> str:
    """A store URI safe to show and log: no `user:secret@` and no query string (keys can be
    passed there), e.g. `s3://key:secret@bucket/x?k=v` -> `s3://bucket/x`. In Azure's
    `abfss://container@account...` the part before `@` is the container: it stays."""
    uri = uri.split("?", 1)[0]
    found = _USERINFO.match(uri)
    if found and uri.lower().startswith(("abfss://", "abfs://")) and ":" not in \
            uri[len(found.group(1)):found.end()]:
        return uri
    return _USERINFO.sub(r"\1", uri)
