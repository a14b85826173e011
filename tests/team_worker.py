"""One "machine" of tests/test_team_concurrency.py: writes to a shared store, acknowledging
each write on stdout only once it returned (what a person would have been told was saved).

    python tests/team_worker.py URI MODE OPS SEED [GO_FILE]

MODE: mix (block appends, remember-style merges, archival inserts), append (one append to
`alpha`), set (one replacement of `alpha` by this machine's text). Runs with its own
LSP_AGENT_HOME and LSP_AGENT_MACHINE (set by the test); waits for GO_FILE to exist to start.
In append and set modes the change waits, once it has read the block, until every machine
named in TEAM_RENDEZVOUS (dir:m1,m2) has read it too: the edits surely collide. A local
store's lock is moved into the machine's home (TEAM_OWN_LOCK=1): machines share no lock.
TEAM_UPKEEP=EVERY,SECONDS runs the version upkeep every EVERY won edits, keeping SECONDS.
"""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

from lsp_agent.learning.remember import add_entry  # the change `remember` makes
from lsp_agent.memory.archival import ArchivalMemory
from lsp_agent.memory.blocks import BlockManager
from lsp_agent.memory.store import MemoryStore
from lsp_agent.memory.version_upkeep import VersionUpkeep

LABELS = ("alpha", "beta")


def rendezvous(machine: str, seconds: float = 60.0) -> None:
    """Wait (the first time only) until every machine of TEAM_RENDEZVOUS got here."""
    spec = os.environ.pop("TEAM_RENDEZVOUS", "")
    if not spec:
        return
    folder, names = spec.split(":")
    Path(folder, machine).touch()
    deadline = time.monotonic() + seconds
    while not all(Path(folder, n).exists() for n in names.split(",")):
        if time.monotonic() > deadline:
            raise TimeoutError("the other machines never read the block")
        time.sleep(0.01)


def say(*parts: object) -> None:
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()


def main() -> int:
    uri, mode, ops, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    go = Path(sys.argv[5]) if len(sys.argv) > 5 else None
    machine = os.environ.get("LSP_AGENT_MACHINE", "m")
    if os.environ.get("TEAM_UPKEEP"):
        every, seconds = os.environ["TEAM_UPKEEP"].split(",")
        VersionUpkeep.UPKEEP_EVERY = int(every)
        VersionUpkeep.KEEP_VERSIONS = timedelta(seconds=float(seconds))
    store = MemoryStore(uri, embedder_spec="none")
    blocks = BlockManager(store)
    archival = ArchivalMemory(store)
    if os.environ.get("TEAM_OWN_LOCK"):
        store.lock_path = Path(os.environ["LSP_AGENT_HOME"]) / "own.lock"
    blocks.list()  # opened before the start line: the race is in the writes
    say("ready")
    while go is not None and not go.exists():
        time.sleep(0.01)
    rng = random.Random(seed)
    if mode in ("append", "set"):
        text = f"{machine} says {mode} {seed}"
        make = (lambda old: (old + "\n" if old else "") + text) if mode == "append" \
            else (lambda _old: text)

        def change(old: str) -> str:
            rendezvous(machine)
            return make(old)
        got = blocks.edit("alpha", change, author="user", reason=mode)
        say("ack", "block", "alpha", got.version, text)
        return 0
    for i in range(ops):
        token = f"t-{machine}-{i}"
        kind = rng.choice(("append", "remember", "archival"))
        try:
            if kind == "archival":
                passage = archival.insert(f"passage {token}", ["team"])
                say("ack", "archival", passage.id, token)
            elif kind == "append":
                got = blocks.edit("alpha", lambda old, t=token: (old + "\n" if old else "") + t,
                                  author="agent", reason="append")
                say("ack", "block", "alpha", got.version, token)
            else:
                got = blocks.edit("beta", add_entry(token), author="user", reason="remember")
                say("ack", "block", "beta", got.version, token)
        except Exception as exc:  # noqa: BLE001 - reported, not acknowledged
            say("err", kind, token, type(exc).__name__, str(exc).replace("\n", " ")[:300])
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
