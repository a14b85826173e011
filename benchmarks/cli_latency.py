"""Wall time of the CLI's commands as a ratio to `lsp-agent --help`, and whether each loaded the
ONNX runtime (the embedding model). Issue 9: read-only commands never load the embedder.

    python benchmarks/cli_latency.py [--repeats 7] [--checks 3] [--query pytest] [--json out.json]
                                     [--keep]

A temporary workspace (a small git repository with a few Python files) and a temporary
LSP_AGENT_HOME are made, the store is prepared once through the CLI itself (`remember`, `memory
set` twice so the block has versions, `conversation new`, `archival insert`). Every command then
runs `--checks` times, untimed, under `python -X importtime` with an audit hook: it warms the file
cache and tells whether `onnxruntime` was imported and by which Python call chain (an import from
a daemon thread races the process's exit, hence several checks; importtime's own tree
cannot say who imported it: the CLI imports from several threads and importtime interleaves them,
so a module a background thread imports shows up under whatever the main thread was importing).
Then all commands are timed round-robin, `--repeats` rounds, so the machine's load (shared, 2
cores) hits the baseline and the commands alike. Prints median wall seconds, the ratio to the
`--help` median, median CPU seconds (user + system of the child) and the load average before and
after the timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BASELINE = "--help"

#: (label, arguments after `lsp-agent`, needs --workspace). The first is the baseline.
def commands(query: str) -> list[tuple[str, list[str], bool]]:
    return [
        (BASELINE, ["--help"], False),
        ("status", ["status"], True),
        ("memory show", ["memory", "show"], True),
        ("memory show notes", ["memory", "show", "notes"], True),
        ("memory history notes", ["memory", "history", "notes"], True),
        ("conversation list", ["conversation", "list"], True),
        (f"search {query} --kind blocks", ["search", query, "--kind", "blocks"], True),
        ("archival list", ["archival", "list"], True),
        (f"search {query} --kind messages", ["search", query, "--kind", "messages"], True),
    ]


#: Runs the CLI like `python -m lsp_agent`, recording who first imports onnxruntime.
BOOTSTRAP = r"""
import runpy, sys, threading, traceback
_seen = []
def _hook(event, args):
    if event == "import" and args[0] == "onnxruntime" and not _seen:
        _seen.append(1)
        frames = [f"{f.filename}:{f.lineno} {f.name}" for f in traceback.extract_stack()[:-1]]
        sys.stderr.write("@@onnx-import thread=" + threading.current_thread().name + "\n")
        for line in frames:
            sys.stderr.write("@@onnx-frame " + line + "\n")
sys.addaudithook(_hook)
runpy.run_module("lsp_agent", run_name="__main__", alter_sys=True)
"""

IMPORTTIME = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| *(\S+)\s*$")


@dataclass
class Result:
    label: str
    argv: list[str]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    failures: int = 0
    onnx_runs: int = 0
    checks: int = 0
    import_thread: str = ""
    import_chain: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.wall) if self.wall else float("nan")

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")


def make_workspace(root: Path) -> Path:
    ws = root / "ws"
    (ws / "pkg").mkdir(parents=True)
    (ws / "pkg" / "__init__.py").write_text('"""A small package."""\n')
    (ws / "pkg" / "calc.py").write_text(
        "def add(a: int, b: int) -> int:\n    return a + b\n\n\n"
        "def mean(xs: list[float]) -> float:\n    return sum(xs) / len(xs)\n")
    (ws / "pkg" / "text.py").write_text(
        "def shout(s: str) -> str:\n    return s.upper() + '!'\n")
    (ws / "tests").mkdir()
    (ws / "tests" / "test_calc.py").write_text(
        "from pkg.calc import add\n\n\ndef test_add() -> None:\n    assert add(1, 2) == 3\n")
    (ws / "README.md").write_text("# demo\n\nRun the tests with `pytest -q`.\n")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=ws, check=True)
    subprocess.run([*git, "add", "."], cwd=ws, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=ws, check=True)
    return ws


def cli_prefix() -> list[str]:
    script = Path(sys.executable).with_name("lsp-agent")
    return [str(script)] if script.exists() else [sys.executable, "-m", "lsp_agent"]


def run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, child CPU seconds, the finished process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc


def check(proc: subprocess.CompletedProcess, what: str) -> None:
    if proc.returncode != 0:
        sys.exit(f"`{what}` failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def detect(result: Result, prefix: list[str], env: dict[str, str], cwd: Path) -> None:
    argv = [sys.executable, "-X", "importtime", "-c", BOOTSTRAP, *result.argv[len(prefix):]]
    _, _, proc = run(argv, env, cwd)
    check(proc, "python -X importtime -m lsp_agent " + " ".join(argv[5:]))
    modules = {m.group(1) for m in map(IMPORTTIME.match, proc.stderr.splitlines()) if m}
    result.checks += 1
    if "onnxruntime" not in modules:
        return
    result.onnx_runs += 1
    if result.import_chain:  # keep the first run's
        return
    for line in proc.stderr.splitlines():
        if line.startswith("@@onnx-import thread="):
            result.import_thread = line.split("=", 1)[1]
        elif line.startswith("@@onnx-frame ") and "lsp_agent" in line:
            result.import_chain.append(line.removeprefix("@@onnx-frame "))


def prepare(prefix: list[str], env: dict[str, str], ws: Path, query: str) -> None:
    w = ["--workspace", str(ws)]
    for args in (["remember", f"Always run the tests with {query} -q before committing."],
                 ["memory", "set", "notes", f"- run the tests with {query} -q", "--reason",
                  "benchmark"],
                 ["memory", "set", "notes", f"- run the tests with {query} -q\n- the build uses "
                  "hatch", "--reason", "benchmark"],
                 ["conversation", "new", "--title", "benchmark"],
                 ["archival", "insert", f"The CI runs {query} on Python 3.11 and 3.12."]):
        _, _, proc = run([*prefix, *args, *w], env, ws)
        check(proc, "lsp-agent " + " ".join(args))


def short_chain(frames: list[str]) -> str:
    """`file.py:line function` of lsp_agent's frames, outermost first, paths shortened."""
    return " -> ".join(re.sub(r"^.*?/lsp_agent/", "", f) for f in frames)


def onnx_cell(r: Result) -> str:
    if not r.onnx_runs:
        return "no" if r.checks == 1 else f"no (0/{r.checks})"
    return "**yes**" if r.checks == 1 else f"**yes** ({r.onnx_runs}/{r.checks})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (default 7)")
    parser.add_argument("--checks", type=int, default=3,
                        help="untimed runs per command that look for onnxruntime (default 3)")
    parser.add_argument("--query", default="pytest", help="search words (default pytest)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="cli-latency-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSP_AGENT_")}
    env.update(LSP_AGENT_HOME=str(tmp / "home"), LITELLM_LOCAL_MODEL_COST_MAP="True")
    prefix = cli_prefix()
    try:
        ws = make_workspace(tmp)
        prepare(prefix, env, ws, args.query)
        results = [Result(label, [*prefix, *argv, *(["--workspace", str(ws)] if w else [])])
                   for label, argv, w in commands(args.query)]
        for _ in range(max(args.checks, 1)):  # untimed: warm the file cache, who loads ONNX
            for r in results:
                detect(r, prefix, env, ws)
        load_before = os.getloadavg()
        for _ in range(args.repeats):
            for r in results:
                wall, cpu, proc = run(r.argv, env, ws)
                if proc.returncode != 0:
                    r.failures += 1
                    print(f"warning: `{r.label}` failed: {proc.stderr.strip()[-300:]}",
                          file=sys.stderr)
                    continue
                r.wall.append(wall)
                r.cpu.append(cpu)
        load_after = os.getloadavg()
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")

    base = results[0].median
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
          f"{args.repeats} rounds, load average (1/5/15 min) before "
          f"{'/'.join(f'{x:.1f}' for x in load_before)}, after "
          f"{'/'.join(f'{x:.1f}' for x in load_after)}")
    width = max(len(r.label) for r in results) + 2
    print(f"| {'command':<{width}} | median s | x --help | CPU s | onnxruntime loaded |")
    print(f"| {'-' * width} | -------: | -------: | ----: | ------------------ |")
    for r in results:
        fail = f" ({r.failures} failed)" if r.failures else ""
        print(f"| {'`' + r.label + '`':<{width}} | {r.median:8.2f} | {r.median / base:8.2f} "
              f"| {r.cpu_median:5.2f} | {onnx_cell(r):<18} |{fail}")
    for r in results:
        if r.onnx_runs:
            print(f"\n`{r.label}` imports onnxruntime in {r.onnx_runs} of {r.checks} runs "
                  f"(thread {r.import_thread or '?'}); call chain, outermost first:")
            print("  " + short_chain(r.import_chain) if r.import_chain else "  (no call chain)")

    if args.json:
        Path(args.json).write_text(json.dumps({
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform()},
            "repeats": args.repeats, "checks": args.checks, "load_before": load_before, "load_after": load_after,
            "baseline_median_s": base,
            "commands": [{**asdict(r), "argv": r.argv[len(prefix):], "median_s": r.median,
                          "ratio": r.median / base, "cpu_median_s": r.cpu_median,
                          "onnxruntime": r.onnx_runs > 0}
                         for r in results],
        }, indent=2))


if __name__ == "__main__":
    main()
