"""Server start to `initialize` answered, from a real client over stdio, side by side with a
bare pygls server; plus idle RSS. Prints medians and the ratio (goal: <= 1.15x).

    python benchmarks/server_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _frame(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _read_message(stream) -> dict:
    length = 0
    while True:
        line = stream.readline()
        if not line:
            raise RuntimeError("server closed the pipe")
        if line in (b"\r\n", b"\n"):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(stream.read(length))


def time_initialize(cmd: list[str], env: dict[str, str], workspace: Path) -> tuple[float, int]:
    """Seconds from spawn to the initialize response, and the RSS (kB) once initialized."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    assert proc.stdin and proc.stdout
    proc.stdin.write(_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "processId": os.getpid(), "rootUri": workspace.as_uri(), "capabilities": {},
        "workspaceFolders": [{"uri": workspace.as_uri(), "name": "ws"}]}}))
    proc.stdin.flush()
    while True:
        msg = _read_message(proc.stdout)
        if msg.get("id") == 1:
            break
    elapsed = time.perf_counter() - start
    proc.stdin.write(_frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    proc.stdin.flush()
    time.sleep(0.3)
    rss = 0
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    proc.stdin.write(_frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
    proc.stdin.write(_frame({"jsonrpc": "2.0", "method": "exit"}))
    proc.stdin.flush()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
    return elapsed, rss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    env = {**os.environ, "LSP_AGENT_HOME": str(tmp / "home")}
    ours = [sys.executable, "-m", "lsp_agent", "serve"]
    bare = [sys.executable, str(HERE / "bare_pygls_server.py")]
    results: dict[str, list[tuple[float, int]]] = {"lsp-agent": [], "bare pygls": []}
    for cmd in (ours, bare):  # warm the OS file cache once
        time_initialize(cmd, env, tmp)
    for _ in range(args.runs):  # interleaved, so load changes hit both alike
        results["lsp-agent"].append(time_initialize(ours, env, tmp))
        results["bare pygls"].append(time_initialize(bare, env, tmp))
    med = {k: statistics.median(t for t, _ in v) for k, v in results.items()}
    rss = {k: statistics.median(r for _, r in v) for k, v in results.items()}
    for k in results:
        print(f"{k:12s} initialize median {med[k] * 1000:7.1f} ms   idle RSS {rss[k] / 1024:6.1f} MB")
    print(f"ratio lsp-agent / bare: {med['lsp-agent'] / med['bare pygls']:.3f} (goal <= 1.15)")


if __name__ == "__main__":
    main()
