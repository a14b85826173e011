"""SIGKILL a writer at a random point; check that every write it acknowledged survived.

    PYTHONPATH=$PWD python benchmarks/kill_durability.py [--trials 20] [--writes 1000]
        [--seed 11] [--json]

Each trial starts a writer process on a fresh store (`AgentMemory(..., embedder="none")`,
`open()`) that makes `--writes` writes of mixed kinds through the public write paths (block
`edit` / `set` by the user, `recall.append` in two conversations, `archival.insert`), in a
per-trial seeded mix, and prints an acknowledgement line after each call returns. The parent
picks a point uniform over the run (after ack k, plus a random part of one write's time) and
sends SIGKILL. A new process then opens the store with the real `AgentMemory.open()` (which
repairs an interrupted edit) and checks that it opened without damage and that every
acknowledged write is there: message and passage ids with their text, each acknowledged block
version in the history with its text, and each block's value at least as new as its last ack.
`tests/test_kill_durability.py` runs a short run of `run_trial` in CI; tests/test_durability.py
covers concurrent writers and hand-made interrupted edits.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BLOCKS = ("k0", "k1", "k2")  # created by the writer (limit large enough for every edit)
KEEP_LINES = 40  # an edit keeps the block's last lines and adds one

# The writer: argv = store dir, workspace, writes, seed, blocks, lines kept. One line per acknowledged write:
#   ack <n> block <label> <version> <token> | ack <n> msg <conv> <id> <token>
#   | ack <n> passage <id> <token> | ack <n> conv <id> <token>
WRITER = r"""
import random, sys
from pathlib import Path
from lsp_agent.memory.agent_memory import AgentMemory

store, workspace, writes, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
BLOCKS, KEEP = tuple(sys.argv[5].split(",")), int(sys.argv[6])
rng = random.Random(seed)
mem = AgentMemory(Path(workspace), store_uri=store, embedder="none")
mem.open()
print("opened", flush=True)
n = 0
def ack(*parts):
    global n
    n += 1
    print("ack", n, *parts, flush=True)
for label in BLOCKS:
    b = mem.blocks.create(label, "kill test", f"tok-{label}-0", limit=100_000)
    ack("block", label, b.version, f"tok-{label}-0")
convs = []
for _ in range(2):
    c = mem.recall.new_conversation("kill test")
    convs.append(c.id)
    ack("conv", c.id, c.id)
while n < writes:
    token = f"tok{n}x{rng.randrange(10**9)}"
    r = rng.random()
    if r < 0.35:
        label = rng.choice(BLOCKS)
        b = mem.blocks.edit(label, lambda old, t=token: "\n".join(
            [*old.splitlines()[-KEEP:], t]), author="user", reason=token)
        ack("block", label, b.version, token)
    elif r < 0.45:
        label = rng.choice((*BLOCKS, "notes"))
        b = mem.blocks.set(label, f"set to {token}", author="user", reason=token)
        ack("block", label, b.version, token)
    elif r < 0.75:
        conv = rng.choice(convs)
        m = mem.recall.append(conv, rng.choice(("user", "assistant")), f"message {token} here")
        ack("msg", conv, m.id, token)
    else:
        p = mem.archival.insert(f"passage {token} " + "words " * rng.randrange(1, 40),
                                ["kill", f"t{n % 7}"])
        ack("passage", p.id, token)
print("done", flush=True)
sys.stdin.readline()  # wait to be killed
"""

# The checker: argv = store dir, workspace, acks file. Prints one JSON object.
CHECKER = r"""
import json, sys
from pathlib import Path
from lsp_agent.memory.agent_memory import AgentMemory

store, workspace, acks_file = sys.argv[1], sys.argv[2], sys.argv[3]
acks = [line.split() for line in Path(acks_file).read_text().splitlines()]
mem = AgentMemory(Path(workspace), store_uri=store, embedder="none")
notices = mem.open(resume_vectors=False)
damage = dict(mem.store.damage)
lost = []
if not damage:
    messages = {}
    for conv in {a[3] for a in acks if a[2] == "msg"}:
        messages.update({m.id: m.content for m in mem.recall.messages(conv)})
    passages = {p.id: p.content for p in mem.archival.all()}
    convs = {c.id for c in mem.recall.conversations()}
    history, latest = {}, {}
    for label in {a[3] for a in acks if a[2] == "block"}:
        history[label] = {v.version: v.new_value for v in mem.blocks.history(label)}
        latest[label] = mem.blocks.get(label)
    last_ack = {}
    for a in acks:
        kind = a[2]
        if kind == "msg" and a[5] not in messages.get(a[4], ""):
            lost.append(" ".join(a))
        elif kind == "passage" and a[4] not in passages.get(a[3], ""):
            lost.append(" ".join(a))
        elif kind == "conv" and a[3] not in convs:
            lost.append(" ".join(a))
        elif kind == "block":
            label, version, token = a[3], int(a[4]), a[5]
            if token not in history[label].get(version, ""):
                lost.append(" ".join(a) + " (version not in history)")
            last_ack[label] = version
    for label, version in last_ack.items():
        block = latest[label]
        if block.version < version or block.value != history[label].get(block.version):
            lost.append(f"block {label}: value at version {block.version}, last ack {version}")
print(json.dumps({"damage": damage, "lost": lost, "notices": notices}))
"""


@dataclass
class Trial:
    trial: int
    seed: int
    kill_after: int  # the ack after which the kill was scheduled
    acked: int = 0
    killed: bool = False  # False when the writer finished every write before the kill
    lost: list[str] = field(default_factory=list)
    damage: dict[str, str] = field(default_factory=dict)
    open_ok: bool = False
    error: str = ""
    seconds: float = 0.0


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSP_AGENT_")}
    env["LSP_AGENT_HOME"] = str(home)  # the shared store too stays in the trial's folder
    return env


def _read_line(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            return proc.stdout.readline()
    raise TimeoutError("the writer printed nothing for too long")


def run_trial(trial: int, *, writes: int = 1000, seed: int = 11, workdir: Path | None = None,
              timeout: float = 600.0, forged: tuple[str, ...] = ()) -> Trial:
    """One trial: write, SIGKILL at a random point, open and check in a new process.

    `forged`: ack lines the writer never printed, checked with the others (a test proves
    with them that the check finds a write that is not there)."""
    rng = random.Random(f"{seed}-{trial}")
    result = Trial(trial=trial, seed=seed, kill_after=rng.randrange(writes))
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kill-", dir=workdir) as tmp:
        root = Path(tmp)
        store, workspace, home = root / "store", root / "ws", root / "home"
        workspace.mkdir()
        home.mkdir()
        env = _env(home)
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(store), str(workspace), str(writes),
             str(rng.randrange(2**31)), ",".join(BLOCKS), str(KEEP_LINES)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env)
        acks: list[str] = []
        deadline = time.monotonic() + timeout
        try:
            line = _read_line(proc, deadline)
            if line != "opened\n":
                raise RuntimeError(f"the writer did not open the store: {line!r}")
            last, gaps = time.monotonic(), [0.0]
            while len(acks) < result.kill_after:
                line = _read_line(proc, deadline)
                if not line.startswith("ack "):
                    raise RuntimeError(f"the writer stopped: {line!r}")
                acks.append(line)
                now = time.monotonic()
                gaps.append(now - last)
                last = now
            # a random moment inside the next write (mean time of one write so far)
            time.sleep(rng.uniform(0, sum(gaps) / max(len(gaps) - 1, 1)))
            proc.send_signal(signal.SIGKILL)
            out, err = proc.communicate(timeout=60)
            whole = out.split("\n")[:-1]  # a line cut by the kill is no acknowledgement
            acks += [ln + "\n" for ln in whole if ln.startswith("ack ")]
            result.killed = "done" not in whole
            if proc.returncode != -signal.SIGKILL:
                raise RuntimeError(f"the writer exited with {proc.returncode}: {err[-2000:]}")
        except (RuntimeError, TimeoutError) as exc:
            proc.kill()
            _out, err = proc.communicate()
            result.error = f"{exc}; writer stderr: {err[-2000:]}"
            result.seconds = time.monotonic() - start
            return result
        result.acked = len(acks)
        acks_file = root / "acks.txt"
        acks_file.write_text("".join(acks) + "".join(f"{f}\n" for f in forged))
        check = subprocess.run(
            [sys.executable, "-c", CHECKER, str(store), str(workspace), str(acks_file)],
            capture_output=True, text=True, env=env, timeout=timeout)
        if check.returncode != 0:
            result.error = f"the store did not open: {check.stderr[-2000:]}"
        else:
            report = json.loads(check.stdout.strip().splitlines()[-1])
            result.damage, result.lost = report["damage"], report["lost"]
            result.open_ok = not result.damage
    result.seconds = time.monotonic() - start
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true", help="one JSON object with every trial")
    args = parser.parse_args()
    started = time.monotonic()
    trials: list[Trial] = []
    for n in range(args.trials):
        t = run_trial(n, writes=args.writes, seed=args.seed)
        trials.append(t)
        if not args.json:
            print(f"trial {n:3d}: acked {t.acked:5d}  killed after ack {t.kill_after:5d}"
                  f"{'' if t.killed else ' (finished first)'}  lost {len(t.lost)}  "
                  f"open {'ok' if t.open_ok else 'DAMAGED'}  {t.seconds:6.1f} s"
                  + (f"  ERROR {t.error}" if t.error else ""), flush=True)
            for item in t.lost[:10]:
                print(f"    lost: {item}")
    totals: dict[str, Any] = {
        "trials": len(trials), "writes": args.writes, "seed": args.seed,
        "acked": sum(t.acked for t in trials), "lost": sum(len(t.lost) for t in trials),
        "damaged": sum(1 for t in trials if t.damage), "errors": sum(1 for t in trials if t.error),
        "killed": sum(1 for t in trials if t.killed),
        "seconds": round(time.monotonic() - started, 1),
    }
    if args.json:
        print(json.dumps({"totals": totals, "trials": [asdict(t) for t in trials]}, indent=1))
    else:
        print("totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    return 0 if totals["lost"] == totals["damaged"] == totals["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
