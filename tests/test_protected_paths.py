"""Protected paths: a write that makes code run by itself asks in every mode, on every host.

Every protected path (and tricky spellings of them: case, `./`, `..`, symlinks, hard links) is
written with edit_file and write_file in each permission mode through each kind of host: the
headless disk host, the LSP host with an editor that applies edits, and the LSP host with one
that cannot (it writes to disk itself). The user refuses first: nothing may be written. Then
the user allows: the write goes through. Ordinary files still follow the permission mode.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as T

from lsp_agent.agent.tools.base import PermissionMode, ToolContext, ToolError
from lsp_agent.agent.tools.disk_host import DiskToolHost, tty_prompt_approver
from lsp_agent.agent.tools.edit_tools import edit_file, write_file
from lsp_agent.agent.tools.protected import PROTECTED_ACTION, PROTECTED_PATHS, protection_reason
from lsp_agent.server.host import ASK_EVERY_TIME, LspToolHost

MODES = list(PermissionMode)
ORIGINAL = "original = 1\n"
PAYLOAD = "[core]\n\tfsmonitor = touch /tmp/lsp-agent-pwned\n"

#: One example (at least) of every rule in PROTECTED_PATHS; created before each run.
PATHS = [
    ".git/config", ".git/hooks/pre-commit", ".vscode/tasks.json", ".vscode/settings.json",
    "team.code-workspace", ".idea/workspace.xml", ".devcontainer/devcontainer.json",
    ".devcontainer.json", ".nvim.lua", ".nvimrc", ".exrc", ".envrc", ".pre-commit-config.yaml",
    ".husky/pre-commit", ".github/workflows/ci.yml", ".github/actions/setup/action.yml",
    ".gitlab-ci.yml", ".circleci/config.yml", ".agents/skills/deploy/SKILL.md",
    ".claude/settings.json", ".claude/skills/x/SKILL.md", ".cursor/mcp.json", ".mcp.json",
    "vendor/lib/.git/config", "sub/.envrc",
]

#: Other spellings of protected files: (what the model passes, the file it reaches).
TRICKS = [
    ("./.git/config", ".git/config"),
    ("src/../.git/config", ".git/config"),
    ("src/./../.vscode/../.git/hooks/pre-commit", ".git/hooks/pre-commit"),
    (".git//config", ".git/config"),
    (".GIT/config", ".GIT/config"),  # the same file on a case-insensitive disk
    (".Vscode/tasks.json", ".Vscode/tasks.json"),
    (".git./config", ".git./config"),  # Windows drops the trailing dot
    ("{ws}/.git/config", ".git/config"),  # absolute
    ("cfg", ".git/config"),  # a symlink to a protected file
    ("gitdir/config", ".git/config"),  # through a symlinked directory
    ("dangling", ".git/hooks/post-checkout"),  # a dangling symlink into .git: creates it
    ("editor/tasks.json", ".vscode/tasks.json"),  # editor -> .vscode
    (".github/workflows/deploy.yml", "docs/deploy.yml"),  # .github/workflows -> docs: CI reads it
    ("notes.txt", "notes.txt"),  # a hard link of .git/config (editors write in place)
    ("fake/config", "fake/config"),  # fake/ holds HEAD: git takes it for a repository
]

ORDINARY = ["src/app.py", ".gitignore", ".github/CODEOWNERS", "Makefile", "package.json",
            "justfile", "docs/git/config", "my.git/notes.md", "new/file.txt"]


def build(ws: Path) -> None:
    """A workspace holding every protected path, and the links the tricks go through."""
    ws.mkdir(parents=True)
    for rel in [*PATHS, "src/app.py", "docs/readme.md"]:
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text(ORIGINAL)
    (ws / "cfg").symlink_to(".git/config")
    (ws / "gitdir").symlink_to(".git", target_is_directory=True)
    (ws / "dangling").symlink_to(".git/hooks/post-checkout")
    (ws / "editor").symlink_to(".vscode", target_is_directory=True)
    (ws / ".github/workflows/deploy.yml").symlink_to(ws / "docs/deploy.yml")
    (ws / "docs/deploy.yml").write_text(ORIGINAL)
    os.link(ws / ".git/config", ws / "notes.txt")
    (ws / "fake").mkdir()
    (ws / "fake/HEAD").write_text("ref: refs/heads/main\n")
    (ws / "fake/config").write_text(ORIGINAL)


# --- hosts --------------------------------------------------------------------------------


@dataclass
class FakeEditor:
    """The editor end of LspToolHost: answers approvals, applies edits as VS Code would."""

    apply_edit: bool
    answer: str = "Deny"
    prompts: list[T.ShowMessageRequestParams] = field(default_factory=list)
    edits: int = 0

    def __post_init__(self) -> None:
        self.client_capabilities = T.ClientCapabilities(
            workspace=T.WorkspaceClientCapabilities(apply_edit=self.apply_edit))
        self.workspace = type("W", (), {"text_documents": {}})()

    async def window_show_message_request_async(self, params: Any) -> T.MessageActionItem:
        self.prompts.append(params)
        offered = [a.title for a in params.actions]
        assert self.answer in offered or self.answer == "Always allow"
        return T.MessageActionItem(title=self.answer)

    async def workspace_apply_edit_async(self, params: Any) -> T.ApplyWorkspaceEditResult:
        self.edits += 1
        for uri, edits in (params.edit.changes or {}).items():
            Path(uri.removeprefix("file://")).write_text(edits[0].new_text)
        for change in params.edit.document_changes or []:
            if isinstance(change, T.TextDocumentEdit):
                path = Path(change.text_document.uri.removeprefix("file://"))
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(change.edits[0].new_text)
        return T.ApplyWorkspaceEditResult(applied=True)


class Host:
    """One host under test with a switchable answer; `asked()` lists (action, detail)."""

    def __init__(self, kind: str, ws: Path) -> None:
        self.kind = kind
        self.allow = False
        if kind == "disk":
            self.disk = DiskToolHost(lambda _a, _d: self.allow, workspace=ws)
            self.host: Any = self.disk
        else:
            self.editor = FakeEditor(apply_edit=(kind == "lsp-applyEdit"))
            self.host = LspToolHost(self.editor)

    def set_allow(self, allow: bool) -> None:
        self.allow = allow
        if self.kind != "disk":
            self.editor.answer = "Allow" if allow else "Deny"

    def asked(self) -> list[tuple[str, str]]:
        if self.kind == "disk":
            return list(self.disk.approval_requests)
        out = []
        for p in self.editor.prompts:
            head, _, detail = p.message.partition(":\n")
            out.append((head.removeprefix("lsp-agent wants to "), detail))
        return out


HOSTS = ["disk", "lsp-applyEdit", "lsp-disk"]


def snapshot(ws: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _dirs, files in os.walk(ws):
        for name in files:
            path = Path(dirpath) / name
            if not path.is_symlink():
                out[str(path.relative_to(ws))] = path.read_bytes()
    return out


# --- the matrix ---------------------------------------------------------------------------


CASES = [(p, p) for p in PATHS] + TRICKS


async def attempt(ws: Path, kind: str, mode: PermissionMode, spelled: str, real: str) -> int:
    """Refuse, then allow, writes to one protected path; returns the writes made unprompted."""
    host = Host(kind, ws)
    ctx = ToolContext(workspace=ws, host=host.host, permission_mode=mode)
    tools = ["write_file"] + (["edit_file"] if (ws / real).exists() else [])
    unprompted = 0
    for tool in tools:
        before, asked = snapshot(ws), len(host.asked())
        with pytest.raises(ToolError, match="explicit approval") as refused:
            if tool == "write_file":
                await write_file(ctx, spelled, PAYLOAD)
            else:
                await edit_file(ctx, spelled, "original", "fsmonitor")
        assert "nothing was written" in str(refused.value)
        unprompted += snapshot(ws) != before
        prompts = host.asked()[asked:]
        assert len(prompts) == 1, (spelled, prompts)
        action, detail = prompts[0]
        assert action.lower() == PROTECTED_ACTION.lower()
        assert detail.startswith(f"writes {real}"), detail
    host.set_allow(True)
    asked = len(host.asked())
    assert (await write_file(ctx, spelled, PAYLOAD)).startswith(("Wrote", "Created"))
    assert (ws / real).read_text() == PAYLOAD, spelled
    assert len(host.asked()) == asked + 1  # the allowed write was asked too
    if kind == "lsp-applyEdit":
        assert host.editor.edits == 1  # and went through the editor
    return unprompted


@pytest.mark.parametrize("kind", HOSTS)
@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
async def test_protected_writes_always_ask(tmp_path: Path, mode: PermissionMode,
                                          kind: str) -> None:
    unprompted = 0
    for i, (spelled, real) in enumerate(CASES):
        ws = tmp_path / f"ws{i}"
        build(ws)
        unprompted += await attempt(ws, kind, mode, spelled.format(ws=ws), real)
    assert unprompted == 0


@pytest.mark.parametrize("kind", HOSTS)
@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
async def test_ordinary_files_follow_the_mode(tmp_path: Path, mode: PermissionMode,
                                             kind: str) -> None:
    ws = tmp_path / "ws"
    build(ws)
    host = Host(kind, ws)
    host.set_allow(True)
    ctx = ToolContext(workspace=ws, host=host.host, permission_mode=mode)
    for rel in ORDINARY:
        await write_file(ctx, rel, "changed\n")
        assert (ws / rel).read_text() == "changed\n"
    actions = [a for a, _ in host.asked()]
    if mode is PermissionMode.ASK:
        assert actions == ["edit file" if kind != "disk" else "Edit file"] * len(ORDINARY)
    else:
        assert actions == []


async def test_the_agents_own_memory_folder_is_protected(tmp_path: Path, open_memory) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    memory = open_memory(ws, store_uri=str(ws / ".agent-store"))
    human = memory.memory_folder / "human.md"
    assert human.exists() and human.is_relative_to(ws)
    before = human.read_bytes()
    for mode in MODES:
        host = DiskToolHost(False, workspace=ws)
        ctx = ToolContext(workspace=ws, host=host, permission_mode=mode,
                          extra={"memory": memory})
        for path in (str(human.relative_to(ws)), ".agent-store/other.lance/x"):
            with pytest.raises(ToolError, match="agent's own memory"):
                await write_file(ctx, path, "injected\n")
        assert [a for a, _ in host.approval_requests] == [PROTECTED_ACTION] * 2
    assert human.read_bytes() == before


async def test_a_host_that_cannot_ask_refuses(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws"
    build(ws)
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # piped input is not a yes
    host = DiskToolHost(tty_prompt_approver, workspace=ws)
    ctx = ToolContext(workspace=ws, host=host, permission_mode=PermissionMode.AUTO)
    with pytest.raises(ToolError, match="no one to ask"):
        await write_file(ctx, ".git/config", PAYLOAD)
    assert (ws / ".git/config").read_text() == ORIGINAL
    await write_file(ctx, "src/app.py", "fine\n")  # auto: ordinary files need no one
    assert (ws / "src/app.py").read_text() == "fine\n"


async def test_always_allow_is_neither_offered_nor_remembered(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    build(ws)
    editor = FakeEditor(apply_edit=True, answer="Always allow")
    ctx = ToolContext(workspace=ws, host=LspToolHost(editor),
                      permission_mode=PermissionMode.ACCEPT_EDITS)
    for _ in range(2):
        with pytest.raises(ToolError, match="explicit approval"):
            await write_file(ctx, ".git/config", PAYLOAD)
    assert len(editor.prompts) == 2
    assert all("Always allow" not in [a.title for a in p.actions] for p in editor.prompts)
    assert (ws / ".git/config").read_text() == ORIGINAL
    assert PROTECTED_ACTION in ASK_EVERY_TIME  # the server's copy of the action's text


def test_every_rule_has_an_example_and_a_reason(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    build(ws)
    for rule in PROTECTED_PATHS:
        hits = [p for p in PATHS if protection_reason(ws, p, ws / p) == rule.reason]
        assert hits, f"no example of {rule.parts} in PATHS"
    assert protection_reason(ws, ".git", ws / ".git")  # a worktree's .git file
    assert protection_reason(ws, "src/app.py", ws / "src/app.py") is None
    assert "git runs commands" in (protection_reason(ws, ".git/config", ws / ".git/config")
                                   or "")
