"""The service's conversation use cases: list, new, switch, fork, rename, delete, a page of
history, and the answer to an approval a turn is waiting for.

A mixin of `AgentService`, kept apart only for size; every method is a typed coroutine.
"""

from __future__ import annotations

import asyncio

from lsp_agent.agent.tools.base import ToolHost
from lsp_agent.errors import UsageError
from lsp_agent.service.conversations import ConversationPage, Conversations, ConversationView


class ConversationOps:
    conversations: Conversations
    host: ToolHost

    async def conversation_list(self) -> list[ConversationView]:
        return await asyncio.to_thread(self.conversations.list)

    async def conversation_get(self, conv_id: str) -> ConversationView:
        return await asyncio.to_thread(lambda: self.conversations.view(
            self.conversations.resolve(conv_id)))

    async def conversation_new(self, title: str = "") -> ConversationView:
        return await asyncio.to_thread(lambda: self.conversations.view(
            self.conversations.new(title)))

    async def conversation_start(self, title: str = "") -> ConversationView:
        """A new conversation that does not become the active one (an ACP session's: the
        LSP face's active conversation on the same workspace stays as it was)."""
        def run() -> ConversationView:
            conv = self.conversations.memory.recall.new_conversation(title)
            return self.conversations.view(conv)

        return await asyncio.to_thread(run)

    async def conversation_switch(self, conv_id: str) -> ConversationView:
        return await asyncio.to_thread(lambda: self.conversations.view(
            self.conversations.switch(conv_id)))

    async def conversation_fork(self, conv_id: str | None = None,
                                title: str = "") -> ConversationView:
        return await asyncio.to_thread(lambda: self.conversations.view(
            self.conversations.fork(conv_id, title)))

    async def conversation_rename(self, conv_id: str, title: str) -> ConversationView:
        return await asyncio.to_thread(lambda: self.conversations.view(
            self.conversations.rename(conv_id, title)))

    async def conversation_delete(self, conv_id: str) -> ConversationView:
        def run() -> ConversationView:
            conv = self.conversations.resolve(conv_id)
            view = self.conversations.view(conv)
            self.conversations.delete(conv)
            return view

        return await asyncio.to_thread(run)

    async def conversation_history(self, conv_id: str | None = None, *,
                                   before: int | None = None,
                                   limit: int = 50) -> ConversationPage:
        return await asyncio.to_thread(self.conversations.history, conv_id, before, limit)

    async def answer_approval(self, approval_id: str, answer: str) -> bool:
        """Relay the user's answer to an approval a turn waits for in the conversation."""
        answer_fn = getattr(self.host, "answer", None)
        if answer_fn is None:
            raise UsageError("This face asks for approvals itself; there is nothing to answer.")
        return bool(answer_fn(approval_id, answer))
