"""Workspace folder -> its AgentService, created on first use and cached; and how a folder
given by a person (the CLI's current folder) is found, the way editors find it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

from lsp_agent.agent.tools.base import ToolHost
from lsp_agent.config import Settings
from lsp_agent.errors import UsageError
from lsp_agent.service.agent_service import AgentService

#: Files and folders that mark a project's root, nearest first wins (as editors' root_dir).
ROOT_MARKERS = (".git", ".hg", ".svn", "pyproject.toml", "setup.py", "setup.cfg",
                "package.json", "go.mod", "Cargo.toml", "pom.xml", "build.gradle",
                "build.gradle.kts", "Gemfile", "composer.json", "mix.exs", "deno.json",
                "CMakeLists.txt", "Makefile", ".agents")


def find_workspace(start: Path) -> tuple[Path, str]:
    """The nearest folder at or above `start` holding a root marker, and that marker;
    `start` itself (marker "") when there is none up to the filesystem root or home."""
    start = Path(start).expanduser().resolve()
    home = Path.home().resolve()
    for folder in (start, *start.parents):
        if folder == home or folder == Path(folder.anchor):
            break
        for marker in ROOT_MARKERS:
            if (folder / marker).exists():
                return folder, marker
    return start, ""


class Workspaces:
    """Every open workspace's service, plus the idle watch that starts background reflection."""

    def __init__(self, settings: Callable[[Path], Settings], host: ToolHost) -> None:
        self._settings = settings
        self._host = host
        self._services: dict[Path, AgentService] = {}
        self._lock = threading.Lock()
        self._idle_task: asyncio.Task[None] | None = None

    def get(self, workspace: Path) -> AgentService:
        key = Path(workspace).expanduser().resolve()
        with self._lock:
            service = self._services.get(key)
            if service is None:
                if not key.is_dir():
                    raise UsageError(f"The workspace folder {key} does not exist.")
                service = AgentService(key, self._settings(key), self._host)
                self._services[key] = service
                service.code.resume()  # vectors a killed or interrupted indexer left to make
            return service

    def services(self) -> list[AgentService]:
        return list(self._services.values())

    def owner_of(self, path: Path) -> AgentService | None:
        """The open service whose workspace holds `path` (the innermost)."""
        best = None
        for service in self.services():
            if service.workspace == path or service.workspace in path.parents:
                if best is None or len(str(service.workspace)) > len(str(best.workspace)):
                    best = service
        return best

    def update_settings(self) -> None:
        for path, service in self._services.items():
            service.update_settings(self._settings(path))

    def watch_idle(self) -> None:
        """Start (once) the task that begins reflection for workspaces idle long enough."""
        if self._idle_task is None:
            self._idle_task = asyncio.get_running_loop().create_task(self._idle_watch())

    async def _idle_watch(self) -> None:
        while True:
            services = self.services()
            wait = min([s.settings.reflection.idle_seconds for s in services] or [60.0])
            await asyncio.sleep(max(1.0, min(wait / 4, 30.0)))
            for service in self.services():
                service.reflection.maybe_start()

    def close(self) -> None:
        if self._idle_task is not None:
            self._idle_task.cancel()
        for service in self.services():
            service.close()
