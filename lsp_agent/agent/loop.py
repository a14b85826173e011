"""The agent loop: compile context, ask the model, run its tool calls, repeat until it answers.

Every message (user, assistant, tool) is appended to recall memory as it happens, so a turn
interrupted at any point leaves a faithful record. Limits (steps, tokens, time) are raised as
exceptions inside and reported as the turn's outcome outside.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lsp_agent.agent.context import (
    split_for_compaction,
    system_message,
    to_chat,
    transcript,
    valid_window,
)
from lsp_agent.agent.events import EventSink, TurnEvents
from lsp_agent.agent.events import current as events_var
from lsp_agent.agent.model import Model, ModelReply
from lsp_agent.agent.tools.base import Tool, ToolContext, ToolError
from lsp_agent.config import Settings
from lsp_agent.errors import LimitReached, LspAgentError
from lsp_agent.memory.schema import Message

STOPPED_NOTE = "(stopped by the user)"


class AgentLimitExceeded(LimitReached):
    """A turn stopped at a limit; `kind` is max_steps, max_tokens or timeout."""


@dataclass
class TurnResult:
    reply: str
    conversation_id: str
    turn_id: str = ""
    steps: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    stopped: str = "done"  # done | max_steps | max_tokens | timeout
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    step_overhead_ms: list[float] = field(default_factory=list)

    def tokens(self) -> dict[str, Any]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "cost": round(self.cost, 6)}

    def usage(self) -> dict[str, Any]:
        return {**self.tokens(), "steps": self.steps}


class Agent:
    """One workspace's agent: memory + model + tools."""

    def __init__(self, memory: Any, model: Model, tools: list[Tool], ctx: ToolContext,
                 settings: Settings, skills_catalog: Callable[[], str] | None = None) -> None:
        self.memory = memory
        self.model = model
        self.tools = {t.name: t for t in tools}
        self.ctx = ctx
        self.settings = settings
        self.skills_catalog = skills_catalog or (lambda: "")
        ctx.extra.setdefault("memory", memory)

    async def turn(self, prompt: str, conversation_id: str, *,
                   on_event: EventSink | None = None) -> TurnResult:
        """Run one turn, streaming its events (docs/protocol.md "Events") to `on_event`."""
        events = TurnEvents(on_event, conversation_id)
        token = events_var.set(events)
        try:
            return await self._turn(prompt, conversation_id, events)
        finally:
            events_var.reset(token)

    async def _turn(self, prompt: str, conversation_id: str,
                    events: TurnEvents) -> TurnResult:
        result = TurnResult(reply="", conversation_id=conversation_id, turn_id=events.turn_id)
        history = await asyncio.to_thread(self._load, conversation_id)
        self._conv = await asyncio.to_thread(self.memory.recall.conversation, conversation_id)
        self._counts = await asyncio.to_thread(self.memory.store.counts)
        self._tokens: dict[str, int] = {}
        history.append(await self._append(conversation_id, "user", prompt))
        await events.emit("turn_start", prompt=prompt)
        deadline = time.monotonic() + self.settings.turn_timeout_seconds
        streamed: list[str] = []  # this step's text so far, kept if the user stops the turn
        try:
            while True:
                if result.steps >= self.settings.max_steps:
                    raise AgentLimitExceeded("max_steps", f"Stopped after {result.steps} steps "
                                             "(the maxSteps limit); ask again to continue.")
                result.steps += 1
                t0 = time.perf_counter()
                messages = await self._compile(conversation_id, history, events)
                overhead = time.perf_counter() - t0
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AgentLimitExceeded("timeout", "Stopped: the turn's time limit ran out.")
                streamed.clear()
                reply = await self._ask_model(messages, remaining, events, streamed)
                t1 = time.perf_counter()
                self._account(result, reply)
                await events.emit("usage", step=result.steps, **result.tokens())
                if reply.thinking:
                    await events.emit("thinking", text=reply.thinking)
                if not reply.tool_calls:
                    history.append(await self._append(conversation_id, "assistant",
                                                      reply.content))
                    result.reply = reply.content
                    await events.emit("message", text=reply.content)
                    result.step_overhead_ms.append((overhead + time.perf_counter() - t1) * 1000)
                    break
                t1 += await self._run_step(conversation_id, reply, history, result, events)
                streamed.clear()
                result.step_overhead_ms.append((overhead + time.perf_counter() - t1) * 1000)
                if result.prompt_tokens + result.completion_tokens > self.settings.max_tokens_per_turn:
                    raise AgentLimitExceeded("max_tokens", "Stopped: this turn used more tokens "
                                             "than the maxTokensPerTurn limit.")
        except AgentLimitExceeded as exc:
            result.stopped = exc.kind
            result.reply = str(exc)
            await self._append(conversation_id, "assistant", str(exc))
            await events.emit("error", text=str(exc), stopped=exc.kind)
        except asyncio.CancelledError:
            # what the user saw stays in the conversation; the cancellation goes on upwards
            text = ("".join(streamed).rstrip() + "\n\n" if streamed else "") + STOPPED_NOTE
            await asyncio.shield(self._append(conversation_id, "assistant", text))
            await events.emit("error", text=STOPPED_NOTE, stopped="cancelled")
            await events.emit("done", text=text, stopped="cancelled", usage=result.usage())
            raise
        except Exception as exc:  # a failed model call: the views still see the turn end
            text = str(exc) if isinstance(exc, LspAgentError) else "The turn failed unexpectedly."
            await events.emit("error", text=text, stopped="error")
            await events.emit("done", text=text, stopped="error", usage=result.usage())
            raise
        await events.emit("done", text=result.reply, stopped=result.stopped, usage=result.usage())
        return result

    async def _ask_model(self, messages: list[dict[str, Any]], remaining: float,
                         events: TurnEvents, streamed: list[str]) -> ModelReply:
        async def on_delta(text: str) -> None:
            streamed.append(text)
            await events.emit("text_delta", text=text)

        tools = [t.schema() for t in self.tools.values()]
        call = (self.model.complete(messages, tools, on_delta=on_delta)
                if events.sink is not None else self.model.complete(messages, tools))
        try:
            return await asyncio.wait_for(call, timeout=remaining)
        except TimeoutError:
            raise AgentLimitExceeded("timeout", "Stopped: the turn's time limit ran out "
                                     "while waiting for the model.") from None

    async def _run_step(self, conversation_id: str, reply: ModelReply, history: list[Message],
                        result: TurnResult, events: TurnEvents) -> float:
        """Run the step's tool calls and store them; returns the seconds the tools took."""
        calls = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in reply.tool_calls]
        step_messages: list[dict[str, Any]] = [{
            "conversation_id": conversation_id, "role": "assistant",
            "content": reply.content, "tool_calls": calls}]
        tools_time = 0.0
        for call in reply.tool_calls:
            await events.emit("tool_call", call_id=call.id, tool=call.name,
                              arguments=call.arguments,
                              text=f"{call.name}({_short(call.arguments)})")
            t_tool = time.perf_counter()
            output, ok = await self._run_tool(call)
            tools_time += time.perf_counter() - t_tool
            result.tool_calls.append({"name": call.name, "arguments": call.arguments,
                                      "result": output[:2000]})
            await events.emit("tool_result", call_id=call.id, tool=call.name, ok=ok,
                              text=output[:4000])
            step_messages.append({"conversation_id": conversation_id, "role": "tool",
                                  "content": output, "tool_call_id": call.id,
                                  "name": call.name})
        # one durable write per step: the call and its results together
        history.extend(await asyncio.to_thread(
            self.memory.recall.append_many, step_messages, defer_vectors=True))
        self._counts["messages"] = self._counts.get("messages", 0) + len(step_messages)
        return tools_time

    # -- steps ------------------------------------------------------------------------------

    def _load(self, conversation_id: str) -> list[Message]:
        conv = self.memory.recall.conversation(conversation_id)
        return self.memory.recall.messages(conversation_id, after_seq=conv.summarized_until)

    async def _compile(self, conversation_id: str, history: list[Message],
                       events: TurnEvents) -> list[dict[str, Any]]:
        blocks = await asyncio.to_thread(self.memory.blocks.list)
        counts, conv = self._counts, self._conv
        system = system_message(blocks, counts, str(self.memory.workspace),
                                self.skills_catalog(), conv.summary)
        window = valid_window(history)
        messages = [system, *(to_chat(m) for m in window)]
        limit = (self.settings.context_window or self.model.context_window())
        if self._count(system, window) > self.settings.compaction_threshold * limit:
            await self._compact(conv, history, events)
            conv = self._conv = await asyncio.to_thread(self.memory.recall.conversation,
                                                        conversation_id)
            system = system_message(blocks, counts, str(self.memory.workspace),
                                    self.skills_catalog(), conv.summary)
            messages = [system, *(to_chat(m) for m in valid_window(history))]
        return messages

    def _count(self, system: dict[str, Any], window: list[Message]) -> int:
        """Tokens of the request; each stored message is counted once per turn."""
        total = self.model.count_tokens([system])
        for m in window:
            if m.id not in self._tokens:
                self._tokens[m.id] = self.model.count_tokens([to_chat(m)])
            total += self._tokens[m.id]
        return total

    async def _compact(self, conv: Any, history: list[Message], events: TurnEvents) -> None:
        """Fold the oldest messages into the stored summary; the originals stay in recall."""
        old, recent = split_for_compaction(history, self.settings.keep_recent_messages)
        if not old:
            return
        await events.emit("thinking", text=f"Summarising {len(old)} older messages to fit the "
                          "context window.")
        prompt = [{"role": "system", "content": "Summarise this conversation so far for your "
                   "future self: decisions, facts, open tasks, file names. Be concise."},
                  {"role": "user", "content": (f"Previous summary:\n{conv.summary}\n\n"
                                               if conv.summary else "") + transcript(old)}]
        reply = await self.model.complete(prompt, [])
        summary = reply.content.strip() or conv.summary
        await asyncio.to_thread(self.memory.recall.update_conversation, conv.id,
                                summary=summary, summarized_until=old[-1].seq)
        await asyncio.to_thread(self.memory.recall.append, conv.id, "summary", summary)
        history[:] = recent

    async def _run_tool(self, call: Any) -> tuple[str, bool]:
        """The tool's output for the model, and whether it succeeded."""
        text = await self._tool_output(call)
        return text, not text.startswith("Error:")

    async def _tool_output(self, call: Any) -> str:
        tool = self.tools.get(call.name)
        if tool is None:
            return f"Error: there is no tool '{call.name}'. Tools: {', '.join(sorted(self.tools))}."
        if call.parse_error:
            return f"Error: the {call.name} call's {call.parse_error}. Send a JSON object."
        allowed = set(tool.parameters.get("properties", {}))
        unknown = set(call.arguments) - allowed
        missing = [r for r in tool.parameters.get("required", []) if r not in call.arguments]
        if unknown or missing:
            return (f"Error: bad arguments for {call.name}: "
                    + (f"unknown {sorted(unknown)}; " if unknown else "")
                    + (f"missing {missing}; " if missing else "")
                    + f"expected {json.dumps(tool.parameters.get('properties', {}))}")
        try:
            out = await tool.fn(self.ctx, **call.arguments)
            return out if isinstance(out, str) else json.dumps(out, default=str)
        except ToolError as exc:
            return f"Error: {exc}"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a tool bug must not end the turn
            return f"Error: {call.name} failed unexpectedly: {type(exc).__name__}: {exc}"

    async def _append(self, conversation_id: str, role: str, content: str, **kw: Any) -> Message:
        return await asyncio.to_thread(
            lambda: self.memory.recall.append(conversation_id, role, content or "",
                                              defer_vectors=True, **kw))

    @staticmethod
    def _account(result: TurnResult, reply: ModelReply) -> None:
        result.prompt_tokens += reply.prompt_tokens
        result.completion_tokens += reply.completion_tokens
        result.cost += reply.cost


def _short(args: dict[str, Any], limit: int = 120) -> str:
    text = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"
