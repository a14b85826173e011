"""Code actions on a selection or a diagnostic. Listing them is cheap (titles and `data` only);
the work happens in `codeAction/resolve`, which attaches the command to run."""

from __future__ import annotations

import re
from typing import Any

from lsprotocol import types as T
from pygls.exceptions import JsonRpcInvalidParams

from lsp_agent.server.documents import path_of, text_of

KIND = "refactor.lspAgent"
# words that declare a symbol: on `def greet(` the search is for `greet`, not `def`
DECLARING = frozenset(
    "def class async await lambda return import from fn func function pub impl struct enum "
    "trait type interface const let var val static public private protected export default "
    "package module namespace new".split())


def _selection(ls: Any, params: T.CodeActionParams) -> tuple[str, str]:
    """(selected text, symbol under the cursor) of the request's range."""
    # only documents the editor opened: reading any URI from disk could be /dev/zero
    source = text_of(ls, params.text_document.uri)
    lines = source.splitlines(keepends=True) if source is not None else []
    r = params.range
    if r.start == r.end:
        line = lines[r.start.line] if r.start.line < len(lines) else ""
        text = ""
    else:
        chunk = lines[r.start.line : r.end.line + 1]
        if chunk:
            chunk = list(chunk)
            chunk[-1] = chunk[-1][: r.end.character] if r.start.line != r.end.line else chunk[-1]
            if r.start.line == r.end.line:
                chunk[0] = chunk[0][r.start.character : r.end.character]
            else:
                chunk[0] = chunk[0][r.start.character :]
        text = "".join(chunk).strip()
        line = text
    word = ""
    if r.start.line < len(lines):
        current = lines[r.start.line]
        words = list(re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", current))
        for i, m in enumerate(words):
            if m.start() <= r.start.character <= m.end():
                after = (w.group(0) for w in words[i:] if w.group(0) not in DECLARING)
                word = next(after, "")
                break
    first = next((ln.strip() for ln in line.split("\n") if ln.strip()), "")
    symbol = text if text and len(text) < 60 and "\n" not in text else word or first[:60]
    return text, symbol


def code_actions(ls: Any, params: T.CodeActionParams) -> list[T.CodeAction]:
    uri = params.text_document.uri
    text, symbol = _selection(ls, params)
    diags = [d.message for d in params.context.diagnostics or []]
    base = {"uri": uri, "range": {"start": {"line": params.range.start.line,
                                            "character": params.range.start.character},
                                  "end": {"line": params.range.end.line,
                                          "character": params.range.end.character}}}
    actions = []
    if text or diags:
        actions.append(("Remember this", "remember", {**base, "text": text or "; ".join(diags)}))
    actions.append(("Ask the agent about this", "ask", {**base, "text": text, "diagnostics": diags}))
    if symbol:
        actions.append((f"Search memory for {symbol}", "search", {**base, "symbol": symbol}))
    actions.append(("Learn a skill from this conversation", "learnSkill", base))
    return [T.CodeAction(title=title, kind=f"{KIND}.{action}", data={"action": action, **data})
            for title, action, data in actions]


def resolve(ls: Any, action: T.CodeAction) -> T.CodeAction:
    data = action.data if isinstance(action.data, dict) else {}
    kind = data.get("action")
    uri = data.get("uri")
    needs = {"remember": "text", "search": "symbol"}.get(kind) if isinstance(kind, str) else None
    if kind in ("remember", "ask", "search", "learnSkill") and not (
            isinstance(uri, str) and (needs is None or isinstance(data.get(needs), str))):
        raise JsonRpcInvalidParams(
            f"codeAction/resolve: the action's data is incomplete (a string `uri`"
            f"{f' and `{needs}`' if needs else ''} is needed): ask for the code actions again.")
    if kind == "memory" and isinstance(uri, str) and isinstance(data.get("id"), str):
        from lsp_agent.server.code_memory import resolve_fix

        action.command = resolve_fix(data)
        return action
    if kind == "remember":
        args = {"uri": uri, "text": data["text"]}
        rng = data.get("range") if isinstance(data.get("range"), dict) else None
        if rng and str(uri).startswith("file:"):  # the lesson is about this code: anchor it there
            first = int(rng.get("start", {}).get("line", 0))
            last = int(rng.get("end", {}).get("line", first))
            if last > first and int(rng.get("end", {}).get("character", 1)) == 0:
                last -= 1  # a selection ending at the start of a line does not hold that line
            where = f"{first + 1}" if last == first else f"{first + 1}-{last + 1}"
            args["at"] = f"{path_of(str(uri))}:{where}"
        cmd = T.Command(title="Remember this", command="lspAgent.remember", arguments=[args])
    elif kind == "ask":
        question = "Explain this code and anything I should know about it."
        diagnostics = data.get("diagnostics")
        if isinstance(diagnostics, list) and diagnostics:
            question = "How do I fix this problem: " + "; ".join(map(str, diagnostics))
        cmd = T.Command(title="Ask the agent", command="lspAgent.ask", arguments=[{
            "uri": uri, "prompt": question,
            "context": {"uri": uri, "range": data.get("range"), "text": data.get("text", "")}}])
    elif kind == "search":
        cmd = T.Command(title="Search memory", command="lspAgent.search", arguments=[{"uri": uri, "query": data["symbol"]}])
    elif kind == "learnSkill":
        cmd = T.Command(title="Learn a skill", command="lspAgent.learnSkill", arguments=[{"uri": uri}])
    else:
        return action
    action.command = cmd
    return action
