"""A fresh server per run (workspace, store, home, scripted model, trace) and a plain LSP client
for it: raw framing over the server's stdio, each message stamped as soon as it is parsed (the
baseline of benchmarks/stream_latency.py, and its history requests)."""

from __future__ import annotations

import itertools
import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any


def read_message(stream: Any) -> tuple[dict | None, int]:
    """The next message and its body's size; (None, 0) when the server closed its output."""
    length = 0
    while True:
        line = stream.readline()
        if not line:
            return None, 0
        if line in (b"\r\n", b"\n"):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    body = stream.read(length)
    return json.loads(body), len(body)


class RawClient:
    """A plain LSP client: a reader thread stamps each message as soon as it is parsed."""

    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path, stderr: Any,
                 on_event: Any = None) -> None:
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=stderr, env=env, cwd=cwd)
        self.on_event = on_event
        self._ids = itertools.count(1)
        self._waiting: dict[int, queue.Queue] = {}
        self._write_lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _send(self, payload: dict) -> None:
        body = json.dumps(payload).encode()
        with self._write_lock:
            assert self.proc.stdin
            self.proc.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            self.proc.stdin.flush()

    def _read(self) -> None:
        while True:
            msg, size = read_message(self.proc.stdout)
            stamp, clock = time.time(), time.perf_counter()
            if msg is None:
                for q in self._waiting.values():
                    q.put((None, clock, 0))
                return
            method = msg.get("method")
            if method and "id" in msg:  # a request from the server: nothing to offer
                self._send({"jsonrpc": "2.0", "id": msg["id"], "result": None})
            elif method == "lspAgent/event" and self.on_event:
                self.on_event(msg["params"], stamp)
            elif method is None and msg.get("id") in self._waiting:
                self._waiting[msg["id"]].put((msg, clock, size))

    def request(self, method: str, params: Any, timeout: float = 120) -> tuple[Any, float, int]:
        """The result, seconds from writing the request to parsing the answer, its size."""
        rid = next(self._ids)
        self._waiting[rid] = answer = queue.Queue()
        start = time.perf_counter()
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        msg, clock, size = answer.get(timeout=timeout)
        del self._waiting[rid]
        if msg is None:
            raise RuntimeError(f"the server exited during {method}")
        if "error" in msg:
            raise RuntimeError(f"{method} failed: {msg['error'].get('message')}")
        return msg.get("result"), clock - start, size

    def execute(self, command: str, args: dict, timeout: float = 120) -> tuple[Any, float, int]:
        return self.request("workspace/executeCommand", {"command": command, "arguments": [args]},
                            timeout)

    def initialize(self, ws: Path, opts: dict) -> None:
        self.request("initialize", {
            "processId": os.getpid(), "rootUri": ws.as_uri(), "capabilities": {},
            "workspaceFolders": [{"uri": ws.as_uri(), "name": "ws"}],
            "initializationOptions": {"lspAgent": opts}}, timeout=60)
        self._send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    def close(self) -> None:
        try:
            self.request("shutdown", None, timeout=10)
            self._send({"jsonrpc": "2.0", "method": "exit"})
            self.proc.wait(5)
        except (OSError, RuntimeError, queue.Empty, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()




class Run:
    """A fresh workspace, store, home and script for one server."""

    def __init__(self, root: Path, name: str, server: str, responses: list[dict]) -> None:
        self.dir = root / name
        self.ws, self.home = self.dir / "ws", self.dir / "home"
        self.ws.mkdir(parents=True)
        self.home.mkdir()
        (self.ws / "README.md").write_text("# benchmark workspace\n")
        self.script, self.trace = self.dir / "script.json", self.dir / "trace.jsonl"
        self.script.write_text(json.dumps({"responses": responses}))
        self.server = server
        self.opts = {"model": f"scripted/{self.script}", "store": str(self.dir / "store"),
                     "embedder": "none", "trustWorkspace": True,
                     # no reflection turn may take a scripted response or the CPU meanwhile
                     "reflection": {"idleSeconds": 3600, "everyTurns": 1000}}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("LSP_AGENT_")}
        self.env.update(LSP_AGENT_HOME=str(self.home), LITELLM_LOCAL_MODEL_COST_MAP="True",
                        LSP_AGENT_SCRIPT_TRACE=str(self.trace))

    def client_env(self, prompts: list[str], out: Path, **extra: str) -> dict[str, str]:
        return {**self.env, **extra, "LSP_BENCH_SERVER": self.server, "LSP_BENCH_WS": str(self.ws),
                "LSP_BENCH_OPTS": json.dumps(self.opts), "LSP_BENCH_PROMPTS": json.dumps(prompts),
                "LSP_BENCH_OUT": str(out), "LSP_BENCH_STDERR": str(self.dir / "server.err")}

    def raw_client(self, on_event: Any = None) -> RawClient:
        client = RawClient([self.server, "serve"], self.env, self.ws,
                           (self.dir / "server.err").open("ab"), on_event)
        client.initialize(self.ws, self.opts)
        return client
