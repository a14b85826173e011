"""Issue 9, "one door": the defects the faces had when each wired commands itself, tested
through the CLI (subprocesses, as a user runs it) and the LSP server (a real server process)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest_lsp
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

import lsp_agent.service as service_door

SKILL = """---
name: release-package
description: How to release the package to PyPI.
---
1. Bump the version. 2. Tag it. 3. Push the tag.
"""


def add_skill(ws: Path) -> None:
    folder = ws / ".agents" / "skills" / "release-package"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "SKILL.md").write_text(SKILL)


def test_service_door_exports_exactly_these_names() -> None:
    assert sorted(service_door.__all__) == sorted([
        "ROOT_MARKERS", "AgentService", "ArchivalInsert", "AskResult", "BlockEdit",
        "ConversationView", "DiskToolHost", "Exported", "Hit", "InitResult", "ReflectResult",
        "Remembered", "SkillProposal", "Status", "ToolHost", "Workspaces", "atomic_write_text",
        "find_workspace", "tty_prompt_approver", "EVENT_TYPES", "current_approval"])
    assert all(hasattr(service_door, n) for n in service_door.__all__)


def test_find_workspace_walks_up_to_the_nearest_root_marker(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname='x'\n")
    assert service_door.find_workspace(root / "src" / "pkg") == (root.resolve(),
                                                                 "pyproject.toml")
    bare = tmp_path / "bare" / "deeper"
    bare.mkdir(parents=True)
    assert service_door.find_workspace(bare)[1] == ""


# -- the CLI ---------------------------------------------------------------------------------


def _cli(args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None,
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lsp_agent", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, input=stdin)


def test_cli_from_a_subfolder_uses_the_project_and_says_so(cli_env, tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    (root / ".git").mkdir()
    env = {**cli_env, "LSP_AGENT_EMBEDDER": "none"}
    first = _cli(["remember", "Use tabs"], env, root)
    second = _cli(["status", "--json"], env, root / "src")
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert f"workspace {root.resolve()} (found by .git)" in second.stderr
    status = json.loads(second.stdout)
    assert status["workspace"] == str(root.resolve())
    shown = _cli(["memory", "show", "notes", "--json"], env, root / "src")
    assert "Use tabs" in json.loads(shown.stdout)["blocks"][0]["value"]  # one agent, not two


def test_cli_status_into_a_closed_pipe_ends_quietly(cli_env, workspace: Path) -> None:
    cmd = (f"{sys.executable} -m lsp_agent status --workspace {workspace} --embedder none "
           "| head -1")
    out = subprocess.run(["bash", "-c", cmd], env=cli_env, capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "lsp-agent status"
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr


def test_cli_read_only_commands_do_not_load_the_embedder(cli_env, workspace: Path) -> None:
    for args in (["status"], ["memory", "show"], ["memory", "history", "notes"],
                 ["conversation", "list"], ["search", "tests", "--kind", "blocks"]):
        out = subprocess.run([sys.executable, "-X", "importtime", "-m", "lsp_agent", *args,
                              "--workspace", str(workspace)], env=cli_env, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert "onnxruntime" not in out.stderr, args


def test_cli_conversations_history_and_archival(cli_env, workspace: Path) -> None:
    env = {**cli_env, "LSP_AGENT_EMBEDDER": "none"}
    ws = ["--workspace", str(workspace)]

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return _cli([*args, *ws], env, workspace, stdin)

    listed = run("conversation", "list", "--json")
    assert json.loads(listed.stdout)["conversations"] == []  # listing creates nothing
    assert json.loads(run("conversation", "list", "--json").stdout)["conversations"] == []
    help_text = run("conversation", "--help").stdout
    assert all(a in help_text for a in ("new", "list", "switch", "fork"))
    made = json.loads(run("conversation", "new", "--title", "Alpha", "--json").stdout)
    conv_id = made["conversation"]["id"]
    run("conversation", "new", "--title", "Beta")
    switched = run("conversation", "switch", conv_id[:8], "--json")  # a unique prefix
    assert json.loads(switched.stdout)["conversation"]["id"] == conv_id, switched.stderr
    missing = run("conversation", "switch", "zzzz")
    assert missing.returncode == 3 and "conversation list" in missing.stderr

    run("memory", "set", "notes", "first line")
    run("memory", "set", "notes", "first line\nsecond line")
    same = run("memory", "set", "notes", "first line\nsecond line")
    assert "no new version" in same.stdout
    history = run("memory", "history", "notes").stdout
    assert "+second line" in history and "v3" in history
    reverted = run("memory", "revert", "notes", "v2")  # as history prints it
    assert reverted.returncode == 0 and "version 2 restored as version 4" in reverted.stdout

    tagged = json.loads(run("archival", "insert", "Deploy with make deploy", "--tag", "Ops,ci",
                            "--json").stdout)
    assert tagged["tags"] == ["ci", "ops"] and tagged["created"]
    again = json.loads(run("archival", "insert", "Deploy with make deploy", "--tag", "ci",
                           "--tag", "ops", "--json").stdout)
    assert again["id"] == tagged["id"] and not again["created"]  # not stored twice
    today = tagged["created_at"][:10]
    until = json.loads(run("archival", "search", "deploy", "--until", today, "--json").stdout)
    assert [r["id"] for r in until["results"]] == [tagged["id"]]  # the day itself is included
    listed = json.loads(run("archival", "list", "--json").stdout)["passages"]
    assert [p["id"] for p in listed] == [tagged["id"]]
    refused = run("archival", "delete", tagged["id"])  # no terminal: needs --yes, says so
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert json.loads(run("archival", "list", "--json").stdout)["passages"]
    gone = run("archival", "delete", tagged["id"], "--yes")
    assert gone.returncode == 0 and "Deleted" in gone.stdout
    assert json.loads(run("archival", "list", "--json").stdout)["passages"] == []


def test_cli_learn_skill_without_a_terminal_needs_yes(cli_env, workspace: Path) -> None:
    env = {**cli_env, "LSP_AGENT_EMBEDDER": "none"}
    args = ["learn-skill", "--name", "deploy", "--text", "Deploy with make deploy.",
            "--workspace", str(workspace)]
    refused = _cli(args, env, workspace)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert not (workspace / ".agents").exists()
    saved = _cli([*args, "--yes"], env, workspace)
    assert saved.returncode == 0, saved.stderr
    assert (workspace / ".agents/skills/deploy/SKILL.md").exists()


def test_cli_search_finds_skills_and_orders_scores(cli_env, workspace: Path) -> None:
    add_skill(workspace)
    env = {**cli_env, "LSP_AGENT_EMBEDDER": "none"}
    ws = ["--workspace", str(workspace)]
    _cli(["remember", "Release notes go in CHANGES.md", *ws], env, workspace)
    found = _cli(["search", "release", "--kind", "skills", "--json", "--trust", *ws], env,
                 workspace)
    assert found.returncode == 0, found.stderr
    assert [h["id"] for h in json.loads(found.stdout)["results"]] == ["release-package"]
    every = json.loads(_cli(["search", "release package", "--json", "--trust", *ws], env,
                            workspace).stdout)["results"]
    assert {"skill", "block"} <= {h["kind"] for h in every}
    scores = [h["score"] for h in every]
    assert scores == sorted(scores, reverse=True)


# -- the LSP face ------------------------------------------------------------------------------

ROOT = Path(tempfile.mkdtemp(prefix="lsp-agent-door-"))
WS = ROOT / "ws"
ENV = {"PATH": "/usr/bin:/bin", "LSP_AGENT_HOME": str(ROOT / "home"),
       "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
CONFIG = ClientServerConfig(server_command=[sys.executable, "-m", "lsp_agent", "serve"],
                            server_env=ENV)


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    WS.mkdir(parents=True, exist_ok=True)
    add_skill(WS)
    await lsp_client.initialize_session(T.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=WS.as_uri(),
        workspace_folders=[T.WorkspaceFolder(uri=WS.as_uri(), name="ws")],
        initialization_options={"lspAgent": {"embedder": "none", "trustWorkspace": True,
                                             "store": str(ROOT / "store")}}))
    yield
    await lsp_client.shutdown_session()


async def cmd(client: LanguageClient, name: str, args: dict | None = None) -> dict:
    return await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command=f"lspAgent.{name}", arguments=[args or {}]))


async def test_lsp_the_same_commands_behave_the_same(client: LanguageClient) -> None:
    caps = client.init_result.capabilities if hasattr(client, "init_result") else None
    del caps
    assert (await cmd(client, "conversation.list"))["data"]["conversations"] == []
    assert (await cmd(client, "conversation.list"))["data"]["active"] is None
    skills = await cmd(client, "search", {"query": "release", "kind": "skills"})
    assert [h["id"] for h in skills["data"]["results"]] == ["release-package"]
    await cmd(client, "memory.edit", {"label": "notes", "value": "one"})
    await cmd(client, "memory.edit", {"label": "notes", "value": "one\ntwo"})
    reverted = await cmd(client, "memory.revert", {"label": "notes", "version": "v2"})
    assert reverted["data"]["version"] == 4 and reverted["data"]["changed"]
    history = await cmd(client, "memory.history", {"label": "notes"})
    assert "```diff" in history["markdown"] and "+two" in history["markdown"]
    first = await cmd(client, "archival.insert", {"text": "Use make deploy", "tags": ["a,b"]})
    assert first["data"]["tags"] == ["a", "b"]
    again = await cmd(client, "archival.insert", {"text": "Use make deploy", "tags": ["b", "a"]})
    assert again["data"]["id"] == first["data"]["id"] and not again["data"]["created"]
    exported = await cmd(client, "export", {"format": "claude-md", "output": "-"})
    assert exported["data"]["text"].startswith("# CLAUDE.md")
    status = await cmd(client, "status")
    assert status["data"]["counts"]["skills"] == 1 and status["data"]["active_conversation"] == ""


def teardown_module() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)
