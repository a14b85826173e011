#!/usr/bin/env python3
"""A tiny stand-in for `lsp-agent serve` that follows docs/protocol.md (stdlib only).

Only for developing/testing the Neovim plugin without the real server:
`run.sh --mock` uses it. It keeps memory in-process and has no agent logic.
"""

import json
import os
import re
import sys
import time
import uuid

# The command list comes from the registry (lsp_agent/commands/__init__.py imports nothing but
# the standard library), so the mock advertises exactly what the real server does;
# tests/commands/test_registry.py checks that it also answers every one of them.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
from lsp_agent.commands import COMMANDS as REGISTRY  # noqa: E402

COMMANDS = [c.lsp_name for c in REGISTRY]

inp = sys.stdin.buffer
out = sys.stdout.buffer
backlog = []
next_id = [1000]
state = {
    "settings": {},
    "root": None,
    "blocks": {"project": ["(empty)"], "human": ["(empty)"], "notes": ["(empty)"]},
    "history": {"project": [], "human": [], "notes": []},
    "conversations": [],
    "active": None,
    "passages": [],
    "meta": {},  # label -> description, limit, read_only, scope (blocks made by memory.create)
}


def read_msg():
    headers = {}
    while True:
        line = inp.readline()
        if not line:
            sys.exit(0)
        line = line.decode().strip()
        if not line:
            break
        k, v = line.split(":", 1)
        headers[k.lower()] = v.strip()
    return json.loads(inp.read(int(headers["content-length"])))


def send(msg):
    msg["jsonrpc"] = "2.0"
    body = json.dumps(msg).encode()
    out.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    out.flush()


def notify(method, params):
    send({"method": method, "params": params})


def call_client(method, params):
    next_id[0] += 1
    rid = next_id[0]
    send({"id": rid, "method": method, "params": params})
    while True:
        msg = read_msg()
        if msg.get("id") == rid and "method" not in msg:
            return msg.get("result"), msg.get("error")
        if msg.get("method") in ("$/cancelRequest", "window/workDoneProgress/cancel"):
            raise Cancelled()
        backlog.append(msg)


def new_conv(title=None):
    c = {"id": uuid.uuid4().hex[:8], "title": title or "Conversation", "created_at": time.time(),
         "updated_at": time.time(), "messages": 0}
    state["conversations"].append(c)
    state["active"] = c["id"]
    return c


def conv_view(c):
    return dict(c, active=c["id"] == state["active"])


def blocks_view(label=None):
    res = []
    for k, vs in state["blocks"].items():
        if label and k != label:
            continue
        v = vs[-1]
        meta = state["meta"].get(k, {})
        res.append({"label": k, "description": meta.get("description", k), "value": v,
                    "limit": meta.get("limit", 5000), "read_only": meta.get("read_only", False),
                    "scope": meta.get("scope", "agent"), "chars": len(v)})
    return res


def set_block(label, value, author, reason):
    state["blocks"].setdefault(label, ["(empty)"])
    old = state["blocks"][label][-1]
    state["blocks"][label].append(value)
    version = len(state["blocks"][label]) - 1
    state["history"].setdefault(label, []).append(
        {"version": version, "author": author, "timestamp": time.time(), "reason": reason,
         "old": old, "new": value})
    return version


class InvalidParams(Exception):
    pass


class Cancelled(Exception):
    pass


def progress(title, fn):
    token = uuid.uuid4().hex
    call_client("window/workDoneProgress/create", {"token": token})
    notify("$/progress", {"token": token, "value": {"kind": "begin", "title": title, "percentage": 0}})
    notify("$/progress", {"token": token, "value": {"kind": "report", "message": "working", "percentage": 50}})
    try:
        result = fn()
    except Cancelled:
        notify("$/progress", {"token": token, "value": {"kind": "end", "message": "Cancelled"}})
        raise
    notify("$/progress", {"token": token, "value": {"kind": "end", "message": "done"}})
    return result


def execute(cmd, a):
    if cmd == "lspAgent.status":
        d = {"workspace": state["root"], "store": state["settings"].get("store"),
             "model": state["settings"].get("model"), "embedder": "default", "state": "idle",
             "counts": {"blocks": len(state["blocks"]), "messages": 0, "archival": 0, "skills": 0, "code_chunks": 0}}
        return d, "**store** " + str(d["store"]) + "\n\n**model** " + str(d["model"])
    if cmd == "lspAgent.doctor":
        d = {"store": state["settings"].get("store"), "healthy": True, "tables": [],
             "repaired": [], "advice": "Every table is intact."}
        return d, "**lsp-agent doctor: healthy**"
    if cmd == "lspAgent.remember":
        label = a.get("block", "project")
        cur = state["blocks"].get(label, ["(empty)"])[-1]
        v = set_block(label, (cur + "\n" + a.get("text", "")).strip(), "user", "remember")
        return {"block": label, "version": v}, f"Remembered in `{label}` (v{v})."
    if cmd == "lspAgent.memory.show":
        bl = blocks_view(a.get("label"))
        return {"blocks": bl}, "\n\n".join(f"## {b['label']}\n\n{b['value']}" for b in bl)
    if cmd == "lspAgent.memory.edit":
        if "label" not in a or "value" not in a:
            raise InvalidParams("expected {label: str, value: str}")
        v = set_block(a["label"], a["value"], "user", a.get("reason", ""))
        return {"label": a["label"], "version": v}, f"Saved `{a['label']}` v{v}."
    if cmd == "lspAgent.memory.history":
        vs = state["history"].get(a.get("label"), [])
        return {"versions": vs}, "\n".join(f"- v{x['version']} {x['author']}: {x['reason']}" for x in vs) or "No history."
    if cmd == "lspAgent.memory.revert":
        label, ver = a["label"], int(a["version"])
        v = set_block(label, state["blocks"][label][ver], "user", f"revert to v{ver}")
        return {"label": label, "version": v}, f"Reverted `{label}` to v{ver}."
    if cmd == "lspAgent.search":
        if "query" not in a:
            raise InvalidParams("expected {query: str}")
        hits = [{"kind": "block", "id": "project", "title": "project", "snippet": state["blocks"]["project"][-1], "score": 1.0, "label": "project"}]
        if state["root"]:
            hits.append({"kind": "code", "id": "c1", "title": "main.py", "snippet": "def main", "score": 0.9,
                         "location": {"uri": "file://" + state["root"] + "/main.py", "range": {"start": {"line": 1, "character": 0}, "end": {"line": 2, "character": 0}}}})
        hits.append({"kind": "message", "id": "m1", "title": "earlier", "snippet": a["query"], "score": 0.5, "conversation_id": state["active"] or "x"})
        return {"results": hits}, "\n".join(f"- {h['title']}" for h in hits)
    if cmd == "lspAgent.init":
        return progress("Initializing", lambda: ({"blocks": list(state["blocks"]), "facts": 1, "indexed_files": 1}, "Initialized."))
    if cmd == "lspAgent.reflect":
        def refl():
            v = set_block("notes", "The e2e echo command prints hi (learned in reflection).", "reflection", "echo lesson")
            return {"changes": [{"block": "notes", "reason": "echo lesson", "version": v}]}, "- notes"
        return progress("Reflecting", refl)
    if cmd == "lspAgent.learnSkill":
        def learn():
            name = a.get("name", "skill")
            path = f"{state['root']}/.agents/skills/{name}/SKILL.md"
            uri = "file://" + path
            edit = {"documentChanges": [
                {"kind": "create", "uri": uri, "options": {"overwrite": False, "ignoreIfExists": True}},
                {"textDocument": {"uri": uri, "version": None}, "edits": [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "newText": "# Echo greeting\n"}]}]}
            res, _ = call_client("workspace/applyEdit", {"edit": edit, "label": "Learn skill"})
            return {"name": name, "path": path, "applied": bool(res and res.get("applied"))}, "Learned."
        return progress("Learning skill", learn)
    if cmd == "lspAgent.ask":
        if "prompt" not in a:
            raise InvalidParams("expected {prompt: str}")
        if not state["active"]:
            new_conv()
        cid = state["active"]

        def edit():
            uri = "file://" + state["root"] + "/main.py"
            res, _ = call_client("window/showMessageRequest", {"type": 2, "message": "lsp-agent wants to edit main.py", "actions": [{"title": "Allow"}, {"title": "Always allow"}, {"title": "Deny"}]})
            old = docs.get(uri) or open(state["root"] + "/main.py").read()
            lines = old.split("\n")
            rng = {"start": {"line": 0, "character": 0}, "end": {"line": len(lines) - 1, "character": len(lines[-1])}}
            call_client("workspace/applyEdit", {"edit": {"changes": {uri: [{"range": rng, "newText": old.replace("port 7070", "port 8080")}]}}})
            call_client("window/showMessageRequest", {"type": 2, "message": "lsp-agent wants to run shell command:\nsed", "actions": [{"title": "Allow"}, {"title": "Always allow"}, {"title": "Deny"}]})
            on_disk = "port 8080" in open(state["root"] + "/main.py").read()
            reply = "Edited." if on_disk else "not on disk"
            return {"reply": reply, "conversation_id": cid, "steps": 3, "usage": {}}, reply

        if "port" in a["prompt"]:
            return progress("Asking", edit)
        if a.get("context", {}).get("text"):
            reply = "It sums the line items."
            return progress("Asking", lambda: ({"reply": reply, "conversation_id": cid, "steps": 1, "usage": {}}, reply))

        def run():
            ws = state["root"]
            notify("lspAgent/event", {"workspace": ws, "conversation_id": cid, "type": "thinking", "text": "hmm"})
            notify("lspAgent/event", {"workspace": ws, "conversation_id": cid, "type": "tool_call", "text": "", "tool": "run_command", "arguments": {"command": "echo hi"}})
            res, _ = call_client("window/showMessageRequest", {"type": 2, "message": "lsp-agent wants to run shell command:\n" + ("echo hi" if "forbidden" not in a["prompt"] else "echo SHOULD_NOT_RUN"), "actions": [{"title": "Allow"}, {"title": "Always allow"}, {"title": "Deny"}]})
            allowed = isinstance(res, dict) and res.get("title") in ("Allow", "Always allow")
            notify("lspAgent/event", {"workspace": ws, "conversation_id": cid, "type": "tool_result", "tool": "run_command", "text": "hi" if allowed else "denied"})
            notify("lspAgent/event", {"workspace": ws, "conversation_id": cid, "type": "message", "text": "Done."})
            notify("lspAgent/event", {"workspace": ws, "conversation_id": cid, "type": "done", "text": ""})
            reply = "Done." if allowed else "Understood."
            return {"reply": reply, "conversation_id": cid, "steps": 2, "usage": {}}, reply
        return progress("Asking", run)
    if cmd == "lspAgent.index":
        return progress("Indexing", lambda: ({"index": {"files_indexed": 1}, "embedded": 0}, "Indexed."))
    if cmd == "lspAgent.memory.create":
        if "label" not in a:
            raise InvalidParams("expected {label: str}")
        if a["label"] in state["blocks"]:
            raise ValueError("block " + a["label"] + " exists")
        state["blocks"][a["label"]] = [a.get("value", "")]
        state["history"][a["label"]] = []
        state["meta"][a["label"]] = {"description": a.get("description", ""), "limit": a.get("limit", 5000),
                                     "read_only": bool(a.get("read_only")),
                                     "scope": "shared" if a.get("shared") else "agent"}
        return blocks_view(a["label"])[0], f"Block `{a['label']}` created."
    if cmd == "lspAgent.archival.insert":
        if not a.get("text"):
            raise InvalidParams("expected {text: str}")
        tags = a.get("tags") or []
        p = {"id": uuid.uuid4().hex[:12], "content": a["text"], "tags": tags if isinstance(tags, list) else [tags],
             "created_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "source": "user"}
        state["passages"].append(p)
        return dict(p, created=True), f"Inserted passage {p['id']}."
    if cmd == "lspAgent.archival.search":
        if "query" not in a:
            raise InvalidParams("expected {query: str}")
        words = a["query"].lower().split()
        rows = [dict(p, score=1.0) for p in state["passages"] if any(w in p["content"].lower() for w in words)]
        return {"results": rows}, "\n".join(f"- {p['id']}: {p['content']}" for p in rows) or "No passages match."
    if cmd == "lspAgent.archival.list":
        rows = list(reversed(state["passages"]))
        return {"passages": rows}, "\n".join(f"- {p['id']}: {p['content']}" for p in rows) or "No archival passages."
    if cmd == "lspAgent.archival.delete":
        p = next(p for p in state["passages"] if p["id"] == a.get("id"))
        res, _ = call_client("window/showMessageRequest", {"type": 2, "message": "lsp-agent wants to delete archival passage " + p["id"] + ":\n" + p["content"], "actions": [{"title": "Allow"}, {"title": "Always allow"}, {"title": "Deny"}]})
        if not (isinstance(res, dict) and res.get("title") in ("Allow", "Always allow")):
            raise ValueError("not deleted (not confirmed)")
        state["passages"].remove(p)
        return {"deleted": p}, f"Deleted passage {p['id']}."
    if cmd == "lspAgent.export":
        if a.get("format") not in ("agents-md", "claude-md"):
            raise InvalidParams("expected {format: 'agents-md' | 'claude-md'}")
        name = "AGENTS.md" if a["format"] == "agents-md" else "CLAUDE.md"
        text = "\n\n".join(f"## {k}\n\n{v[-1]}" for k, v in state["blocks"].items())
        if a.get("output") == "-":
            return {"format": a["format"], "path": "", "text": text, "written": False}, text
        path = a.get("output") or os.path.join(state["root"] or ".", name)
        with open(path, "w") as f:
            f.write(text)
        return {"format": a["format"], "path": path, "written": True}, f"Wrote {path}"
    if cmd == "lspAgent.conversation.new":
        return {"conversation": conv_view(new_conv(a.get("title")))}, "New conversation."
    if cmd == "lspAgent.conversation.list":
        return {"conversations": [conv_view(c) for c in state["conversations"]], "active": state["active"]}, \
            "\n".join(f"- {c['id']} {c['title']}" for c in state["conversations"]) or "No conversations."
    if cmd == "lspAgent.conversation.switch":
        state["active"] = a["id"]
        c = next(c for c in state["conversations"] if c["id"] == a["id"])
        return {"conversation": conv_view(c)}, "Switched."
    if cmd == "lspAgent.conversation.fork":
        src = a.get("id", state["active"])
        return {"conversation": conv_view(new_conv("fork of " + str(src)))}, "Forked."
    if cmd == "lspAgent.conversation.history":
        c = next((c for c in state["conversations"] if c["id"] == a.get("id", state["active"])), None)
        view = conv_view(c) if c else None
        return {"conversation": view, "messages": [], "has_more": False, "before": None}, "No messages yet."
    if cmd in ("lspAgent.conversation.rename", "lspAgent.conversation.delete"):
        c = next((c for c in state["conversations"] if c["id"] == a.get("id")), None)
        if c is None:
            raise InvalidParams("no conversation " + str(a.get("id")))
        if cmd.endswith("rename"):
            c["title"] = a.get("title", "")
            return {"conversation": conv_view(c)}, "Renamed."
        state["conversations"].remove(c)
        return {"deleted": conv_view(c)}, "Deleted."
    if cmd == "lspAgent.approve":
        raise InvalidParams("No approval '" + str(a.get("approval_id")) + "' is waiting")
    if cmd == "lspAgent.skills":
        return {"skills": []}, "No skills yet."
    if cmd == "lspAgent.anchors":
        return {"anchors": []}, "No memories are anchored to code yet."
    if cmd in ("lspAgent.anchor", "lspAgent.archival.show"):
        raise InvalidParams("no such memory " + str(a.get("id")))
    raise InvalidParams("unknown command " + cmd)


def code_actions(params):
    acts = []
    for title, kind in [("Remember this", "refactor.lspAgent.remember"), ("Ask the agent about this", "refactor.lspAgent.ask"),
                        ("Search memory for the symbol", "refactor.lspAgent.search")]:
        acts.append({"title": title, "kind": kind, "data": {"uri": params["textDocument"]["uri"], "range": params["range"], "kind": kind}})
    return acts


docs = {}


def resolve(action):
    d = action["data"]
    text = docs.get(d["uri"], "")
    lines = text.split("\n")
    r = d["range"]
    sel = "\n".join(lines[r["start"]["line"]:r["end"]["line"] + 1])
    if d["kind"].endswith("remember"):
        action["command"] = {"title": "Remember", "command": "lspAgent.remember", "arguments": [{"text": sel}]}
    elif d["kind"].endswith("search"):
        line = lines[r["start"]["line"]] if r["start"]["line"] < len(lines) else ""
        word = next((m.group(0) for m in re.finditer(r"[A-Za-z_]\w*", line)
                     if m.start() <= r["start"]["character"] <= m.end()), sel[:20])
        action["command"] = {"title": "Search", "command": "lspAgent.search", "arguments": [{"query": word}]}
    else:
        action["command"] = {"title": "Ask", "command": "lspAgent.ask", "arguments": [{"prompt": "Explain", "context": {"uri": d["uri"], "range": r, "text": sel}}]}
    return action


def handle(msg):
    method, mid, params = msg.get("method"), msg.get("id"), msg.get("params") or {}
    if method is None:
        return
    try:
        if method == "initialize":
            state["settings"] = params.get("initializationOptions") or {}
            folders = params.get("workspaceFolders") or []
            if folders:
                state["root"] = folders[0]["uri"][len("file://"):]
            result = {"capabilities": {
                "textDocumentSync": 1,
                "executeCommandProvider": {"commands": COMMANDS},
                "codeActionProvider": {"resolveProvider": True, "codeActionKinds": ["refactor.lspAgent"]},
            }, "serverInfo": {"name": "lsp-agent-mock", "version": "0"}}
        elif method in ("initialized", "workspace/didChangeConfiguration"):
            res, _ = call_client("workspace/configuration", {"items": [{"section": "lspAgent"}]})
            if res and isinstance(res[0], dict):
                state["settings"].update(res[0])
            if state["settings"].get("permissionMode", "ask") not in ("ask", "accept-edits", "auto"):
                notify("window/showMessage", {"type": 2, "message": "lsp-agent: Setting 'permissionMode' is invalid; using 'ask'."})
            return
        elif method == "shutdown":
            result = None
        elif method == "exit":
            sys.exit(0)
        elif method == "textDocument/didOpen":
            docs[params["textDocument"]["uri"]] = params["textDocument"]["text"]
            return
        elif method == "textDocument/didChange":
            docs[params["textDocument"]["uri"]] = params["contentChanges"][-1]["text"]
            return
        elif method == "textDocument/codeAction":
            result = code_actions(params)
        elif method == "codeAction/resolve":
            result = resolve(params)
        elif method == "workspace/executeCommand":
            args = (params.get("arguments") or [{}])
            args = args[0] if args else {}
            if not isinstance(args, dict):
                raise InvalidParams("argument must be an object")
            data, md = execute(params["command"], args)
            result = {"ok": True, "command": params["command"], "data": data, "markdown": md}
        elif mid is None:
            return
        else:
            send({"id": mid, "error": {"code": -32601, "message": "method not found: " + method}})
            return
    except Cancelled:
        send({"id": mid, "error": {"code": -32800, "message": "cancelled"}})
        return
    except InvalidParams as e:
        send({"id": mid, "error": {"code": -32602, "message": str(e)}})
        return
    except Exception as e:  # noqa: BLE001
        send({"id": mid, "error": {"code": -32803, "message": repr(e)}})
        return
    if mid is not None:
        send({"id": mid, "result": result})


def main():
    if "--version" in sys.argv:
        print("lsp-agent-mock 0.0")
        return
    while True:
        msg = backlog.pop(0) if backlog else read_msg()
        handle(msg)


if __name__ == "__main__":
    main()
