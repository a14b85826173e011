"""The loopback S3 server the team-store tests use: a store on it opens, writes and reads."""

from __future__ import annotations

from pathlib import Path

from lsp_agent.memory.agent_memory import AgentMemory


def test_a_memory_store_lives_in_a_bucket(s3_store: str, workspace: Path) -> None:
    mem = AgentMemory(workspace, store_uri=s3_store, embedder="none")
    mem.open()
    mem.blocks.edit("notes", lambda old: old + "tabs, not spaces\n", author="user", reason="t")
    again = AgentMemory(workspace, store_uri=s3_store, embedder="none")
    again.open()
    assert "tabs, not spaces" in again.blocks.get("notes").value
