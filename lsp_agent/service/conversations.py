"""A workspace agent's conversations: which one is active; new / list / switch / fork /
rename / delete, and their history a page at a time.

Listing never creates anything; ids may be given as any unique prefix (as `git` takes hashes).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from lsp_agent.errors import NotFound, UsageError
from lsp_agent.memory.agent_memory import AgentMemory
from lsp_agent.memory.schema import Conversation, Message

ACTIVE_KEY = "active_conversation"


class ConversationView(BaseModel):
    """A conversation as the faces show it (docs/protocol.md `Conversation`)."""

    id: str
    title: str
    created_at: str
    parent_id: str
    messages: int
    updated_at: str
    active: bool


class ConversationPage(BaseModel):
    """A page of a conversation's messages, oldest first (docs/protocol.md)."""

    conversation: ConversationView
    messages: list[dict[str, Any]]
    has_more: bool
    before: int | None


def history_message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"seq": m.seq, "role": m.role, "content": m.content,
                           "created_at": m.created_at.isoformat()}
    if m.name:
        out["name"] = m.name
    if m.tool_call_id:
        out["tool_call_id"] = m.tool_call_id
    if m.tool_calls:
        try:
            out["tool_calls"] = json.loads(m.tool_calls)
        except ValueError:
            out["tool_calls"] = []
    return out


class Conversations:
    def __init__(self, memory: AgentMemory) -> None:
        self.memory = memory
        self._lock = threading.Lock()

    def _current(self) -> Conversation | None:
        active = self.memory.store.get_meta(ACTIVE_KEY)
        if not active:
            return None
        try:
            return self.memory.recall.conversation(active)
        except KeyError:
            return None

    def active_id(self) -> str | None:
        """The active conversation's id, or None when there is none yet (nothing is created)."""
        current = self._current()
        return current.id if current else None

    def active(self) -> Conversation:
        """The active conversation, created on first use (a turn needs one)."""
        with self._lock:  # two first requests at once must not make two conversations
            current = self._current()
            if current is not None:
                return current
            with self.memory.store.lock():
                current = self._current()  # another process may have won
                if current is not None:
                    return current
                recall = self.memory.recall
                conv = recall.new_conversation("Conversation 1" if not recall.conversations()
                                               else "")
                self.memory.store.set_meta(ACTIVE_KEY, conv.id)
                return conv

    def resolve(self, id_or_prefix: str) -> Conversation:
        """The conversation whose id is `id_or_prefix` or starts with it (unique prefixes)."""
        convs = self.memory.recall.conversations()
        exact = [c for c in convs if c.id == id_or_prefix]
        found = exact or [c for c in convs if c.id.startswith(id_or_prefix)]
        if len(found) == 1:
            return found[0]
        if not found:
            raise NotFound(f"No conversation '{id_or_prefix}'. `lsp-agent conversation list` "
                           "shows the ids.")
        ids = ", ".join(c.id[:12] for c in found[:5])
        raise UsageError(f"'{id_or_prefix}' matches {len(found)} conversations ({ids}...); "
                         "give more of the id.")

    def new(self, title: str = "") -> Conversation:
        conv = self.memory.recall.new_conversation(title)
        self.memory.store.set_meta(ACTIVE_KEY, conv.id)
        return conv

    def switch(self, conv_id: str) -> Conversation:
        conv = self.resolve(conv_id)
        self.memory.store.set_meta(ACTIVE_KEY, conv.id)
        return conv

    def fork(self, conv_id: str | None = None, title: str = "") -> Conversation:
        source = self.resolve(conv_id) if conv_id else self.active()
        conv = self.memory.recall.fork(source.id, title)
        self.memory.store.set_meta(ACTIVE_KEY, conv.id)
        return conv

    def rename(self, conv_id: str, title: str) -> Conversation:
        conv = self.resolve(conv_id)
        if not title.strip():
            raise UsageError("Give the conversation a title with some text in it.")
        self.memory.recall.update_conversation(conv.id, title=title.strip())
        return self.memory.recall.conversation(conv.id)

    def delete(self, conv: Conversation) -> None:
        with self.memory.store.lock():
            self.memory.recall.delete_conversation(conv.id)
            if self.memory.store.get_meta(ACTIVE_KEY) == conv.id:
                self.memory.store.set_meta(ACTIVE_KEY, "")

    def history(self, conv_id: str | None, before: int | None, limit: int) -> ConversationPage:
        conv = self.resolve(conv_id) if conv_id else self._current()
        if conv is None:
            raise NotFound("There is no conversation yet; ask the agent something first.")
        messages, more = self.memory.recall.page(conv.id, before=before, limit=limit)
        return ConversationPage(conversation=self.view(conv), has_more=more,
                                before=messages[0].seq if more and messages else None,
                                messages=[history_message(m) for m in messages])

    def list(self) -> list[ConversationView]:
        active = self.active_id()
        stats = self.memory.recall.message_stats()
        return [self.view(c, active, stats) for c in self.memory.recall.conversations()]

    def view(self, conv: Conversation, active: str | None = None,
             stats: Mapping[str, tuple[int, datetime]] | None = None) -> ConversationView:
        if active is None:
            active = self.active_id()
        if stats is None:
            stats = self.memory.recall.message_stats()
        count, last = stats.get(conv.id, (0, conv.created_at))
        return ConversationView(id=conv.id, title=conv.title,
                                created_at=conv.created_at.isoformat(), parent_id=conv.parent_id,
                                messages=count, updated_at=last.isoformat(), active=conv.id == active)
