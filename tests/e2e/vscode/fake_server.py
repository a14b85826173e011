#!/usr/bin/env python3
"""A stand-in for `lsp-agent serve` that follows docs/protocol.md with canned data.

Only for developing the VS Code end-to-end test harness (run.sh uses it when
LSP_AGENT_BIN=fake); the real e2e run uses the real server. Standard library only.
Usage: fake_server.py serve
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

out_lock = threading.Lock()
pending: dict[int, threading.Event] = {}
answers: dict[int, object] = {}
next_id = [1000]
state = {"blocks": {}, "history": {}, "conversations": [], "active": None, "root": None}


def send(msg: dict) -> None:
    msg["jsonrpc"] = "2.0"
    body = json.dumps(msg).encode()
    with out_lock:
        sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        sys.stdout.buffer.flush()


def request(method: str, params: dict) -> object:
    next_id[0] += 1
    rid = next_id[0]
    ev = threading.Event()
    pending[rid] = ev
    send({"id": rid, "method": method, "params": params})
    ev.wait(300)
    return answers.pop(rid, None)


def notify(method: str, params: dict) -> None:
    send({"method": method, "params": params})


def read_message() -> dict | None:
    headers = {}
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        k, _, v = line.decode().partition(":")
        headers[k.lower()] = v.strip()
    n = int(headers.get("content-length", 0))
    return json.loads(sys.stdin.buffer.read(n))


def result(command: str, data: dict, markdown: str) -> dict:
    return {"ok": True, "command": command, "data": data, "markdown": markdown}


def block(label: str) -> dict:
    value = state["blocks"][label]
    return {"label": label, "description": f"The {label} block", "value": value, "limit": 2000,
            "read_only": False, "scope": "agent", "chars": len(value)}


def set_block(label: str, value: str, author: str, reason: str) -> int:
    hist = state["history"].setdefault(label, [])
    old = state["blocks"].get(label, "")
    state["blocks"][label] = value
    hist.append({"version": len(hist) + 1, "author": author, "timestamp": time.time(),
                 "reason": reason, "old": old, "new": value})
    return len(hist)


def progress(title: str):
    token = f"fake-{time.time()}"
    request("window/workDoneProgress/create", {"token": token})
    notify("$/progress", {"token": token, "value": {"kind": "begin", "title": title, "cancellable": True, "percentage": 0}})
    return token


def event(type_: str, text: str, **extra) -> None:
    notify("lspAgent/event", {"workspace": state["root"], "conversation_id": state["active"], "type": type_, "text": text, **extra})


def handle_command(name: str, args: dict) -> dict:
    if name == "lspAgent.status":
        return result(name, {"workspace": state["root"], "store": "/tmp/fake-store", "model": state.get("model", "none"),
                             "embedder": "fake", "state": "idle",
                             "counts": {"blocks": len(state["blocks"]), "messages": 0, "archival": 0, "skills": 0, "code_chunks": 1}},
                      f"# Status\n\nstate: idle\n\nmodel: `{state.get('model')}`\n\nblocks: {len(state['blocks'])}\n")
    if name == "lspAgent.init":
        token = progress("Initializing")
        set_block("project", "Aquarium greeter.", "agent", "init")
        notify("$/progress", {"token": token, "value": {"kind": "end"}})
        return result(name, {"blocks": ["project"], "facts": 1, "indexed_files": 2}, "# Initialized")
    if name == "lspAgent.remember":
        text = args.get("text") or "(distilled)"
        label = args.get("block") or "project"
        v = set_block(label, (state["blocks"].get(label, "") + "\n- " + text).strip(), "user", "remember")
        return result(name, {"block": label, "version": v}, f"Remembered in `{label}` (v{v}).")
    if name == "lspAgent.memory.show":
        labels = [args["label"]] if args.get("label") else list(state["blocks"])
        blocks = [block(lb) for lb in labels if lb in state["blocks"]]
        md = "\n\n".join(f"## {b['label']}\n\n{b['value']}" for b in blocks) or "_No memory blocks._"
        return result(name, {"blocks": blocks}, "# Memory\n\n" + md)
    if name == "lspAgent.memory.history":
        vs = state["history"].get(args["label"], [])
        md = "\n".join(f"- v{v['version']} by {v['author']}: {v['reason']}" for v in vs)
        return result(name, {"versions": vs}, f"# History of {args['label']}\n\n{md}")
    if name == "lspAgent.memory.edit":
        v = set_block(args["label"], args["value"], "user", args.get("reason", ""))
        return result(name, {"label": args["label"], "version": v}, "ok")
    if name == "lspAgent.memory.revert":
        old = state["history"][args["label"]][args["version"] - 1]["new"]
        v = set_block(args["label"], old, "user", f"revert to v{args['version']}")
        return result(name, {"label": args["label"], "version": v}, "ok")
    if name == "lspAgent.search":
        words = [w for w in args["query"].lower().split() if len(w) > 3]
        hits = []

        def match(text: str) -> bool:
            return any(w in text.lower() for w in words)

        for lb, val in state["blocks"].items():
            if match(val):
                hits.append({"kind": "block", "id": lb, "title": f"Memory block {lb}", "snippet": val, "score": 0.9, "label": lb})
        root = Path(state["root"] or ".")
        for p in sorted(root.glob("*.py")):
            if match(p.read_text()):
                hits.append({"kind": "code", "id": str(p), "title": p.name, "snippet": p.read_text()[:80], "score": 0.5,
                             "location": {"uri": p.as_uri(), "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}}})
        return result(name, {"results": hits}, f"{len(hits)} results")
    if name == "lspAgent.ask":
        token = progress("Thinking")
        event("thinking", "Looking at the question")
        event("tool_call", "", tool="run_command", arguments={"command": "echo hi"})
        answer = request("window/showMessageRequest", {"type": 2, "message": "Run shell command: echo hi",
                                                        "actions": [{"title": "Allow"}, {"title": "Always allow"}, {"title": "Deny"}]})
        allowed = isinstance(answer, dict) and answer.get("title") in ("Allow", "Always allow")
        event("tool_result", "hi" if allowed else "denied by the user", tool="run_command")
        notify("$/progress", {"token": token, "value": {"kind": "report", "message": "step 2", "percentage": 50}})
        time.sleep(1)
        event("message", "Done.")
        event("done", "")
        notify("$/progress", {"token": token, "value": {"kind": "end"}})
        return result(name, {"reply": "Done.", "conversation_id": "c1", "steps": 2, "usage": {}}, "Done.")
    if name == "lspAgent.conversation.list":
        return result(name, {"conversations": [{"id": "c1", "title": "First", "created_at": time.time(), "updated_at": time.time(), "messages": 2, "active": True}], "active": "c1"}, "")
    raise KeyError(name)


def serve_request(msg: dict) -> None:
    method, params, rid = msg["method"], msg.get("params") or {}, msg.get("id")
    try:
        if method == "initialize":
            folders = params.get("workspaceFolders") or []
            if folders:
                state["root"] = folders[0]["uri"].removeprefix("file://")
            state["model"] = (params.get("initializationOptions") or {}).get("model")
            res = {"capabilities": {"textDocumentSync": 1, "executeCommandProvider": {"commands": [
                "lspAgent.init", "lspAgent.remember", "lspAgent.search", "lspAgent.learnSkill", "lspAgent.ask",
                "lspAgent.reflect", "lspAgent.memory.show", "lspAgent.memory.edit", "lspAgent.memory.history",
                "lspAgent.memory.revert", "lspAgent.conversation.new", "lspAgent.conversation.list",
                "lspAgent.conversation.switch", "lspAgent.conversation.fork", "lspAgent.status"]}},
                   "serverInfo": {"name": "fake-lsp-agent"}}
        elif method == "workspace/executeCommand":
            args = (params.get("arguments") or [{}])[0]
            res = handle_command(params["command"], args)
        elif method == "shutdown":
            res = None
        else:
            send({"id": rid, "error": {"code": -32601, "message": f"no {method}"}})
            return
        send({"id": rid, "result": res})
    except KeyError as e:
        send({"id": rid, "error": {"code": -32602, "message": f"unknown: {e}"}})


def main() -> None:
    while True:
        msg = read_message()
        if msg is None:
            return
        if "method" not in msg:
            rid = msg.get("id")
            answers[rid] = msg.get("result")
            if rid in pending:
                pending.pop(rid).set()
            continue
        if msg["method"] == "exit":
            os._exit(0)
        if msg["method"] == "initialized":
            threading.Thread(target=lambda: request("workspace/configuration", {"items": [{"section": "lspAgent"}]}), daemon=True).start()
            continue
        if "id" in msg:
            threading.Thread(target=serve_request, args=(msg,), daemon=True).start()


if __name__ == "__main__":
    main()
