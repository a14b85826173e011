"""Search sources that the learning loop adds to memory search: code and skills."""

from __future__ import annotations

from typing import Any


def attach_sources(memory: Any) -> None:
    """Attach the code index and the skills catalog to `memory.sources` when they exist."""
