"""What a machine killed mid-edit, or a store too busy to answer, leaves behind: made on
purpose for the tests of memory/commits.py and its users.

`claim_twice` leaves two claims of one block version, as two machines make them: the winner
(committed first) and a loser that read the block earlier (so its time is earlier) and was
killed before taking its row back. The winner's block row is not written either: an edit
killed between its claim and its row. `UnansweringHistory` stands in for a ledger's snapshot
handle whose old versions cannot be read (a look-back on an overloaded S3 server).
"""

from __future__ import annotations

from typing import Any

from lsp_agent.memory.blocks import BlockManager
from lsp_agent.memory.schema import BlockVersion, utcnow

WINNER, LOSER = "zzz", "aaa"  # edit ids: the loser's is the smaller, so no id order decides


def claim_twice(blocks: BlockManager, label: str, version: int, old: str, winner: str,
                loser: str) -> None:
    for edit_id, text, when in ((WINNER, winner, utcnow()),
                                (LOSER, loser, utcnow().replace(year=2001))):
        blocks.ledger.claim(BlockVersion(
            label=label, version=version, author="user", timestamp=when, reason="r",
            old_value=old, new_value=text, user="u", machine="m9", edit_id=edit_id))


class UnansweringHistory:
    """A table handle whose every checkout of a version fails; the rest passes through."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def checkout(self, version: int) -> None:
        raise OSError(f"Generic S3 error: timed out reading version {version}")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)
