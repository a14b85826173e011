"""Reply context: a message's search text also carries the message that answered it.

A question and its answer are found together: "Where did you go?" is what a later search asks,
"Lisbon, for the conference" is what it wants. Each message is indexed with the messages before
it (recall.py); once its reply is written, the reply's line is added too. Messages written in one
batch get it at once; one written earlier is refreshed in a daemon thread (a partial
`merge_insert` of `search_text`), so appends never wait for it.
"""

from __future__ import annotations

import pyarrow as pa

from lsp_agent.memory.batch_worker import BatchWorker
from lsp_agent.memory.index_upkeep import MAINTAINER
from lsp_agent.memory.store import MemoryStore

REPLY_CHARS = 300
MARK = "\n(then: "
# refreshes arriving within this time are written as one commit: each commit is a LanceDB
# Update that can pre-empt a concurrent compaction, so fewer is better
LINGER_SECONDS = 0.25


def with_reply(search_text: str, reply_line: str) -> str:
    """`search_text` with `reply_line` as its reply (replacing any reply it had)."""
    head = search_text.split(MARK, 1)[0]
    return f"{head}{MARK}{reply_line[:REPLY_CHARS]})"


class ReplyRefresher:
    """Writes new search texts of stored messages off the caller's thread, batched."""

    def __init__(self, store: MemoryStore, table: str = "messages") -> None:
        self.store = store
        self.table_name = table
        self._worker: BatchWorker[tuple[str, str]] = BatchWorker(
            "lsp-agent-reply-context", self._write, what="reply context",
            batch_size=10_000, linger=LINGER_SECONDS)

    def submit(self, updates: dict[str, str]) -> None:
        """Queue {message id: its new search text}; returns at once."""
        self._worker.submit(list(updates.items()))

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queued refresh is written (tests, benchmarks, shutdown)."""
        return self._worker.drain(timeout)

    def _write(self, items: list[tuple[str, str]]) -> None:
        batch = dict(items)  # the newest text of a message wins
        schema = pa.schema([("id", pa.string()), ("search_text", pa.string())])
        tbl = self.store.table(self.table_name)
        tbl.merge_insert("id").when_matched_update_all().execute(
            pa.table({"id": list(batch), "search_text": list(batch.values())}, schema=schema))
        MAINTAINER.note_writes(tbl, len(batch))
