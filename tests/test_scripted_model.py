"""The scripted provider through the real litellm code path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Offline and fast: use litellm's bundled model cost map instead of fetching it.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from lsp_agent.agent.scripted import (  # noqa: E402
    EXHAUSTED_CONTENT,
    SCRIPT_ENV_VAR,
    register_scripted_provider,
    reset_scripted,
    scripted_model,
    scripted_position,
)

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "memory_replace",
            "description": "Replace text in a memory block.",
            "parameters": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "old_string": {"type": "string"},
                    "new_string": {"type": "string"},
                },
                "required": ["label", "old_string", "new_string"],
            },
        },
    }
]

SCRIPT = {
    "responses": [
        {
            "content": "Let me update memory.",
            "tool_calls": [
                {
                    "name": "memory_replace",
                    "arguments": {"label": "human", "old_string": "a", "new_string": "b"},
                },
                {"name": "memory_replace", "arguments": '{"label": "persona"}'},
            ],
        },
        {
            "content": "Done.",
            "expect_last_tool_result_contains": "replaced",
            "usage": {"prompt_tokens": 123, "completion_tokens": 7},
        },
    ]
}


@pytest.fixture(scope="module")
def litellm():
    register_scripted_provider()
    import litellm as _litellm

    return _litellm


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(SCRIPT))
    yield path
    reset_scripted(path)


def test_import_does_not_import_litellm() -> None:
    code = "import sys, lsp_agent.agent.scripted; assert 'litellm' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_registration_is_idempotent(litellm) -> None:
    first = register_scripted_provider()
    second = register_scripted_provider()
    assert first is second
    entries = [e for e in litellm.custom_provider_map if e["provider"] == "scripted"]
    assert len(entries) == 1 and entries[0]["custom_handler"] is first
    assert isinstance(first, litellm.CustomLLM)


async def test_acompletion_replays_tool_calls_then_next_response(litellm, script: Path) -> None:
    model = scripted_model(script)
    assert model == f"scripted/{script}"
    messages = [{"role": "user", "content": "remember that I like b"}]
    response = await litellm.acompletion(model=model, messages=messages, tools=TOOLS)
    assert isinstance(response, litellm.ModelResponse)
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me update memory."
    calls = choice.message.tool_calls
    assert [c.function.name for c in calls] == ["memory_replace", "memory_replace"]
    assert calls[0].type == "function"
    assert calls[0].id != calls[1].id
    assert json.loads(calls[0].function.arguments) == {
        "label": "human",
        "old_string": "a",
        "new_string": "b",
    }
    assert json.loads(calls[1].function.arguments) == {"label": "persona"}
    assert response.usage.prompt_tokens > 0 and response.usage.completion_tokens > 0
    assert response.usage.total_tokens == (
        response.usage.prompt_tokens + response.usage.completion_tokens
    )
    assert litellm.completion_cost(completion_response=response) == 0.0
    assert scripted_position(script) == 1

    messages.append(choice.message.model_dump())
    for call in calls:
        messages.append(
            {"role": "tool", "tool_call_id": call.id, "content": "Block 'human' replaced."}
        )
    second = await litellm.acompletion(model=model, messages=messages, tools=TOOLS)
    assert second.choices[0].message.content == "Done."
    assert second.choices[0].finish_reason == "stop"
    assert not second.choices[0].message.tool_calls
    assert second.usage.prompt_tokens == 123 and second.usage.completion_tokens == 7
    litellm.completion_cost(completion_response=second)

    third = await litellm.acompletion(model=model, messages=messages)
    assert third.choices[0].message.content == EXHAUSTED_CONTENT
    assert not third.choices[0].message.tool_calls


async def test_expectation_failure_is_reported(litellm, script: Path) -> None:
    model = scripted_model(script)
    messages = [{"role": "user", "content": "hi"}]
    await litellm.acompletion(model=model, messages=messages, tools=TOOLS)
    messages += [
        {"role": "assistant", "content": None},
        {"role": "tool", "tool_call_id": "x", "content": "something else"},
    ]
    second = await litellm.acompletion(model=model, messages=messages, tools=TOOLS)
    text = second.choices[0].message.content
    assert "expectation failed" in text and "'replaced'" in text and "something else" in text


async def test_reset_restarts_script(litellm, script: Path) -> None:
    model = scripted_model(script)
    messages = [{"role": "user", "content": "hi"}]
    await litellm.acompletion(model=model, messages=messages)
    reset_scripted(model)
    again = await litellm.acompletion(model=model, messages=messages)
    assert again.choices[0].message.content == "Let me update memory."
    reset_scripted()
    assert scripted_position(script) == 0


def test_sync_completion(litellm, script: Path) -> None:
    response = litellm.completion(
        model=scripted_model(script), messages=[{"role": "user", "content": "hi"}], tools=TOOLS
    )
    assert response.choices[0].message.tool_calls[0].function.name == "memory_replace"


async def test_env_script(litellm, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SCRIPT_ENV_VAR, json.dumps({"responses": [{"content": "from env"}]}))
    reset_scripted("env")
    try:
        messages = [{"role": "user", "content": "hi"}]
        first = await litellm.acompletion(model="scripted/env", messages=messages)
        assert first.choices[0].message.content == "from env"
        second = await litellm.acompletion(model="scripted/env", messages=messages)
        assert second.choices[0].message.content == EXHAUSTED_CONTENT
    finally:
        reset_scripted("env")


async def test_streaming(litellm, script: Path) -> None:
    messages = [{"role": "user", "content": "hi"}]
    stream = await litellm.acompletion(
        model=scripted_model(script), messages=messages, tools=TOOLS, stream=True
    )
    chunks = [chunk async for chunk in stream]
    built = litellm.stream_chunk_builder(chunks, messages=messages)
    assert built.choices[0].message.content == "Let me update memory."
    calls = built.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["memory_replace", "memory_replace"]
    assert json.loads(calls[0].function.arguments)["label"] == "human"


async def test_bad_script_raises(litellm, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(Exception, match="not valid JSON"):
        await litellm.acompletion(
            model=scripted_model(bad), messages=[{"role": "user", "content": "hi"}]
        )
