"""`lsp-agent ask --output-format text|json|stream-json` in subprocesses, as scripts and other
agents run it: the documented event sequence, one result object, exit codes by outcome."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import CliRunner


def script(tmp_path: Path, *responses: dict[str, Any]) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps({"responses": list(responses)}))
    return f"scripted/{path}"


def lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_stream_json_prints_every_event_then_the_result(run_cli: CliRunner,
                                                         tmp_path: Path) -> None:
    model = script(tmp_path,
                   {"content": "Saving that.", "tool_calls": [{"name": "memory_insert",
                    "arguments": {"label": "human", "new_string": "Likes short answers."}}]},
                   {"content": "Saved: short answers from now on."})
    res = run_cli("ask", "keep answers short", "--model", model, "--output-format", "stream-json")
    assert res.returncode == 0, res.stderr
    out = lines(res.stdout)
    types = [o["type"] for o in out]
    assert types[0] == "turn_start" and types[-2:] == ["done", "result"], types
    expected = ["turn_start", "text_delta", "usage", "tool_call", "memory_change", "tool_result",
                "text_delta", "usage", "message", "done", "result"]
    order = [t for i, t in enumerate(types) if i == 0 or t != types[i - 1]]
    assert order == [t for t in expected if t in order] and set(expected) <= set(types), order
    assert types.count("text_delta") >= 5
    result = out[-1]
    assert result["subtype"] == "success" and result["is_error"] is False
    assert result["result"] == "Saved: short answers from now on."
    assert result["turn_id"] == out[0]["turn_id"] and result["usage"]["steps"] == 2
    assert result["refused"] == [] and result["tool_calls"][0]["name"] == "memory_insert"
    assert "Traceback" not in res.stderr


def test_json_prints_one_result_and_text_prints_the_reply(run_cli: CliRunner,
                                                          tmp_path: Path) -> None:
    model = script(tmp_path, {"content": "Hello there."})
    res = run_cli("ask", "hi", "--model", model, "--output-format", "json")
    assert res.returncode == 0, res.stderr
    (result,) = lines(res.stdout)
    assert result["type"] == "result" and result["result"] == "Hello there."
    res = run_cli("ask", "hi again", "--model", model)  # a new process: the script restarts
    assert res.returncode == 0 and res.stdout.strip() == "Hello there."


def test_exit_codes_tell_no_model_limit_and_refusal_apart(run_cli: CliRunner,
                                                         tmp_path: Path) -> None:
    res = run_cli("ask", "anything", "--output-format", "json")
    assert res.returncode == 4, res.stderr
    (result,) = lines(res.stdout)
    assert result["subtype"] == "error_no_model" and "model" in result["result"]
    assert "error:" in res.stderr and "Traceback" not in res.stderr

    greedy = script(tmp_path, {"content": "", "usage": {"prompt_tokens": 250_000,
                                                        "completion_tokens": 10},
                               "tool_calls": [{"name": "list_files", "arguments": {}}]},
                    {"content": "never"})
    res = run_cli("ask", "list", "--model", greedy, "--output-format", "stream-json")
    assert res.returncode == 6, res.stderr
    out = lines(res.stdout)
    assert out[-1]["subtype"] == "error_max_tokens" and out[-1]["stopped"] == "max_tokens"
    assert any(o["type"] == "error" and o["stopped"] == "max_tokens" for o in out)

    (tmp_path / "b").mkdir()
    edit = script(tmp_path / "b", {"content": "", "tool_calls": [{"name": "write_file",
                  "arguments": {"path": "new.txt", "content": "x"}}]},
                  {"content": "You refused; nothing written."})
    res = run_cli("ask", "write it", "--model", edit, "--permission-mode", "ask",
                  "--output-format", "json")  # no terminal: the approval is refused
    assert res.returncode == 7, res.stderr
    (result,) = lines(res.stdout)
    assert result["subtype"] == "error_refused" and result["refused"] == ["Edit file"]
    assert result["result"] == "You refused; nothing written."


def test_the_documented_event_types_are_the_ones_sent() -> None:
    from lsp_agent.service import EVENT_TYPES

    doc = (Path(__file__).parents[1] / "docs" / "protocol.md").read_text()
    section = doc.split("## Events: `lspAgent/event`")[1].split("###")[0]
    table = [line.split("`")[1] for line in section.splitlines()
             if line.startswith("| `") and not line.startswith("| `type`")]
    assert tuple(table) == EVENT_TYPES
