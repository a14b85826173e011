"""Schema migrations, applied on open under the store lock. One function per version step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsp_agent.memory.schema import SCHEMA_VERSION

if TYPE_CHECKING:
    from lsp_agent.memory.store import MemoryStore


def _v0_to_v1(store: MemoryStore) -> None:
    """Version 0 is a store with tables but no recorded version: nothing changes shape."""


STEPS = {0: _v0_to_v1}


def migrate(store: MemoryStore, from_version: int) -> None:
    with store.lock():
        version = from_version
        while version < SCHEMA_VERSION:
            STEPS[version](store)
            version += 1
            store.set_meta("schema_version", str(version))
