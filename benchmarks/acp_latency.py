#!/usr/bin/env python3
"""The ACP face's figures (issue 15), each beside the LSP face in the same run.

    python benchmarks/acp_latency.py [--rounds 7] [--deltas 100] [--delay-ms 10]
        [--write-doc] [--json OUT]

Start: spawn to the `initialize` answer; `lsp-agent acp` (one NDJSON line) against `lsp-agent
serve` (Content-Length framing, benchmarks/server_startup.py's client), one after the other in
each round, in alternating order. Median and the ratio of the medians.

Streaming: the scripted model streams words with `delay_ms` before each piece and, with
$LSP_AGENT_SCRIPT_TRACE, stamps each piece (`time.time()`) when it hands it to litellm. A
plain client (a reader thread stamping each message as it is parsed) runs a warm-up prompt
(20 words) and a measured one in one session; latency = receive stamp of the word's
`session/update` (`agent_message_chunk`) minus its trace stamp. "first" is the first word of
the measured prompt; "all" every word. The baseline is the LSP face in the same round:
`lspAgent.ask` twice, its `lspAgent/event` text deltas (benchmarks/stream_latency/servers.py).
Each round has fresh processes and stores. The machine is shared: medians, p95, load.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(HERE / "stream_latency")]
from doc_sections import replace_section  # noqa: E402
from server_startup import time_initialize  # noqa: E402
from servers import RawClient  # noqa: E402
from stream_latency import median, pct, words  # noqa: E402  (the same statistics as LSP's)

SECTION = "## ACP face"
NOTES = "### What the figures say"  # the hand-written part of the section, kept on rewrite
WARM, WARM_WORDS, MEASURED = "x", 20, "w"


class AcpClient:
    """A plain ACP client over NDJSON: answers the agent's requests with nothing (denies),
    stamps every `agent_message_chunk` as soon as its line is parsed."""

    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path, stderr: Any) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=stderr, env=env, cwd=cwd)
        self._ids = itertools.count(1)
        self._waiting: dict[int, queue.Queue[tuple[Any, float]]] = {}
        self._lock = threading.Lock()
        self.chunks: list[tuple[str, float]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _send(self, payload: dict[str, Any]) -> None:
        with self._lock:
            assert self.proc.stdin
            self.proc.stdin.write(json.dumps(payload).encode() + b"\n")
            self.proc.stdin.flush()

    def _read(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            stamp, clock = time.time(), time.perf_counter()
            msg = json.loads(line)
            if msg.get("method") == "session/update":
                update = msg["params"]["update"]
                if update.get("sessionUpdate") == "agent_message_chunk":
                    self.chunks.append((update["content"].get("text", ""), stamp))
            elif "method" in msg and "id" in msg:
                self._send({"jsonrpc": "2.0", "id": msg["id"], "error": {
                    "code": -32601, "message": "not offered by the benchmark client"}})
            elif msg.get("id") in self._waiting:
                self._waiting[msg["id"]].put((msg, clock))
        for q in self._waiting.values():
            q.put((None, time.perf_counter()))

    def request(self, method: str, params: dict[str, Any], timeout: float = 120) -> tuple[Any,
                                                                                         float]:
        rid = next(self._ids)
        self._waiting[rid] = answer = queue.Queue()
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        msg, clock = answer.get(timeout=timeout)
        del self._waiting[rid]
        if msg is None or "error" in msg:
            raise RuntimeError(f"{method} failed: {msg and msg['error']}")
        return msg["result"], clock

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def base_env(home: Path, trace: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSP_AGENT_")}
    env.update(LSP_AGENT_HOME=str(home), LITELLM_LOCAL_MODEL_COST_MAP="True",
               PYTHONPATH=str(ROOT), LSP_AGENT_EMBEDDER="none")
    if trace is not None:
        env["LSP_AGENT_SCRIPT_TRACE"] = str(trace)
    return env


def acp_start(root: Path) -> float:
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    client = AcpClient([sys.executable, "-m", "lsp_agent", "acp"], base_env(home), root,
                       subprocess.DEVNULL)
    try:
        _, clock = client.request("initialize", {"protocolVersion": 1}, timeout=60)
        return clock - client.started
    finally:
        client.close()


def lsp_start(root: Path) -> float:
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    elapsed, _rss = time_initialize([sys.executable, "-m", "lsp_agent", "serve"],
                                    base_env(home), root)
    return elapsed


def latencies(trace: Path, got: list[tuple[str, float]], prefix: str, n: int) -> list[float]:
    traced = {}
    for line in trace.read_text().splitlines():
        entry = json.loads(line)
        traced[entry["text"].strip()] = entry["t"]
    wanted = [f"{prefix}{i}" for i in range(n)]
    stamps = {text.strip(): t for text, t in got if text.strip()}
    missing = [w for w in wanted if w not in stamps or w not in traced]
    if missing:
        raise RuntimeError(f"{len(missing)} of {n} words never arrived, e.g. {missing[:3]}")
    return [1000 * (stamps[w] - traced[w]) for w in wanted]


def setup(root: Path, a: argparse.Namespace) -> tuple[Path, Path, Path, Path]:
    ws, home = root / "ws", root / "home"
    ws.mkdir(parents=True)
    home.mkdir()
    (ws / "README.md").write_text("# benchmark workspace\n")
    script, trace = root / "script.json", root / "trace.jsonl"
    script.write_text(json.dumps({"responses": [
        {"content": words(WARM, WARM_WORDS), "delay_ms": a.delay_ms},
        {"content": words(MEASURED, a.deltas), "delay_ms": a.delay_ms}]}))
    return ws, home, script, trace


def acp_stream(root: Path, a: argparse.Namespace) -> list[float]:
    ws, home, script, trace = setup(root, a)
    client = AcpClient([sys.executable, "-m", "lsp_agent", "acp", "--model",
                        f"scripted/{script}", "--store", str(root / "store"), "--trust"],
                       base_env(home, trace), ws, (root / "acp.err").open("ab"))
    try:
        client.request("initialize", {"protocolVersion": 1})
        session, _ = client.request("session/new", {"cwd": str(ws), "mcpServers": []})
        for prompt in ("warm up", "stream"):
            client.request("session/prompt", {"sessionId": session["sessionId"], "prompt": [
                {"type": "text", "text": prompt}]})
    finally:
        client.close()
    return latencies(trace, client.chunks, MEASURED, a.deltas)


def lsp_stream(root: Path, a: argparse.Namespace) -> list[float]:
    ws, home, script, trace = setup(root, a)
    got: list[tuple[str, float]] = []
    client = RawClient([sys.executable, "-m", "lsp_agent", "serve"], base_env(home, trace), ws,
                       (root / "lsp.err").open("ab"),
                       lambda ev, t: got.append((ev["text"], t))
                       if ev.get("type") == "text_delta" else None)
    opts = {"model": f"scripted/{script}", "store": str(root / "store"), "embedder": "none",
            "trustWorkspace": True, "reflection": {"idleSeconds": 3600, "everyTurns": 1000}}
    client.initialize(ws, opts)
    try:
        conversation = None
        for prompt in ("warm up", "stream"):
            args = {"prompt": prompt, **({"conversation_id": conversation} if conversation
                                         else {})}
            result, _, _ = client.execute("lspAgent.ask", args)
            conversation = result["data"]["conversation_id"]
    finally:
        client.close()
    return latencies(trace, got, MEASURED, a.deltas)


def run(a: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="acp-bench-"))
    start: dict[str, list[float]] = {"acp": [], "lsp": []}
    stream: dict[str, dict[str, list[float]]] = {f: {"first": [], "all": []}
                                                 for f in ("acp", "lsp")}
    loads = []
    try:
        for r in range(a.rounds):
            order = ("acp", "lsp") if r % 2 == 0 else ("lsp", "acp")
            for face in order:
                fn = acp_start if face == "acp" else lsp_start
                for i in range(a.starts):
                    start[face].append(fn(tmp / f"start-{r}-{face}-{i}") * 1000)
            for face in order:
                fn2 = acp_stream if face == "acp" else lsp_stream
                ms = fn2(tmp / f"stream-{r}-{face}", a)
                stream[face]["first"].append(ms[0])
                stream[face]["all"] += ms
            loads.append(os.getloadavg()[0])
            print(f"round {r + 1}: start acp {median(start['acp'][-a.starts:]):.0f} ms, lsp "
                  f"{median(start['lsp'][-a.starts:]):.0f} ms; first delta acp "
                  f"{stream['acp']['first'][-1]:.2f} ms, lsp {stream['lsp']['first'][-1]:.2f} "
                  f"ms; load {loads[-1]:.1f}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def summary(xs: list[float]) -> dict[str, float]:
        return {"n": len(xs), "median_ms": round(median(xs), 2), "p95_ms": round(pct(xs, 95), 2)}

    return {"when": datetime.now(UTC).isoformat(timespec="seconds"), "rounds": a.rounds,
            "deltas": a.deltas, "delay_ms": a.delay_ms, "load": [round(x, 1) for x in loads],
            "start": {f: summary(v) for f, v in start.items()},
            "start_ratio": round(median(start["acp"]) / median(start["lsp"]), 3),
            "stream": {f: {k: summary(v) for k, v in d.items()} for f, d in stream.items()}}


def report(res: dict[str, Any], argv: list[str]) -> str:
    s, st = res["start"], res["stream"]
    lines = [
        SECTION, "",
        f"`python benchmarks/acp_latency.py {' '.join(argv)}` ({res['when']}, {res['rounds']} "
        f"rounds, load {min(res['load'])}-{max(res['load'])}; 2-core shared machine).", "",
        "| figure | ACP face | LSP face (baseline) | ratio |", "| --- | --- | --- | --- |",
        f"| start to `initialize` answered, median (n={s['acp']['n']}) | "
        f"{s['acp']['median_ms']:.0f} ms | {s['lsp']['median_ms']:.0f} ms | "
        f"{res['start_ratio']:.2f}x |",
        f"| start to `initialize`, p95 | {s['acp']['p95_ms']:.0f} ms | "
        f"{s['lsp']['p95_ms']:.0f} ms | |",
        f"| first update after the model's first delta, median (n={st['acp']['first']['n']}) "
        f"| {st['acp']['first']['median_ms']:.2f} ms | {st['lsp']['first']['median_ms']:.2f} ms "
        "| |",
        f"| first update after the first delta, p95 | {st['acp']['first']['p95_ms']:.2f} ms | "
        f"{st['lsp']['first']['p95_ms']:.2f} ms | |",
        f"| every delta ({res['deltas']} words, {res['delay_ms']} ms apart), median | "
        f"{st['acp']['all']['median_ms']:.2f} ms | {st['lsp']['all']['median_ms']:.2f} ms | |",
        f"| every delta, p95 | {st['acp']['all']['p95_ms']:.2f} ms | "
        f"{st['lsp']['all']['p95_ms']:.2f} ms | |", "",
        "ACP: `session/update` `agent_message_chunk` lines; LSP: `lspAgent/event` `text_delta`; "
        "both from the scripted model's trace stamp to the client's parse of the message, the "
        "second prompt of a session (the first one imports litellm).", ""]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--starts", type=int, default=3, help="start measurements per face per round")
    p.add_argument("--deltas", type=int, default=100)
    p.add_argument("--delay-ms", type=int, default=10)
    p.add_argument("--write-doc", action="store_true")
    p.add_argument("--json", type=Path)
    a = p.parse_args()
    res = run(a)
    text = report(res, sys.argv[1:])
    print(text)
    if a.json:
        a.json.write_text(json.dumps(res, indent=2))
    if a.write_doc:
        replace_section(SECTION, text, keep_from=NOTES)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
