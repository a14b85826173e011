"""The memory doctor: advice on the memory mirror files (issue 13, item 6).

Real LanceDB stores in temp folders, real workspace files, a real code index; the CLI and
the language server in subprocesses. Each check is shown finding what it should, and leaving alone what only looks
like a reference (URLs, globs, examples, existing paths and targets).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import lancedb
import pytest
import pytest_lsp
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsp_agent.config import parse_settings
from lsp_agent.learning.code_index import build_index, update_paths
from lsp_agent.learning.memory_doctor import MemoryFinding, check_memory
from lsp_agent.learning.workspace_lookup import code_names
from lsp_agent.memory.agent_memory import AgentMemory
from lsp_agent.service import AgentService, DiskToolHost

GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def check(mem: AgentMemory, *, only: Path | None = None,
          symbols: bool = True) -> list[MemoryFinding]:
    names = code_names(mem.store, mem.workspace, mem.memory_folder) if symbols else None
    return check_memory(mem, mem.workspace, symbols=names, only=only)


def line_of(path: Path | str, needle: str) -> int:
    """0-based line of the mirror file holding `needle`."""
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    return next(n for n, text in enumerate(lines) if needle in text)


def of(found: list[MemoryFinding], code: str) -> list[MemoryFinding]:
    return [f for f in found if f.code == code]


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


# -- paths ------------------------------------------------------------------------------------


def test_missing_paths_are_found_and_lookalikes_left_alone(workspace, memory):
    write(workspace, {"src/app/server.py": "def serve():\n    pass\n", "docs/guide.md": "# Guide\n",
                      ".gitignore": "coverage/\n"})
    memory.blocks.set("notes", "\n".join([
        "- The server starts in `src/app/server.py`; the guide is docs/guide.md.",
        "- Settings are read by `src/app/settings.py`, see it for defaults.",
        "- Old docs live in docs/legacy/intro.md and in `docs/`.",
        "- `server.py` and `app/server.py` are the same file, named from inside src/.",
        "- Upstream: https://example.com/src/app/missing.py and www.example.org/a/b.md.",
        "- Globs `src/**/*.py` and src/*.md, an example `path/to/file.py`, `foo/bar.py`.",
        "- Reads and/or writes TCP/IP sockets; Node.js is not used; ~/notes.md, /etc/hosts.",
        "- Coverage goes to `coverage/index.html`; the venv is `.venv/bin/python`.",
        "- Tests: `pytest src/app/test_server.py -o out/report.xml` (pytest -o is an output).",
        "- The file src/app/settings.py was removed last week.",
        "<!-- an HTML comment naming src/app/hidden.py is shown to no one -->",
    ]), author="user")
    found = check(memory)
    path = memory.mirror.path("notes")
    missing = of(found, "missing-path")
    assert {(f.line, f.message.split("'")[1]) for f in missing} == {
        (line_of(path, "Settings are read"), "src/app/settings.py"),
        (line_of(path, "Old docs"), "docs/legacy/intro.md"),
        (line_of(path, "pytest src/app"), "src/app/test_server.py"),
    }, [f.message for f in missing]
    first = missing[0]
    assert first.path == str(path.resolve()) and first.label == "notes"
    assert first.severity == "warning" and first.end_line == first.line
    assert "does not exist in the workspace" in first.message and "correct the path" in first.message


def test_a_file_created_later_clears_the_finding(workspace, memory):
    memory.blocks.set("project", "- Entry point: `cli/main.py`.", author="user")
    assert [f.code for f in check(memory)] == ["missing-path"]
    write(workspace, {"cli/main.py": "print('hi')\n"})
    assert check(memory) == []


# -- commands ---------------------------------------------------------------------------------


MAKEFILE = ".PHONY: build test lint\nbuild:\n\tpython -m build\ntest:\n\tpytest\nlint:\n\truff check .\n"


def test_a_removed_makefile_target_makes_missing_command_appear(workspace, memory):
    write(workspace, {"Makefile": MAKEFILE,
                      "services/api/Makefile": "serve:\n\tuvicorn app:app\n",  # a sub-project
                      "tests/fixtures/demo/Makefile": "lint:\n\ttrue\n"})  # test data
    memory.blocks.set("commands", "\n".join([
        "- build: `make build`",
        "- test: `make test` (CI runs `make -C docs html` too)",
        "- serve: `cd services/api && make serve`",
        "- lint: `make lint`",
        "```sh",
        "$ make build test",
        "```",
    ]), author="user")
    assert check(memory) == []
    write(workspace, {"Makefile": MAKEFILE.replace("lint:\n\truff check .\n", "")})
    found = check(memory)
    path = memory.mirror.path("commands")
    assert [(f.code, f.line) for f in found] == [("missing-command", line_of(path, "make lint"))]
    assert found[0].message.startswith("`make lint` runs the Makefile target 'lint', which the "
                                       "workspace's Makefile does not have")
    (workspace / "Makefile").unlink()
    (workspace / "services" / "api" / "Makefile").unlink()
    found = check(memory)
    assert len(found) == 6 and all("needs a Makefile, and the workspace has none" in f.message
                                   for f in found)


def test_scripts_recipes_and_tasks_are_looked_up(workspace, memory):
    write(workspace, {
        "package.json": json.dumps({"scripts": {"build": "tsc", "test": "vitest"},
                                    "devDependencies": {"eslint": "^9"}}),
        "justfile": "alias t := test\n\ntest:\n    pytest\n",
        "Taskfile.yml": "version: '3'\ntasks:\n  deploy:\n    aliases: [ship]\n    cmds: [echo]\n",
        "web/package.json": json.dumps({"scripts": {"dev": "vite"}}),
    })
    memory.blocks.set("commands", "\n".join([
        "- `npm run build`, `pnpm test`, `yarn eslint .`, `yarn install`, `npm run e2e`",
        "- `cd web && npm run dev`, `pnpm --filter web preview`",
        "- `just t`, `just test -k slow`, `just bench`",
        "- `task deploy`, `task ship`, `task docs`",
    ]), author="user")
    found = of(check(memory), "missing-command")
    assert sorted(f.message.split("`")[1] for f in found) == [
        "just bench", "npm run e2e", "task docs"]
    messages = {f.message.split("`")[1]: f.message for f in found}
    assert "package.json script 'e2e'" in messages["npm run e2e"]
    assert "justfile recipe 'bench'" in messages["just bench"]


# -- code names -------------------------------------------------------------------------------


CODE = '''"""The app's store."""

import json

MAX_RETRIES = 3


def load_config(path):
    return json.loads(open(path).read())


class Store:
    def flush(self):
        self.pending_rows = []
'''


def test_code_names_are_checked_against_the_code_index(workspace, memory):
    # memory exported to AGENTS.md is documentation: it does not vouch for memory's names
    write(workspace, {"app/store.py": CODE,
                      "AGENTS.md": "- `Store.sync_all()` and `parse_legacy_headers()`\n"})
    memory.blocks.set("notes", "\n".join([
        "- Config: `load_config()` parses with `json.loads()`; retries: `MAX_RETRIES`.",
        "- `Store.flush()` empties `self.pending_rows`.",
        "- `Store.sync_all()` writes everything at once.",
        "- Headers are parsed by `parse_legacy_headers()`.",
        "- `numpy.linalg.norm()` is not used here (not anchored in this workspace).",
        "- Never call `Store.reset_everything()`.",
    ]), author="user")
    assert of(check(memory), "missing-symbol") == []  # no code index yet: nothing to check
    build_index(memory)
    found = of(check(memory), "missing-symbol")
    path = memory.mirror.path("notes")
    assert [(f.line, f.message.split("`")[1]) for f in found] == [
        (line_of(path, "sync_all"), "Store.sync_all()"),
        (line_of(path, "parse_legacy"), "parse_legacy_headers()"),
    ]
    assert "no code in the workspace names 'sync_all'" in found[0].message
    # renaming a method in the code makes the memory stale (the index re-reads that file)
    write(workspace, {"app/store.py": CODE.replace("def flush", "def flush_all")})
    update_paths(memory, [workspace / "app" / "store.py"], embed=False)
    found = of(check(memory), "missing-symbol")
    assert [f.message.split("`")[1] for f in found] == [
        "Store.flush()", "Store.sync_all()", "parse_legacy_headers()"]


# -- duplicates, limits, secrets, frontmatter ---------------------------------------------------


def test_a_lesson_in_project_and_notes_is_reported_on_each_copy(memory):
    memory.blocks.set("project", "\n".join([
        "## Layout",
        "- The API server reads its settings from the environment at start.",
        "- None yet.",
    ]), author="user")
    memory.blocks.set("notes", "\n".join([
        "## Layout",
        "* the API server reads its settings from the environment at start",
        "- None yet.",
        "- Retries back off exponentially, capped at thirty seconds.",
    ]), author="user")
    memory.blocks.set("conventions", "- Retries back off exponentially, capped at 30 seconds.",
                      author="user")
    dup = of(check(memory), "duplicate")
    project, notes, conventions = (memory.mirror.path(b) for b in ("project", "notes",
                                                                    "conventions"))
    got = {(f.label, f.line): f.message for f in dup}
    assert set(got) == {("project", line_of(project, "API server")),
                        ("notes", line_of(notes, "API server")),
                        ("notes", line_of(notes, "Retries")),
                        ("conventions", line_of(conventions, "Retries"))}
    assert got[("project", line_of(project, "API server"))] == (
        f"This lesson is also in block 'notes' (line {line_of(notes, 'API server') + 1}): keep "
        "it in one block and delete the other copy.")
    assert "block 'conventions'" in got[("notes", line_of(notes, "Retries"))]
    assert all(f.severity == "information" for f in dup)


def test_limits_near_and_over(memory):
    memory.blocks.update_settings("notes", limit=100)
    memory.blocks.set("notes", "x" * 60 + "\n" + "y" * 32, author="user")  # 93 chars: 93 %
    path = memory.mirror.path("notes")
    [near] = check(memory)
    assert (near.code, near.severity, near.line) == ("near-limit", "warning",
                                                     line_of(path, "limit:"))
    assert "93 % of its limit (93 of 100 characters)" in near.message
    # an edit of the file past the limit (not taken in yet): from the line that crosses it
    text = path.read_text()
    path.write_text(text + "\n" + "z" * 20 + "\nlast line")
    [over] = check(memory)
    assert (over.code, over.severity) == ("over-limit", "error")
    assert (over.line, over.end_line) == (line_of(path, "zzz"), line_of(path, "last line"))
    assert "holds 124 characters, over its limit of 100" in over.message


def test_a_secret_in_a_mirror_file_and_one_in_the_store(memory):
    path = memory.mirror.path("notes")
    path.write_text(path.read_text() + f"\nDeploy with the token {GITHUB_TOKEN} from CI.\n")
    [secret] = check(memory)
    assert (secret.code, secret.severity, secret.line) == ("secret", "error",
                                                           line_of(path, "Deploy with"))
    assert GITHUB_TOKEN not in secret.message and "github-token" in secret.message
    # a value stored before redaction knew this kind of secret (written straight to LanceDB)
    path.write_text(path.read_text().replace(GITHUB_TOKEN, "[REDACTED github-token #00000000]"))
    memory.blocks.set("human", "Prefers short answers.", author="user")
    table = lancedb.connect(memory.store_uri).open_table("blocks")
    table.update(where="label = 'human'", values={"value": f"Prefers short answers.\n"
                                                            f"Uses {GITHUB_TOKEN} for CI."})
    found = of(check(memory), "secret")
    assert [(f.label, f.line) for f in found] == [
        ("human", line_of(memory.mirror.path("human"), "Prefers") + 1)]
    assert "doctor --scrub" in found[0].message and GITHUB_TOKEN not in found[0].message


def test_invalid_frontmatter_is_reported_and_the_file_kept(memory):
    path = memory.mirror.path("notes")
    broken = "---\nlabel: notes\nlimit: [oops\n---\nMy precious lesson about `src/gone.py`.\n"
    path.write_text(broken)
    found = check(memory)
    [bad] = of(found, "invalid-frontmatter")
    assert (bad.line, bad.severity, bad.label) == (0, "error", "notes")
    assert "notes.md cannot be taken into memory because its frontmatter is not valid YAML" \
        in bad.message and "your text is kept" in bad.message
    assert [f.code for f in found] == ["invalid-frontmatter"]  # its text is not guessed at
    assert path.read_text() == broken
    path.write_text("---\nlabel: notes\nlimit: lots\n---\nstill mine\n")
    [bad] = check(memory)
    assert "`limit: lots` is not a positive whole number" in bad.message
    path.write_text("no frontmatter at all\n")
    [bad] = check(memory)
    assert "missing '---' frontmatter at the top" in bad.message
    assert path.read_text() == "no frontmatter at all\n"
    path.write_bytes(b"---\nlabel: notes\n---\ncaf\xe9\n")
    [bad] = check(memory)
    assert "notes.md cannot be taken into memory because it is not UTF-8 text: save it as " \
           "UTF-8 text; nothing was changed" in bad.message
    assert path.read_bytes() == b"---\nlabel: notes\n---\ncaf\xe9\n"


def test_a_new_file_not_taken_in_yet_is_checked_and_one_file_can_be_asked(memory, workspace):
    new = memory.mirror.folder / "deploy.md"
    new.write_text("---\nlabel: deploy\nlimit: 32\n---\n" + "Run `scripts/deploy.sh` first.\n")
    memory.blocks.set("notes", "See `docs/missing.md`.", author="user")
    everything = check(memory)
    assert {(f.label, f.code) for f in everything} == {
        ("notes", "missing-path"), ("deploy", "missing-path"), ("deploy", "near-limit")}
    only = check(memory, only=new)
    assert {f.label for f in only} == {"deploy"} and len(only) == 2
    assert check(memory, only=workspace / "main.py") == []


# -- the service and the CLI ------------------------------------------------------------------


def test_service_doctor_and_memory_findings(workspace, home, tmp_path):
    settings, _ = parse_settings({"embedder": "none", "store": str(tmp_path / "store")})
    svc = AgentService(workspace, settings, DiskToolHost(True, workspace=workspace),
                       background=False)
    try:
        svc.memory.blocks.set("notes", "- Run `make deploy` after `docs/release.md`.",
                              author="user")
        report = asyncio.run(svc.doctor())
        assert report.healthy
        assert [(f.code, f.label) for f in report.memory] == [
            ("missing-command", "notes"), ("missing-path", "notes")]
        notes = svc.memory.mirror.path("notes")
        assert svc.memory_findings(notes) == report.memory == svc.memory_findings()
        assert svc.memory_findings(svc.memory.mirror.path("persona")) == []
        # an editor's unsaved buffer: the file on disk is not what is checked
        unsaved = notes.read_text().replace("`make deploy`", "`make deploy`\n\nmore")
        [_, moved] = svc.memory_findings(notes, text=unsaved)
        assert moved.code == "missing-path" and moved.line == report.memory[1].line + 2
        [path_finding] = svc.memory_findings(notes, text=unsaved.replace("docs/release.md",
                                                                          "main.py"))
        assert path_finding.code == "missing-command"
    finally:
        svc.close()


@pytest.fixture
def stale_memory(workspace, open_memory):
    write(workspace, {"Makefile": MAKEFILE})
    mem = open_memory(workspace)
    mem.blocks.set("commands", "- `make test`, `make release`", author="user")
    mem.blocks.set("notes", "- Config lives in `conf/app.toml`.", author="user")
    return mem


def test_cli_doctor_json_has_the_findings(stale_memory, run_cli):
    done = run_cli("doctor", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["healthy"]
    got = [(f["label"], f["code"], f["severity"]) for f in report["memory"]]
    assert got == [("commands", "missing-command", "warning"),
                   ("notes", "missing-path", "warning")]
    finding = report["memory"][0]
    assert finding["path"] == str(stale_memory.mirror.path("commands").resolve())
    assert finding["line"] == line_of(finding["path"], "make release") == finding["end_line"]


def test_cli_doctor_on_a_damaged_store_still_checks_the_mirror_files(stale_memory, run_cli):
    shutil.rmtree(Path(stale_memory.store_uri) / "blocks.lance")
    done = run_cli("doctor", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert not report["healthy"]
    assert [(f["label"], f["code"]) for f in report["memory"]] == [
        ("commands", "missing-command"), ("notes", "missing-path")]


def test_cli_doctor_prints_findings_by_block(stale_memory, run_cli):
    done = run_cli("doctor")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    path = stale_memory.mirror.path("notes").resolve()
    assert "Memory: 2 findings in 2 blocks (advice; nothing was changed)." in out
    assert f"notes:\n\n{path}:{line_of(path, 'conf/app.toml') + 1}: warning: 'conf/app.toml' " \
           "does not exist in the workspace" in out
    assert out.index("commands:\n") < out.index("notes:\n")
    assert "Traceback" not in done.stderr


# -- the server: diagnostics on a mirror file --------------------------------------------------

SERVER_ROOT = Path(tempfile.mkdtemp(prefix="lsp-agent-memdoctor-"))
SERVER_WS = SERVER_ROOT / "ws"
SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "lsp_agent", "serve"],
    server_env={**os.environ, "LSP_AGENT_HOME": str(SERVER_ROOT / "home"),
                "LITELLM_LOCAL_MODEL_COST_MAP": "True"})


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    SERVER_WS.mkdir(parents=True, exist_ok=True)
    (SERVER_WS / "Makefile").write_text(MAKEFILE)

    @lsp_client.feature(T.WORKSPACE_CODE_LENS_REFRESH)
    def on_lens_refresh(_client: object, _params: object) -> None:
        return None

    opts = {"store": str(SERVER_ROOT / "store"), "embedder": "none"}
    await lsp_client.initialize_session(T.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=SERVER_WS.as_uri(),
        workspace_folders=[T.WorkspaceFolder(uri=SERVER_WS.as_uri(), name="ws")],
        initialization_options={"lspAgent": opts}))
    yield
    await lsp_client.shutdown_session()


async def test_server_diagnostics_on_a_mirror_file(client: LanguageClient) -> None:
    async def run(name: str, args: dict[str, object]) -> dict:
        return await client.workspace_execute_command_async(
            T.ExecuteCommandParams(command=name, arguments=[args]))

    await run("lspAgent.memory.edit", {"label": "commands",
                                       "value": "- test: `make test`\n- ship: `make release`"})
    folder = Path((await run("lspAgent.status", {}))["data"]["memory_folder"])
    mirror = folder / "commands.md"
    client.text_document_did_open(T.DidOpenTextDocumentParams(text_document=T.TextDocumentItem(
        uri=mirror.as_uri(), language_id="markdown", version=1, text=mirror.read_text())))
    report = await client.text_document_diagnostic_async(T.DocumentDiagnosticParams(
        text_document=T.TextDocumentIdentifier(uri=mirror.as_uri())))
    found = [(d.code, d.severity, d.range.start.line) for d in report.items]
    assert found == [("missing-command", T.DiagnosticSeverity.Warning,
                      line_of(mirror, "make release"))]
    assert report.items[0].message.startswith("`make release` runs the Makefile target")
