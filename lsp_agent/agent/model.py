"""The model behind a small protocol, reached through litellm (any hosted or local model).

litellm is imported on the first call, never at server start (it takes ~2 s to import).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from lsp_agent.errors import ModelError, ModelNotConfigured

log = logging.getLogger(__name__)


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str = ""
    parse_error: str = ""


@dataclass
class ModelReply:
    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    thinking: str = ""


#: Called with each piece of the reply's text as the model streams it.
DeltaSink = Callable[[str], Awaitable[None]]


class Model(Protocol):
    name: str

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                       on_delta: DeltaSink | None = None) -> ModelReply: ...

    def count_tokens(self, messages: list[dict[str, Any]]) -> int: ...

    def context_window(self) -> int: ...


def _litellm() -> Any:
    import litellm

    litellm.suppress_debug_info = True
    litellm.drop_params = True
    return litellm


class LitellmModel:
    """Any litellm model string: 'anthropic/...', 'openai/...', 'ollama/...', 'scripted/...'."""

    def __init__(self, name: str | None, *, window: int | None = None) -> None:
        if not name:
            raise ModelNotConfigured()
        self.name = name
        self._window = window
        if name.startswith("scripted/"):
            from lsp_agent.agent.scripted import register_scripted_provider

            register_scripted_provider()

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                       on_delta: DeltaSink | None = None) -> ModelReply:
        """One model call; with `on_delta` the reply is streamed (text pieces as they come)
        and assembled by litellm into the same response a plain call gives."""
        litellm = _litellm()
        try:
            if on_delta is None:
                resp = await litellm.acompletion(model=self.name, messages=messages,
                                                 tools=tools or None)
            else:
                resp = await self._stream(litellm, messages, tools, on_delta)
        except ModelError:
            raise
        except Exception as exc:  # noqa: BLE001 - every provider failure becomes one message
            raise ModelError(_explain(self.name, exc)) from exc
        choice = resp.choices[0]
        msg = choice.message
        calls: list[ToolCall] = []
        for tc in getattr(msg, "tool_calls", None) or []:
            raw = tc.function.arguments or "{}"
            try:
                args = json.loads(raw) if isinstance(raw, str) else dict(raw)
                err = "" if isinstance(args, dict) else "arguments are not a JSON object"
            except json.JSONDecodeError as exc:
                args, err = {}, f"arguments are not valid JSON ({exc})"
            calls.append(ToolCall(id=tc.id or f"call_{len(calls)}", name=tc.function.name,
                                  arguments=args if isinstance(args, dict) else {},
                                  raw_arguments=raw if isinstance(raw, str) else json.dumps(raw),
                                  parse_error=err))
        usage = getattr(resp, "usage", None)
        cost = 0.0
        try:
            cost = float(litellm.completion_cost(completion_response=resp) or 0.0)
        except Exception:  # noqa: BLE001 - unknown price (local models): cost stays 0
            pass
        return ModelReply(
            content=msg.content or "", tool_calls=calls,
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            cost=cost, thinking=getattr(msg, "reasoning_content", None) or "",
        )

    async def _stream(self, litellm: Any, messages: list[dict[str, Any]],
                      tools: list[dict[str, Any]], on_delta: DeltaSink) -> Any:
        stream = await litellm.acompletion(model=self.name, messages=messages,
                                           tools=tools or None, stream=True,
                                           stream_options={"include_usage": True})
        chunks = []
        async for chunk in stream:
            chunks.append(chunk)
            text = chunk.choices[0].delta.content if chunk.choices else None
            if text:
                await on_delta(text)
        resp = litellm.stream_chunk_builder(chunks, messages=messages)
        if resp is None:
            raise ModelError(f"The model '{self.name}' sent an empty stream.")
        return resp

    def count_tokens(self, messages: list[dict[str, Any]]) -> int:
        try:
            return int(_litellm().token_counter(model=self.name, messages=messages))
        except Exception:  # noqa: BLE001 - unknown tokenizer: ~4 characters a token
            return sum(len(json.dumps(m, ensure_ascii=False)) for m in messages) // 4

    def context_window(self) -> int:
        if self._window:
            return self._window
        try:
            info = _litellm().get_model_info(self.name)
            return int(info.get("max_input_tokens") or info.get("max_tokens") or 32_000)
        except Exception:  # noqa: BLE001 - unknown model: a conservative window
            return 32_000


def _explain(model: str, exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).split("\n")[0][:400]
    if "AuthenticationError" in name or "api_key" in text.lower() or "API key" in text:
        return (f"The model '{model}' refused the request for lack of a valid API key ({text}). "
                "Set the provider's key (e.g. OPENAI_API_KEY, ANTHROPIC_API_KEY) in the "
                "environment of the editor or of lsp-agent.")
    if "NotFound" in name or "BadRequest" in name and "model" in text.lower():
        return f"The model '{model}' was not found by its provider ({text}). Check the model string."
    if "Connection" in name or "Timeout" in name:
        return f"Could not reach the model '{model}' ({text}). Check the network or the local server."
    return f"The model '{model}' failed: {name}: {text}"
