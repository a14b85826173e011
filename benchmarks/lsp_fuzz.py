"""Fuzz the language server over stdio with malformed LSP messages; count what gets answered.

    python benchmarks/lsp_fuzz.py --messages 10000 [--seed 11] [--batch 50]

A real `lsp-agent serve` process, raw bytes on its stdin: JSON-RPC bodies with a wrong type in
one field of initialize / executeCommand / codeAction / codeAction/resolve / didOpen / ...,
random JSON, byte-mutated bodies and broken headers. After every batch a plain request must be
answered. Every request that carries a readable id must be answered exactly once.
`tests/test_protocol_robustness.py` runs a short, seeded run of the same generator in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def frame(body: bytes | str | Any) -> bytes:
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    raw = body.encode() if isinstance(body, str) else body
    return b"Content-Length: %d\r\n\r\n" % len(raw) + raw


class Wire:
    """A raw LSP client: writes bytes to a server process, reads framed replies."""

    def __init__(self, home: Path) -> None:
        env = {**os.environ, "LSP_AGENT_HOME": str(home), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        self.log = home.parent / "server-stderr.log"  # a file: a full pipe would block the server
        home.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "lsp_agent", "serve"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=log, env=env)
        self._buf = b""
        self.received: list[dict[str, Any]] = []  # answers (responses), in order

    def send(self, raw: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(raw)
        self.proc.stdin.flush()

    def _next(self, deadline: float) -> dict[str, Any] | None:
        assert self.proc.stdout is not None
        while True:
            end = self._buf.find(b"\r\n\r\n")
            if end >= 0:
                headers = dict(line.split(b": ", 1) for line in self._buf[:end].split(b"\r\n"))
                length = int(headers[b"Content-Length"])
                if len(self._buf) >= end + 4 + length:
                    body = self._buf[end + 4 : end + 4 + length]
                    self._buf = self._buf[end + 4 + length :]
                    return json.loads(body)
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.time()))
            if not ready:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
            if not chunk:
                return None
            self._buf += chunk

    def wait_for(self, ids: set[Any], timeout: float = 30.0) -> list[dict[str, Any]]:
        """Answers read until every id in `ids` was answered (or the timeout)."""
        deadline = time.time() + timeout
        got: list[dict[str, Any]] = []
        missing = set(ids)
        while missing:
            message = self._next(deadline)
            if message is None:
                break
            if "method" in message:  # the server's own notifications and requests
                continue
            got.append(message)
            missing.discard(message.get("id"))
        self.received += got
        return got

    def request(self, msg_id: Any, method: str, params: Any = None,
                timeout: float = 30.0) -> dict[str, Any] | None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(frame(message))
        answers = [m for m in self.wait_for({msg_id}, timeout) if m.get("id") == msg_id]
        return answers[0] if answers else None

    def initialize(self, workspace: Path, msg_id: Any = "init") -> dict[str, Any] | None:
        options = {"lspAgent": {"store": str(workspace.parent / "store"), "embedder": "none",
                                "model": "scripted/none.json"}}
        answer = self.request(msg_id, "initialize", {
            "processId": None, "rootUri": workspace.as_uri(), "capabilities": {},
            "workspaceFolders": [{"uri": workspace.as_uri(), "name": "ws"}],
            "initializationOptions": options})
        self.send(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        return answer

    def alive(self, msg_id: Any) -> bool:
        """The server still answers a plain request (before `initialize`: with -32002)."""
        answer = self.request(msg_id, "codeAction/resolve", {"title": "ping"}, timeout=30) or {}
        return ((answer.get("result") or {}).get("title") == "ping"
                or (answer.get("error") or {}).get("code") == -32002)

    def close(self) -> int | None:
        if self.proc.poll() is None:
            self.send(frame({"jsonrpc": "2.0", "id": "bye", "method": "shutdown"}))
            self.wait_for({"bye"}, 10)
            self.send(frame({"jsonrpc": "2.0", "method": "exit"}))
            try:
                return self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()


URI = "file:///nonexistent/fuzz.py"
POS = {"line": 0, "character": 0}
RANGE = {"start": POS, "end": {"line": 0, "character": 4}}
REQUESTS: dict[str, Any] = {
    "initialize": {"processId": None, "rootUri": None, "capabilities": {}},
    "workspace/executeCommand": {"command": "lspAgent.status", "arguments": [{"workspace": 5}]},
    "textDocument/codeAction": {"textDocument": {"uri": URI}, "range": RANGE,
                                "context": {"diagnostics": [{"range": RANGE, "message": "m"}]}},
    "codeAction/resolve": {"title": "t", "data": {"action": "search", "uri": URI, "symbol": "x"}},
}
NOTIFICATIONS: dict[str, Any] = {
    "textDocument/didOpen": {"textDocument": {"uri": URI, "languageId": "python", "version": 1,
                                              "text": "def f():\n    pass\n"}},
    "textDocument/didChange": {"textDocument": {"uri": URI, "version": 2},
                               "contentChanges": [{"range": RANGE, "text": "x"}]},
    "textDocument/didSave": {"textDocument": {"uri": URI}},
    "textDocument/didClose": {"textDocument": {"uri": URI}},
    "$/cancelRequest": {"id": 1},
    "$/setTrace": {"value": "off"},
    "workspace/didChangeConfiguration": {"settings": {"lspAgent": {}}},
    "workspace/didChangeWatchedFiles": {"changes": [{"uri": URI, "type": 1}]},
}


def junk(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 6)
    makers = [
        lambda: None, lambda: True, lambda: rng.randint(-2**40, 2**40),
        lambda: rng.random() * 1e6 - 5e5,
        lambda: "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(12))),
        lambda: rng.choice(["", "file:///", "x" * 300, "0", "-1", "\u0000"]),
        lambda: 2**63 + rng.randrange(100),
        lambda: [junk(rng, depth + 1) for _ in range(rng.randrange(4))],
        lambda: {rng.choice(["a", "uri", "id", "text", "line"]): junk(rng, depth + 1)
                 for _ in range(rng.randrange(4))},
    ]
    return makers[kind]()


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def mutate(rng: random.Random, message: dict[str, Any]) -> dict[str, Any]:
    """The message with one field given a wrong type (or removed, or junk added beside it)."""
    message = json.loads(json.dumps(message))
    path = rng.choice([p for p in paths(message) if p])
    *parents, last = path
    holder: Any = message
    for key in parents:
        holder = holder[key]
    action = rng.random()
    if action < 0.15 and isinstance(holder, dict) and last != "id":
        del holder[last]
    elif action < 0.25 and isinstance(holder, dict):
        holder[rng.choice(["x", "extra", "0"])] = junk(rng)
    else:
        holder[last] = junk(rng)
    return message


def valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def generate(rng: random.Random, next_id: Any) -> tuple[bytes, Any]:
    """One malformed message and the id whose answer it must get (None: none required)."""
    kind = rng.random()
    if kind < 0.55:  # a request or notification with one wrong field
        if rng.random() < 0.7:
            method = rng.choice(list(REQUESTS))
            base: dict[str, Any] = {"jsonrpc": "2.0", "id": next_id(), "method": method,
                                    "params": REQUESTS[method]}
        else:
            method = rng.choice(list(NOTIFICATIONS))
            base = {"jsonrpc": "2.0", "method": method, "params": NOTIFICATIONS[method]}
        message = mutate(rng, base)
        if message.get("method") in ("shutdown", "exit"):
            message["method"] = "x"
        # only the id it was given is its own: a junk id ("", "-1") may repeat
        tracked = message.get("id") if message.get("id") == base.get("id") else None
        if tracked is not None and "method" not in message and (
                "result" in message or "error" in message):
            tracked = None  # that is a response, which nobody answers
        return frame(message), tracked
    if kind < 0.7:  # random JSON as the whole body
        value = junk(rng)
        if isinstance(value, dict) and rng.random() < 0.5:
            value = {**value, "jsonrpc": "2.0", "id": next_id(), "method": str(junk(rng))[:20]}
            return frame(value), value["id"]
        return frame(value), None
    msg_id = next_id()
    if kind < 0.85:  # a string id: a flipped byte cannot turn it into another message's id
        msg_id = f"m{msg_id}"
    body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": "codeAction/resolve",
                       "params": {"title": "t"}}).encode()
    if kind < 0.85:  # bytes flipped, cut or inserted, framed with the right length
        raw = bytearray(body)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(raw))
            choice = rng.random()
            if choice < 0.4:
                raw[at] = rng.randrange(256)
            elif choice < 0.7:
                del raw[at : at + rng.randint(1, 8)]
            else:
                raw[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        return frame(bytes(raw)), None
    header = rng.choice([  # broken headers in front of an intact body
        b"Content-Length: %d\r\n\r\n" % (len(body) + rng.randint(1, 40)),
        b"Content-Length: %d\r\n\r\n" % max(0, len(body) - rng.randint(1, 40)),
        b"Content-Length: abc\r\n\r\n", b"Content-Length: -5\r\n\r\n", b"\r\n\r\n",
        b"Content-Length: 99999999999999999999999\r\n\r\n", b"X-Junk\r\n\r\n",
        b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n", b"",
        b"content-length: %d\r\n\r\n" % len(body),
        b"Content-Length: %d\nContent-Type: application/vscode-jsonrpc; charset=utf-8\n\n"
        % len(body)])
    return header + body, None


def run(messages: int, seed: int, batch: int = 50, home: Path | None = None) -> dict[str, Any]:
    """Send `messages` malformed messages in batches; the figures of what came back."""
    rng = random.Random(seed)
    root = Path(home or tempfile.mkdtemp(prefix="lsp-fuzz-"))
    workspace = root / "ws"
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "fuzz.py").write_text("def f():\n    pass\n")
    counter = iter(range(1, 10**9))
    wire = Wire(root / "home")
    started = time.time()
    stats: dict[str, Any] = {"sent": 0, "tracked": 0, "answered": 0, "unanswered": [],
                             "answered_twice": [], "batches_alive": 0, "batches": 0}
    assert wire.initialize(workspace), "the server did not answer initialize"
    while stats["sent"] < messages:
        tracked: list[Any] = []
        for _ in range(min(batch, messages - stats["sent"])):
            raw, msg_id = generate(rng, lambda: next(counter))
            wire.send(raw)
            stats["sent"] += 1
            if msg_id is not None:
                tracked.append(msg_id)
        ping = f"ping-{stats['batches']}"
        wire.send(frame({"jsonrpc": "2.0", "id": ping, "method": "codeAction/resolve",
                         "params": {"title": "ping"}}))
        got = wire.wait_for({*tracked, ping}, 60)
        ids = [m.get("id") for m in got]
        stats["batches"] += 1
        stats["batches_alive"] += ping in ids and wire.proc.poll() is None
        for msg_id in tracked:
            count = ids.count(msg_id)
            stats["tracked"] += 1
            stats["answered"] += count >= 1
            if count == 0:
                stats["unanswered"].append(msg_id)
            elif count > 1:
                stats["answered_twice"].append(msg_id)
        if wire.proc.poll() is not None:
            break
    stats["answers_total"] = len(wire.received)
    stats["alive_at_end"] = wire.proc.poll() is None and wire.alive("last")
    stats["exit_code"] = wire.close()
    stats["seconds"] = round(time.time() - started, 1)
    log = wire.log.read_text(errors="replace")
    stats["tracebacks_logged"] = log.count("Traceback")
    stats["stderr_tail"] = log[-2000:]
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--batch", type=int, default=50)
    ns = parser.parse_args()
    stats = run(ns.messages, ns.seed, ns.batch)
    tail = stats.pop("stderr_tail")
    print(json.dumps(stats, indent=2, default=str))
    if stats["unanswered"] or not stats["alive_at_end"] or stats["exit_code"] != 0:
        print(tail, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
