"""The `lsp-agent` CLI in subprocesses: every memory subcommand, good and bad arguments.

Commands that import lancedb are slow to start, so independent ones run concurrently.
"""

from __future__ import annotations

import json
import re

import pytest

LONG = "x" * 7000  # over the notes block's limit of 6000


def _ok(res):
    assert res.returncode == 0, f"{res.args}: {res.stderr}"
    assert "Traceback" not in res.stderr
    return res


def _fails(res, *words, code=1, usage=False):
    assert res.returncode == code, f"{res.args}: rc={res.returncode} {res.stdout} {res.stderr}"
    assert "Traceback" not in res.stderr
    err = res.stderr.strip()
    if usage:
        assert "usage:" in err, err
    else:
        assert err.startswith("error: "), err
    for w in words:
        assert w in err, (w, err)
    return res


def test_usage_errors_exit_2(run_cli, home):
    cases = {
        (): "required",
        ("memory",): "required",
        ("bogus",): "invalid choice",
        ("memory", "revert", "notes", "abc"): "'abc' is not a whole number",
        ("memory", "revert", "notes", "0"): "must be at least 1",
        ("memory", "revert", "notes"): "required",
        ("memory", "create", "x", "--limit", "0"): "must be at least 1",
        ("search", "q", "--kind", "bogus"): "invalid choice",
        ("search", "q", "--mode", "fuzzy"): "invalid choice",
        ("search", "q", "--limit", "-3"): "must be at least 1",
        ("archival",): "required",
        ("archival", "search", "q", "--since", "last tuesday"): "is not a date",
        ("archival", "insert"): "required",
        ("status", "--nope"): "unrecognized arguments",
    }
    results = run_cli.many(*cases, common=False)
    for (_args, words), res in zip(cases.items(), results, strict=True):
        _fails(res, words, code=2, usage=True)
    assert not (home / "workspaces").exists()  # nothing was created or opened


def test_missing_workspace(run_cli, tmp_path, home):
    res = run_cli("status", ws=tmp_path / "nowhere")
    _fails(res, "does not exist", "--workspace", code=2)
    assert not (home / "workspaces").exists()


def test_memory_commands(run_cli, open_memory, workspace, tmp_path):
    source = tmp_path / "value.txt"
    source.write_text("GET /c from a file\n")
    c = run_cli.cmd
    show, show_one, create, set1, set_file, set_stdin, hist_json, hist, revert = map(_ok, run_cli.seq(
        ("memory", "show"),
        ("memory", "show", "notes", "--json"),
        ("memory", "create", "api", "--description", "API notes", "--value", "GET /a",
         "--limit", "200", "--read-only"),
        ("memory", "set", "api", "GET /b", "--reason", "moved"),
        ("memory", "set", "api", "--file", str(source)),
        c("memory", "set", "notes", "-", stdin="from stdin\n"),
        ("memory", "history", "api", "--json"),
        ("memory", "history", "api"),
        ("memory", "revert", "api", "1"),
    ))
    assert "persona (" in show.stdout and "notes (0/6000 chars, v1)" in show.stdout
    assert "**" not in show.stdout and "##" not in show.stdout  # plain text in a terminal
    shown = json.loads(show_one.stdout)
    assert [b["label"] for b in shown["blocks"]] == ["notes"]
    assert shown["blocks"][0]["limit"] == 6000
    assert "Block api created." in create.stdout
    assert set1.stdout.strip() == "Block api is now version 2."
    assert set_file.stdout.strip() == "Block api is now version 3."
    assert set_stdin.stdout.strip() == "Block notes is now version 2."
    versions = json.loads(hist_json.stdout)["versions"]
    assert [(v["version"], v["author"], v["new"]) for v in versions] == [
        (1, "user", "GET /a"), (2, "user", "GET /b"), (3, "user", "GET /c from a file\n")]
    assert versions[1]["reason"] == "moved"
    assert hist.stdout.splitlines()[0] == "History of api"
    assert "v2 " in hist.stdout and re.search(r"by user \(\S+@\S+\): moved", hist.stdout), \
        "who changed it, as whom and on which machine"
    assert "-GET /a\n+GET /b" in hist.stdout  # each version shows its diff
    assert "version 1 restored as version 4" in revert.stdout

    mem = open_memory(workspace)
    api = mem.blocks.get("api")
    assert (api.value, api.version, api.read_only, api.limit, api.description) == (
        "GET /a", 4, True, 200, "API notes")
    assert mem.blocks.get("notes").value == "from stdin\n"
    assert (mem.memory_folder / "api.md").read_text().endswith("\nGET /a")


def test_memory_create_shared(run_cli, open_memory, tmp_path, workspace):
    other = tmp_path / "other-ws"
    other.mkdir()
    c = run_cli.cmd
    results = list(map(_ok, run_cli.seq(
        ("memory", "create", "team", "--value", "tabs", "--shared"),
        c("memory", "create", "team", "--shared", ws=other),
        c("memory", "set", "team", "spaces", ws=other),
        ("memory", "show", "team", "--json"),
    )))
    shown = json.loads(results[-1].stdout)["blocks"][0]
    assert (shown["value"], shown["scope"]) == ("spaces", "shared")


def test_bad_arguments_lose_nothing(run_cli, open_memory, workspace, tmp_path, settle, capsys):
    mem = open_memory(workspace)
    mem.blocks.set("notes", "keep this", author="user")
    mem.archival.insert("a passage to keep", ["keep"])
    settle()
    before = {b.label: (b.value, b.version) for b in mem.blocks.list()}
    # in subprocesses, as a user runs them
    cases = [
        (("memory", "show", "nosuch"), ["No memory block 'nosuch'", "notes"], 3),
        (("memory", "set", "notes", LONG), ["7000 characters", "limit of 6000"], 1),
        (("memory", "set", "notes"), ["VALUE"], 2),  # no value and nothing on stdin
        (("memory", "create", "Bad Label"), ["Invalid block label"], 1),
        (("remember", "a lesson", "--block", "nosuch"), ["No memory block 'nosuch'"], 3),
        (("archival", "insert", "  "), ["some text"], 2),
    ]
    results = run_cli.many(*(c for c, _, _ in cases))
    for (_args, words, code), res in zip(cases, results, strict=True):
        _fails(res, *words, code=code, usage=code == 2 and "VALUE" not in words)
    # the same entry point in this process (each subprocess costs seconds of imports)
    from lsp_agent.cli import main

    in_process = [
        (("memory", "set", "nosuch", "v"), ["No memory block 'nosuch'"], 3),
        (("memory", "set", "notes", "--file", str(tmp_path / "missing.txt")), ["missing.txt"], 1),
        (("memory", "create", "notes", "--value", "replaced"), ["already exists"], 1),
        (("memory", "create", "big", "--value", "abcdef", "--limit", "3"), ["over its limit"], 1),
        (("memory", "history", "nosuch"), ["No memory block 'nosuch'"], 3),
        (("memory", "revert", "notes", "99"), ["no version 99"], 1),
        (("remember",), ["needs a model"], 4),
        (("remember", "   "), ["needs a model"], 4),  # blank text: the conversation
        (("search", "anything", "--kind", "code"), ["lsp-agent init"], 1),
        (("archival", "insert", "y" * 20_001), ["at most 20000"], 1),
    ]
    for args, words, expected in in_process:
        capsys.readouterr()
        code = main([*args, "--workspace", str(workspace), "--embedder", "none"])
        err = capsys.readouterr().err
        assert code == expected, (args, err)
        assert err.startswith("error: ") and all(w in err for w in words), (args, err)
    with pytest.raises(SystemExit) as blank:  # a blank query is a usage error
        main(["search", "   ", "--workspace", str(workspace)])
    assert blank.value.code == 2 and "some words" in capsys.readouterr().err
    again = open_memory(workspace)
    assert {b.label: (b.value, b.version) for b in again.blocks.list()} == before
    assert [p.content for p in again.archival.all()] == ["a passage to keep"]


def test_remember_and_search(run_cli, open_memory, workspace, settle):
    first, second, again = map(_ok, run_cli.seq(
        ("remember", "Run the tests with pytest -q"),
        ("remember", "Lint with ruff check .", "--block", "commands"),
        ("remember", "Run the tests with pytest -q"),  # already there: no new version
    ))
    assert "Remembered in block 'notes' (version 2)" in first.stdout
    assert "Remembered in block 'commands' (version 2)" in second.stdout
    assert "Already in block 'notes' (version 2); nothing changed." in again.stdout
    mem = open_memory(workspace)
    assert mem.blocks.get("notes").value == "- Run the tests with pytest -q"
    assert mem.blocks.get("commands").value == "- Lint with ruff check ."
    conv = mem.recall.new_conversation()
    mem.recall.append(conv.id, "user", "pytest hangs on the integration tests")
    settle()

    blocks, everything, text = run_cli.many(
        ("search", "pytest", "--kind", "blocks", "--json"),
        ("search", "pytest", "--json"),
        ("search", "ruff"),
    )
    hits = json.loads(_ok(blocks).stdout)["results"]
    assert [h["id"] for h in hits] == ["notes"]
    kinds = {h["kind"] for h in json.loads(_ok(everything).stdout)["results"]}
    assert {"block", "message"} <= kinds
    out = _ok(text).stdout
    assert out.startswith("Results for “ruff”\n\n1. [block] Memory block: commands")
    assert "ruff check" in out


def _seed_archival(open_memory, workspace, settle, embedder="none"):
    """Make the archival table and its index here: a CLI process whose write is a table's
    first starts the background index build, and a process exiting during it can abort in
    lance (see the report); these tests are about the commands, not that crash."""
    mem = open_memory(workspace, embedder=embedder)
    mem.archival.insert("The office plant is watered on Mondays", ["office"])
    settle()
    return mem


def test_archival_commands(run_cli, open_memory, workspace, settle):
    _seed_archival(open_memory, workspace, settle)
    first, _second, anyof, allof, since, until, limited, none = map(_ok, run_cli.seq(
        ("archival", "insert", "Deploys go through ArgoCD", "--tag", "Ops", "--tag", "deploy",
         "--json"),
        ("archival", "insert", "Deploy docs with mkdocs", "--tag", "docs", "--tag", "deploy"),
        ("archival", "search", "deploy", "--tag", "ops", "--tag", "docs", "--json"),
        ("archival", "search", "deploy", "--tag", "ops", "--tag", "deploy", "--all-tags",
         "--json"),
        ("archival", "search", "deploy", "--since", "2000-01-01", "--json"),
        ("archival", "search", "deploy", "--until", "2000-01-01"),
        ("archival", "search", "deploy", "--limit", "1", "--json"),
        ("archival", "search", "kubernetes"),
    ))
    first = json.loads(first.stdout)
    assert first["tags"] == ["deploy", "ops"] and first["created"]

    def contents(r):
        return sorted(x["content"] for x in json.loads(r.stdout)["results"])

    assert contents(anyof) == ["Deploy docs with mkdocs", "Deploys go through ArgoCD"]
    assert contents(allof) == ["Deploys go through ArgoCD"]
    assert len(contents(since)) == 2  # the seeded passage does not mention deploys
    assert until.stdout.strip() == "No passages match “deploy”."
    assert len(contents(limited)) == 1
    assert none.stdout.strip() == "No passages match “kubernetes”."
    hit = json.loads(limited.stdout)["results"][0]
    assert hit["score"] > 0 and hit["tags"]
    assert len(open_memory(workspace).archival.all()) == 3


def test_status_settings_and_embedder_fallback(run_cli):
    c = run_cli.cmd
    plain, as_json, flag_model, env_model, bad_setting, broken = run_cli.many(
        ("status",),
        ("status", "--json"),
        ("status", "--json", "--model", "openai/gpt-x"),
        c("status", "--json", env={"LSP_AGENT_MODEL": "anthropic/claude-x"}),
        c("status", "--json", env={"LSP_AGENT_PERMISSION_MODE": "yolo"}),
        c("search", "anything", "--kind", "messages", embedder="onnx:/nonexistent"),
    )
    assert "embedder:        none (full-text search only)" in _ok(plain).stdout
    data = json.loads(_ok(as_json).stdout)
    assert data["counts"]["blocks"] == 6 and data["counts"]["messages"] == 0
    assert data["store"].endswith("/store") and data["memory_folder"].endswith("/store/memory")
    assert data["model"] == ""
    assert json.loads(_ok(flag_model).stdout)["model"] == "openai/gpt-x"
    assert json.loads(_ok(env_model).stdout)["model"] == "anthropic/claude-x"
    assert "warning: Setting 'permissionMode' = 'yolo' is invalid" in _ok(bad_setting).stderr
    assert json.loads(bad_setting.stdout)["counts"]["blocks"] == 6
    assert _ok(broken).stdout.strip() == "No results for “anything”."
    assert "onnx:/nonexistent" in broken.stderr and "full text" in broken.stderr


@pytest.mark.vectors
def test_default_embedder_vector_search(run_cli, open_memory, workspace, settle):
    _seed_archival(open_memory, workspace, settle, embedder="default")
    c = run_cli.cmd
    *_, found, status = map(_ok, run_cli.seq(
        c("archival", "insert", "Use exponential backoff when the payment API times out",
          embedder=None),
        c("archival", "insert", "The logo colours are blue and orange", embedder=None),
        c("archival", "search", "retrying a slow billing service", "--mode", "vector",
          "--limit", "1", "--json", embedder=None),
        c("status", "--json", embedder=None),
    ))
    assert [r["content"] for r in json.loads(found.stdout)["results"]] == [
        "Use exponential backoff when the payment API times out"]
    status = json.loads(status.stdout)
    assert status["embedder"] == "default (loaded on first use)" and status["warnings"] == []
