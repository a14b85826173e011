"""A deterministic, scripted model provider for litellm, for tests and demos without an API key.

`register_scripted_provider()` registers the provider "scripted" in litellm's
`custom_provider_map`, so the real `litellm.completion` / `litellm.acompletion` code path is
used end to end. The model string names a JSON script:

    model="scripted//abs/path/to/script.json"   # a script file
    model="scripted/env"                       # the script in $LSP_AGENT_SCRIPT_JSON

Script format:

    {"responses": [
      {"content": "text", "tool_calls": [{"name": "read_file", "arguments": {"path": "a.py"}}]},
      {"content": "Done.", "expect_last_tool_result_contains": "def main",
       "usage": {"prompt_tokens": 10, "completion_tokens": 2}}
    ]}

Streamed (`stream=True`), a response's content arrives word by word; `"delay_ms": N` in a
response pauses N ms before each piece (a slow model, for stop buttons and streaming views).
With $LSP_AGENT_SCRIPT_TRACE naming a file, the time each piece is handed to litellm is
appended to it as a JSON line `{"t": unix seconds, "text": piece}` (latency benchmarks).

Responses are replayed in order, one per completion call; the position is kept per script
(module-level, per process) and reset with `reset_scripted()`. The script file is re-read on
each call. When a response has `expect_last_tool_result_contains` and the last `tool` message of
the request does not contain that text, the reply is a plain message saying so (and the script
still advances). When the script is exhausted the reply is "(script exhausted)".

Importing this module does not import litellm (which takes seconds); registration does.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, cast

from lsp_agent.errors import LspAgentError

PROVIDER = "scripted"
SCRIPT_ENV_VAR = "LSP_AGENT_SCRIPT_JSON"
TRACE_ENV_VAR = "LSP_AGENT_SCRIPT_TRACE"
ENV_SCRIPT_NAME = "env"
EXHAUSTED_CONTENT = "(script exhausted)"

_positions: dict[str, int] = {}
_lock = threading.Lock()
_handler: Any = None
_costed_models: set[str] = set()


class ScriptError(LspAgentError, ValueError):
    """The script is missing or malformed."""


def scripted_model(path: str | os.PathLike[str]) -> str:
    """The litellm model string for a script file: "scripted/<absolute path>"."""
    return f"{PROVIDER}/{os.path.abspath(os.fspath(path))}"


def _key(path: str | os.PathLike[str]) -> str:
    text = os.fspath(path)
    if text.startswith(PROVIDER + "/"):
        text = text[len(PROVIDER) + 1 :]
    if text == ENV_SCRIPT_NAME:
        return ENV_SCRIPT_NAME
    return os.path.abspath(text)


def reset_scripted(path: str | os.PathLike[str] | None = None) -> None:
    """Restart one script (a path, "env" or a "scripted/..." model string), or all of them."""
    with _lock:
        if path is None:
            _positions.clear()
        else:
            _positions.pop(_key(path), None)


def scripted_position(path: str | os.PathLike[str]) -> int:
    """How many responses of the script have been consumed in this process."""
    with _lock:
        return _positions.get(_key(path), 0)


def _load_script(key: str) -> list[dict[str, Any]]:
    if key == ENV_SCRIPT_NAME:
        raw = os.environ.get(SCRIPT_ENV_VAR)
        if raw is None:
            raise ScriptError(f"model 'scripted/env' needs the script JSON in ${SCRIPT_ENV_VAR}")
        origin = f"${SCRIPT_ENV_VAR}"
    else:
        try:
            raw = Path(key).read_text(encoding="utf-8")
        except OSError as exc:
            raise ScriptError(f"cannot read model script {key}: {exc}") from exc
        origin = key
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ScriptError(f"model script {origin} is not valid JSON: {exc}") from exc
    responses = data.get("responses") if isinstance(data, dict) else data
    if not isinstance(responses, list) or not all(isinstance(r, dict) for r in responses):
        raise ScriptError(f'model script {origin} must be {{"responses": [{{...}}, ...]}}')
    return responses


def _next_response(key: str) -> tuple[int, dict[str, Any] | None]:
    """Consume the next scripted response: (its 0-based index, the response or None)."""
    responses = _load_script(key)
    with _lock:
        index = _positions.get(key, 0)
        _positions[key] = index + 1
    if index >= len(responses):
        return index, None
    return index, responses[index]


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                parts.append(str(part.get("text", "")))
            else:
                parts.append(str(part))
        return "".join(parts)
    return str(content)


def _message_field(message: Any, name: str) -> Any:
    if isinstance(message, dict):
        return message.get(name)
    return getattr(message, name, None)


def _last_tool_result(messages: list[Any]) -> str | None:
    for message in reversed(messages):
        if _message_field(message, "role") == "tool":
            return _text_of(_message_field(message, "content"))
    return None


def _rough_tokens(value: Any) -> int:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return max(1, (len(text) + 3) // 4)


def _plan(index: int, step: dict[str, Any] | None, messages: list[Any], tools: Any) -> dict:
    """Turn a script step into content, tool calls, finish reason and usage."""
    content: str | None
    tool_calls: list[dict[str, Any]] = []
    if step is None:
        content = EXHAUSTED_CONTENT
    else:
        content = step.get("content")
        expected = step.get("expect_last_tool_result_contains")
        last = _last_tool_result(messages)
        if expected is not None and (last is None or str(expected) not in last):
            got = "no tool message in the request" if last is None else f"got {last[:500]!r}"
            content = (
                f"(script expectation failed at response {index + 1}: the last tool result "
                f"does not contain {expected!r}; {got})"
            )
        else:
            for n, call in enumerate(step.get("tool_calls") or [], start=1):
                if not isinstance(call, dict) or "name" not in call:
                    raise ScriptError(f"response {index + 1}: each tool call needs a name")
                arguments = call.get("arguments", {})
                if not isinstance(arguments, str):
                    arguments = json.dumps(arguments)
                tool_calls.append(
                    {
                        "id": str(call.get("id") or f"call_scripted_{index + 1}_{n}"),
                        "type": "function",
                        "function": {"name": str(call["name"]), "arguments": arguments},
                    }
                )
    usage_in = (step or {}).get("usage") or {}
    prompt_tokens = int(
        usage_in.get(
            "prompt_tokens", _rough_tokens(messages) + (_rough_tokens(tools) if tools else 0)
        )
    )
    completion_tokens = int(
        usage_in.get(
            "completion_tokens",
            _rough_tokens(content or "") + sum(_rough_tokens(c["function"]) for c in tool_calls),
        )
    )
    return {
        "content": content,
        "delay": max(0.0, float((step or {}).get("delay_ms", 0) or 0) / 1000),
        "tool_calls": tool_calls,
        "finish_reason": "tool_calls" if tool_calls else "stop",
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _pieces(content: str) -> list[str]:
    """The content as streamed: one word (with the space after it) per piece; at least one."""
    return re.findall(r"\s*\S+\s*", content) or [content]


def _trace(text: str) -> None:
    path = os.environ.get(TRACE_ENV_VAR)
    if path and text:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"t": time.time(), "text": text}) + "\n")


def _register_zero_cost(litellm: Any, model: str) -> None:
    """Give the model a zero price so litellm's cost tracking works instead of raising.

    No context window is registered, so `get_model_info` reports none both before and after
    the first call (callers fall back to their own default or an explicit window).
    """
    full = f"{PROVIDER}/{model}"
    if full in _costed_models:
        return
    litellm.register_model(
        {
            full: {
                "input_cost_per_token": 0.0,
                "output_cost_per_token": 0.0,
                "cache_creation_input_token_cost": 0.0,
                "cache_read_input_token_cost": 0.0,
                "litellm_provider": PROVIDER,
                "mode": "chat",
                "supports_function_calling": True,
                "supports_tool_choice": True,
            }
        }
    )
    _costed_models.add(full)


def _build_handler_class() -> type:
    import litellm
    from litellm import CustomLLM
    from litellm.types.utils import GenericStreamingChunk

    class ScriptedLLM(CustomLLM):
        """litellm custom handler replaying a JSON script (see the module docstring)."""

        def _plan_call(self, model: str, messages: list, optional_params: dict | None) -> dict:
            key = _key(model)
            index, step = _next_response(key)
            tools = (optional_params or {}).get("tools")
            plan = _plan(index, step, messages, tools)
            _register_zero_cost(litellm, model)
            return plan

        def _response(self, model: str, plan: dict) -> Any:
            message: dict[str, Any] = {"role": "assistant", "content": plan["content"]}
            if plan["tool_calls"]:
                message["tool_calls"] = plan["tool_calls"]
            return litellm.ModelResponse(
                model=f"{PROVIDER}/{model}",
                choices=[{"index": 0, "message": message, "finish_reason": plan["finish_reason"]}],
                usage=plan["usage"],
            )

        def _chunks(self, plan: dict) -> list[GenericStreamingChunk]:
            chunks: list[GenericStreamingChunk] = []
            calls = plan["tool_calls"]
            pieces = _pieces(plan["content"] or "")
            for n, piece in enumerate(pieces):
                last = n == len(pieces) - 1 and not calls
                chunks.append(
                    {
                        "text": piece,
                        "tool_use": None,
                        "is_finished": last,
                        "finish_reason": plan["finish_reason"] if last else "",
                        "usage": plan["usage"] if last else None,
                        "index": 0,
                    }
                )
            for n, call in enumerate(calls):
                last = n == len(calls) - 1
                chunks.append(
                    {
                        "text": "",
                        "tool_use": cast(
                            Any,
                            {
                                "id": call["id"],
                                "type": "function",
                                "function": dict(call["function"]),
                                "index": n,
                            },
                        ),
                        "is_finished": last,
                        "finish_reason": plan["finish_reason"] if last else "",
                        "usage": plan["usage"] if last else None,
                        "index": 0,
                    }
                )
            return chunks

        def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            plan = self._plan_call(model, messages, kwargs.get("optional_params"))
            return self._response(model, plan)

        async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            plan = self._plan_call(model, messages, kwargs.get("optional_params"))
            if plan["delay"]:  # as slow as the streamed reply would be
                await asyncio.sleep(plan["delay"] * len(_pieces(plan["content"] or "")))
            return self._response(model, plan)

        def streaming(
            self, model: str, messages: list, *args: Any, **kwargs: Any
        ) -> Iterator[GenericStreamingChunk]:
            plan = self._plan_call(model, messages, kwargs.get("optional_params"))
            for chunk in self._chunks(plan):
                if chunk["text"] and plan["delay"]:
                    time.sleep(plan["delay"])
                _trace(chunk["text"])
                yield chunk

        async def astreaming(  # type: ignore[override]  # an async generator, as litellm expects
            self, model: str, messages: list, *args: Any, **kwargs: Any
        ) -> AsyncIterator[GenericStreamingChunk]:
            plan = self._plan_call(model, messages, kwargs.get("optional_params"))
            for chunk in self._chunks(plan):
                if chunk["text"] and plan["delay"]:
                    await asyncio.sleep(plan["delay"])
                _trace(chunk["text"])
                yield chunk

    return ScriptedLLM


def register_scripted_provider() -> Any:
    """Register the "scripted" provider with litellm (idempotent); returns the handler."""
    global _handler
    import litellm

    with _lock:
        if _handler is None:
            _handler = _build_handler_class()()
        present = any(
            isinstance(item, dict)
            and item.get("provider") == PROVIDER
            and item.get("custom_handler") is _handler
            for item in litellm.custom_provider_map
        )
        if not present:
            litellm.custom_provider_map = [
                item
                for item in litellm.custom_provider_map
                if not (isinstance(item, dict) and item.get("provider") == PROVIDER)
            ] + [{"provider": PROVIDER, "custom_handler": _handler}]
    try:
        from litellm.utils import custom_llm_setup
    except ImportError:  # pragma: no cover - litellm also runs this on every call
        return _handler
    custom_llm_setup()
    return _handler


__all__ = [
    "ENV_SCRIPT_NAME",
    "EXHAUSTED_CONTENT",
    "PROVIDER",
    "SCRIPT_ENV_VAR",
    "TRACE_ENV_VAR",
    "ScriptError",
    "register_scripted_provider",
    "reset_scripted",
    "scripted_model",
    "scripted_position",
]
