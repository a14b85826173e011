"""Optimistic commits on the store's own versions: no lost update across machines.

A local file lock guards only the processes of one machine; a store in a bucket is shared by
many. Every table commit LanceDB makes gets its own table version, in one line, on a local
disk and on object storage alike. A block edit claims its version number by appending its
version row, then reads the table as its own commit left it: when no other row holds that
(label, version), it committed first and won; every later claimant sees its row and loses.
A loser takes its row back and applies its change again on top of the winner's text.

Readers follow the same rule: of several rows of one (label, version) (a loser still taking
its row back, or killed before it could), the first committed wins, found by looking back
through the table's versions. Rows written before edit ids existed tie-break by time. When
that history cannot be read (an overloaded server), a display may guess by time, but nothing
is built on a guess: an edit or a repair stops with HistoryUnreadable and saves nothing.
"""

from __future__ import annotations

import getpass
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa

from lsp_agent.errors import LspAgentError
from lsp_agent.memory import schema as S
from lsp_agent.memory.schema import BlockVersion

if TYPE_CHECKING:
    from lsp_agent.memory.store import MemoryStore

log = logging.getLogger(__name__)
T = TypeVar("T")

#: words of lance errors that mean "another writer committed first: try again"
_RETRYABLE = ("conflict", "too many concurrent writers", "retryable", "concurrent")
COMMIT_RETRY_SECONDS = 60.0


class CommitConflict(LspAgentError):
    """Too many machines changed the same thing at once; nothing of this change was kept."""


class HistoryUnreadable(CommitConflict):
    """Which of two machines' versions came first could not be read from the store now:
    building on a guess could drop the other's edit, so nothing of this change was kept."""


def who() -> tuple[str, str]:
    """(user, machine) that writes attribute: LSP_AGENT_USER / LSP_AGENT_MACHINE, else the
    login name and host name."""
    user = os.environ.get("LSP_AGENT_USER") or _safe(getpass.getuser)
    machine = os.environ.get("LSP_AGENT_MACHINE") or _safe(socket.gethostname)
    return user, machine


def _safe(get: Callable[[], str]) -> str:
    try:
        return get() or "unknown"
    except Exception:  # noqa: BLE001 - no login name (containers): still attribute something
        return "unknown"


def new_edit_id() -> str:
    return uuid.uuid4().hex


def is_retryable(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(word in text for word in _RETRYABLE)


def backoff(attempt: int, base: float = 0.02, cap: float = 1.0) -> None:
    """Sleep a jittered, growing while (full jitter: writers that collided spread out)."""
    time.sleep(random.uniform(0, min(cap, base * (2 ** min(attempt, 10)))))


def retrying(action: Callable[[], T], what: str, seconds: float = COMMIT_RETRY_SECONDS) -> T:
    """Run one table commit, again after a jittered pause while lance reports that another
    writer committed first (it gives up on its own after a few tries under contention)."""
    deadline = time.monotonic() + seconds
    attempt = 0
    while True:
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - only commit conflicts are retried
            if not is_retryable(exc) or time.monotonic() > deadline:
                if is_retryable(exc):
                    raise CommitConflict(
                        f"Could not {what}: other machines kept changing the store for "
                        f"{seconds:.0f} s. Nothing of this change was kept; try again.") from exc
                raise
            attempt += 1
            backoff(attempt)


@dataclass
class Claim:
    won: bool
    #: the table version this claim's commit made
    committed: int
    #: the rows of other claimants of the same (label, version) seen when it lost
    rivals: list[BlockVersion]
    edit_id: str = ""


class VersionLedger:
    """The block_versions table read and written by the rule above."""

    #: how long a reader waits for a losing claimant to take its row back before looking
    #: back through the table's versions for the first committed row itself
    SETTLE_SECONDS = 0.3

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._snapshot: Any = None  # a handle of its own, moved between table versions
        self._snap_lock = threading.Lock()
        self._first: dict[frozenset[str], str] = {}  # claimants -> the first committed

    def _table(self) -> Any:
        return self.store.table("block_versions")

    # -- reading -----------------------------------------------------------------------------

    def rows(self, where: str = "", columns: list[str] | None = None) -> list[dict[str, Any]]:
        q = self._table().search()
        if where:
            q = q.where(where)
        if columns:
            q = q.select(columns)
        return q.limit(10_000_000).to_list()

    def winners(self, rows: list[dict[str, Any]], *, settle: bool = True,
                strict: bool = False) -> list[BlockVersion]:
        """One row per (label, version): the first committed of each (sorted). `strict`: what
        is built on (an edit, a repair), so a guess raises HistoryUnreadable."""
        groups = _group(rows)
        out: list[BlockVersion] = []
        for (label, version), group in sorted(groups.items()):
            if len(_ids(group)) > 1:
                group = self._settled(label, version, group) if settle else group
            out.append(BlockVersion(**self.first_committed(group, strict=strict)))
        return out

    def head(self, label: str, known: int = 0, *, strict: bool = False) -> BlockVersion | None:
        """The newest version of `label` (its winner), or None when it has none. `known`: a
        version it has for sure (its block row's): one read fetches only the rows from it."""
        where = f"label = {_sql(label)}"
        if known > 0:
            rows = self.rows(f"{where} AND version >= {known}")
            if rows:
                top = max(int(r["version"]) for r in rows)
                return self.winners([r for r in rows if int(r["version"]) == top],
                                    strict=strict)[0]
        numbers = self.rows(where, ["version"])
        if not numbers:
            return None
        top = max(int(r["version"]) for r in numbers)
        rows = self.rows(f"{where} AND version = {top}")
        if not rows:  # taken back between the two reads: read again
            return self.head(label, strict=strict)
        return self.winners(rows, strict=strict)[0]

    def _settled(self, label: str, version: int,
                 group: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The group again after a loser had a moment to take its row back."""
        deadline = time.monotonic() + self.SETTLE_SECONDS
        while len(_ids(group)) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
            group = self.rows(f"label = {_sql(label)} AND version = {version}") or group
        return group

    def first_committed(self, group: list[dict[str, Any]], *,
                        strict: bool = False) -> dict[str, Any]:
        """The row of `group` (rows of one (label, version)) committed first."""
        ids = _ids(group)
        if len(ids) <= 1:
            return group[0]
        legacy = [r for r in group if not r.get("edit_id")]
        if legacy:  # written before edit ids: the earliest stands
            return min(legacy, key=lambda r: r["timestamp"])
        known = self._known_first(ids)
        if known is None:
            if strict:
                r = group[0]
                raise HistoryUnreadable(
                    f"Could not read which of {len(ids)} concurrent edits of "
                    f"'{r['label']}' version {r['version']} came first (the store did not "
                    "answer in time). Nothing of this change was kept; try again.")
            return min(group, key=lambda r: (r["timestamp"], r["edit_id"]))  # a display guess
        return next(r for r in group if r["edit_id"] == known)

    #: looks back through the history before an edit gives up (each after a short pause)
    LOOK_BACK_TRIES = 4

    def _known_first(self, ids: set[str]) -> str | None:
        """The first committed of `ids` as the table's history shows it; None when the
        history cannot be read (then nothing may be built on or deleted by a guess)."""
        key = frozenset(ids)
        if key not in self._first:
            for attempt in range(self.LOOK_BACK_TRIES):
                found = self._look_back(sorted(ids))
                if found is not None:
                    self._first[key] = found
                    break
                backoff(attempt + 3)
            else:
                return None
        return self._first[key]

    def _look_back(self, ids: list[str]) -> str | None:
        """The id of `ids` present in the earliest table version (binary search: a row, once
        committed and still present now, is present in every version after its commit). A
        version pruned counts as holding none. Versions are pruned only after a repair took
        back every losing claim (version upkeep, scrub), so the rows of a group still open are
        younger than the oldest kept version; were they not, the oldest kept would hold them
        all and the smallest id would stand, the same on every machine."""
        where = "edit_id IN (" + ",".join(_sql(i) for i in ids) + ")"

        def present(version: int) -> list[dict[str, Any]]:
            try:
                snap.checkout(version)
            except Exception as exc:
                if _cleaned_up(exc):  # pruned (scrub, version upkeep): holds none of them
                    return []
                raise  # a failed read is not an empty version: that answer could be wrong
            return snap.search().where(where).select(["edit_id"]).limit(len(ids)).to_list()

        try:
            with self._snap_lock:
                snap = self._snapshot_handle()
                snap.checkout_latest()
                lo, hi = 1, int(snap.version)
                found: list[dict[str, Any]] = []
                while lo <= hi:  # version numbers, not list_versions(): that reads them all
                    mid = (lo + hi) // 2
                    rows = present(mid)
                    if rows:
                        found, hi = rows, mid - 1
                    else:
                        lo = mid + 1
            return min(r["edit_id"] for r in found) if found else None
        except Exception as exc:  # noqa: BLE001 - unreadable: fall back to time
            log.info("could not look back through block_versions: %s", exc)
            return None

    def _snapshot_handle(self) -> Any:
        if self._snapshot is None:
            self._snapshot = self.store.db.open_table("block_versions")
        return self._snapshot

    def _rows_at(self, version: int, where: str) -> list[dict[str, Any]]:
        with self._snap_lock:
            snap = self._snapshot_handle()
            snap.checkout(version)
            return snap.search().where(where).limit(10_000).to_list()

    # -- writing -----------------------------------------------------------------------------

    def claim(self, row: BlockVersion) -> Claim:
        """Append `row` and tell whether it committed first for its (label, version)."""
        data = pa.Table.from_pylist([row.model_dump()], schema=S.BLOCK_VERSIONS)
        result = retrying(lambda: self._table().add(data), f"save version {row.version} of "
                          f"'{row.label}'")
        committed = int(getattr(result, "version", 0) or self._table().version)
        seen = self._rows_at(committed, f"label = {_sql(row.label)} AND version = {row.version}")
        rivals = [BlockVersion(**r) for r in seen if r.get("edit_id") != row.edit_id]
        return Claim(won=not rivals, committed=committed, rivals=rivals,
                     edit_id=str(row.edit_id))

    def retract(self, edit_id: str) -> None:
        """Take back a losing claim's row (readers ignore it meanwhile: it was not first)."""
        try:
            retrying(lambda: self._table().delete(f"edit_id = {_sql(edit_id)}"),
                     "take back a losing version")
        except Exception as exc:  # noqa: BLE001 - left for repair(); readers skip it anyway
            log.info("a losing version row stays until repair: %s", exc)

    def leftovers(self, *, strict: bool = False) -> list[BlockVersion]:
        """Rows that lost their (label, version) and are still there (a writer killed between
        its claim and taking it back). Groups whose first cannot be read now are left out
        (`strict`: HistoryUnreadable instead)."""
        rows = self.rows(columns=["label", "version", "edit_id", "timestamp"])
        out = []
        for group in _group(rows).values():
            if len(_ids(group)) > 1 and all(r.get("edit_id") for r in group):
                first = self._known_first(_ids(group))
                if first is None:  # a guess could delete an acknowledged edit: a later
                    if strict:      # repair, with the history readable, decides
                        self.first_committed(group, strict=True)
                    continue
                out += [BlockVersion.model_construct(**r) for r in group
                        if r["edit_id"] != first]
        return out


def _cleaned_up(exc: BaseException) -> bool:
    """Whether a checkout failed because the version is gone (lance: "Version N no longer
    exists. Was it cleaned up?"), not because the store did not answer."""
    text = str(exc).lower()
    return "no longer exists" in text or "cleaned up" in text


def _group(rows: list[dict[str, Any]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["label"], int(r["version"])), []).append(r)
    return groups


def _ids(group: list[dict[str, Any]]) -> set[str]:
    """Distinct claimants of a group (a retried append can leave one claimant twice)."""
    return {r.get("edit_id") or f"legacy:{n}" for n, r in enumerate(group)}


def _sql(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"
