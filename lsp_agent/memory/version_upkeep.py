"""Upkeep of the blocks and block_versions tables of a store in a bucket.

Every table commit adds a manifest to the table's `_versions/` folder, and finding the newest
version lists that folder: on object storage the listing grows with the count of versions
(on moto: 89 ms at 300 versions, 12 ms with old ones removed; an edit lists about six times,
docs/benchmarks.md). So every UPKEEP_EVERY edits a machine compacts the two tables and removes
their versions older than KEEP_VERSIONS, in the background.

The look-back of memory/commits.py needs old versions only while two claims of one version
are both present. Repair takes back such leftovers first, and the versions are left alone
when it cannot tell which claim came first, or when it took over half of KEEP_VERSIONS (a
claim made after its read could then be older than the cut-off): every claim older than the
cut-off was seen and settled by the repair just before. Stores on a local disk list cheaply: no upkeep.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from lsp_agent.paths import is_local_uri

if TYPE_CHECKING:
    from lsp_agent.memory.blocks import BlockManager

log = logging.getLogger(__name__)

TABLES = ("block_versions", "blocks")


class VersionUpkeep:
    """Counts one machine's won edits of a store; every UPKEEP_EVERY-th starts an upkeep."""

    UPKEEP_EVERY = 32
    #: far longer than any edit takes from reading a version to settling its claim
    KEEP_VERSIONS = timedelta(minutes=2)
    #: seconds a repair may take with the prune still safe after it (None: half the above)
    REPAIR_LIMIT: float | None = None

    def __init__(self, blocks: BlockManager) -> None:
        self.blocks = blocks
        self.enabled = not is_local_uri(blocks.store.uri)
        self.runs = 0  # upkeeps finished (tests and benchmarks read it)
        self._edits = 0
        self._running = threading.Lock()

    def committed(self) -> None:
        """One more edit won here: start an upkeep in the background when one is due."""
        if not self.enabled:
            return
        self._edits += 1
        if self._edits % self.UPKEEP_EVERY == 0:
            threading.Thread(target=self.run, name="lsp-agent-version-upkeep",
                             daemon=True).start()

    def run(self) -> bool:
        """Repair, then compact and prune the two tables; whether it pruned them."""
        if not self._running.acquire(blocking=False):
            return False  # the previous one is still at it
        try:
            started = time.monotonic()
            if not self.blocks.repair():
                return False  # a leftover it could not judge keeps the versions it needs
            limit = self.REPAIR_LIMIT or self.KEEP_VERSIONS.total_seconds() / 2
            if time.monotonic() - started > limit:
                # claims made after its read could be older than the cut-off by now
                log.info("version upkeep: repair took too long to prune after it")
                return False
            for name in TABLES:
                try:
                    self.blocks.store.table(name).optimize(cleanup_older_than=self.KEEP_VERSIONS)
                except Exception as exc:  # noqa: BLE001 - another machine's commit came first
                    log.info("upkeep of %s skipped: %s", name, exc)
            self.runs += 1
            return True
        except Exception as exc:  # noqa: BLE001 - upkeep is never worth an error
            log.info("version upkeep failed: %s", exc)
            return False
        finally:
            self._running.release()
