"""How each command's result reads: documents for `lsp_agent.render` (markdown or plain)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lsp_agent.render import Code, Doc, Fields, Heading, Item, Items, Para, Text, doc

if TYPE_CHECKING:
    from lsp_agent.service import (
        ConversationView,
        InitResult,
        ReflectResult,
        Remembered,
        Status,
    )
    from lsp_agent.service.conversations import ConversationPage
    from lsp_agent.service.results import DoctorReport, TeamStatus

Row = Mapping[str, object]


def reply(text: str) -> Text:
    return Text(text or "(no reply)")


def status_doc(st: Status) -> Doc:
    c = st.counts
    code = f"{c.get('code_chunks', 0)} chunks"
    if c.get("code_chunks"):
        done, total = c.get("code_chunks_embedded", 0), c["code_chunks"]
        code += f", {done} with vectors ({100 * done // total} %)"
        if st.embedding_in_background:
            code += ", embedding in the background"
        elif done < total:
            code += "; run `lsp-agent index --embed-only` (or open the editor) to finish"
    if st.skipped_files:
        parts = ", ".join(f"{n} {why}" for why, n in sorted(st.skipped_files.items(),
                                                            key=lambda kv: -kv[1]))
        code += f"; files left out: {parts}"
    elif c.get("code_files_secret"):
        code += f"; {c['code_files_secret']} files holding secrets not indexed"
    if st.redacted_files:
        code += f"; secrets redacted in {st.redacted_files} indexed files"
    rows = [("workspace", st.workspace), ("store", st.store),
            ("memory folder", st.memory_folder), ("embedder", st.embedder),
            ("code embedder", st.code_embedder or "same as memory"),
            ("model", st.model or "none configured (set LSP_AGENT_MODEL or --model)"),
            ("permission mode", st.permission_mode), ("state", st.state),
            ("conversation", st.active_conversation or "none yet"),
            ("memory", f"{c.get('blocks', 0)} blocks, {c.get('messages', 0)} messages in "
                       f"{c.get('conversations', 0)} conversations, "
                       f"{c.get('archival', 0)} archival passages"),
            ("skills", str(c.get("skills", 0))), ("code index", code)]
    if st.team is not None:
        rows[2:2] = _team_rows(st.team)
    out = doc(Heading("lsp-agent status"), Fields(tuple(rows)))
    if st.warnings:
        out.add(Items(tuple(Item(f"warning: {w}") for w in st.warnings)))
    return out


def _team_rows(team: TeamStatus) -> list[tuple[str, str]]:
    state = {True: "reachable", False: "unreachable", None: "not tried yet"}[team.reachable]
    rows = [("team store", f"{team.store} ({state})")]
    if team.error:
        rows.append(("team store error", team.error))
    queue = "empty" if not team.queued else (
        f"{team.queued} writes waiting since {team.oldest_queued[:19].replace('T', ' ')} UTC "
        "(replayed when the team store answers)")
    if team.set_aside:
        queue += (f"; {team.set_aside} refused by the store, kept in "
                  f"{team.queue_file.replace('queue.jsonl', 'queue.set-aside.jsonl')}")
    rows.append(("team queue", queue))
    return rows


def doctor_doc(got: DoctorReport) -> Doc:
    def line(t: object) -> str:
        name, state, detail, rows = (getattr(t, k) for k in ("name", "state", "detail", "rows"))
        if state == "intact":
            return f"intact ({rows} rows)"
        if state == "absent":
            return "not made yet"
        return f"{state}: {detail}" if detail else str(state)

    out = doc(Heading(f"lsp-agent doctor: {'healthy' if got.healthy else 'DAMAGED'}"),
              Fields((("store", got.store), *((t.name, line(t)) for t in got.tables))))
    if got.repaired:
        out.add(Items(tuple(Item(f"repaired: {r}") for r in got.repaired)))
    if got.team is not None:
        team = got.team
        pending = ", ".join(f"{n} {what}" for what, n in team.pending.items() if n) or (
            "nothing" if team.pending else "not known (the team store did not answer)")
        out.add(Fields((*_team_rows(team.status), ("team store pending", pending))))
        if team.repaired:
            out.add(Items(tuple(Item(f"repaired: {r}") for r in team.repaired)))
        if team.problem and team.problem != team.status.error:
            out.add(Para(team.problem))
    if got.scrubbed is not None:
        s = got.scrubbed
        rows = s.get("rows_redacted") or {}
        redacted = sum(rows.values()) if isinstance(rows, dict) else 0
        files = s.get("code_files_dropped") or []
        mirror = s.get("mirror_files") or []
        out.add(Para(f"{redacted} rows redacted, {len(files) if isinstance(files, list) else 0} "
                     f"code files dropped from the index, {s.get('versions_removed', 0)} old "
                     f"versions deleted, {len(mirror) if isinstance(mirror, list) else 0} "
                     "mirror files rewritten.", strong="Scrubbed:"))
    if got.memory:
        by_block: dict[str, list[str]] = {}
        for f in got.memory:  # `path:line:` as compilers print it (1-based), for editors
            by_block.setdefault(f.label, []).append(
                f"{f.path}:{f.line + 1}: {f.severity}: {f.message}")
        out.add(Para(f"{len(got.memory)} finding{'s' if len(got.memory) > 1 else ''} in "
                     f"{len(by_block)} block{'s' if len(by_block) > 1 else ''} (advice; "
                     "nothing was changed).", strong="Memory:"))
        for label, lines in by_block.items():  # verbatim lines: markdown would join them
            out.add(Para("", strong=f"{label}:"), Code("\n".join(lines)))
    else:
        out.add(Para("no findings in the mirror files.", strong="Memory:"))
    out.add(Para(got.advice))
    return out


def init_doc(name: str, got: InitResult) -> Doc:
    rows = [("facts", f"{got.facts} from the workspace files"),
            ("blocks updated", ", ".join(got.blocks) or "none (already current)"),
            ("code index", f"{got.indexed_files} files, {got.index.get('chunks_total', 0)} chunks")]
    if got.embedded_chunks is not None:
        rows.append(("embedded", f"{got.embedded_chunks} chunks"))
    if got.embedding_log:
        rows.append(("embedding", f"continues in the background (log: {got.embedding_log})"))
    out = doc(Heading(f"Initialised {name}"), Fields(tuple(rows)))
    if got.research:
        out.add(Text(got.research))
    return out


def init_summary(got: InitResult) -> str:
    """One line for the end of init's progress: what changed."""
    blocks = (f"blocks {', '.join(got.blocks)} updated" if got.blocks
              else "memory already current")
    code = f"{got.indexed_files} files indexed"
    later = "; vectors continue in the background" if got.embedded_chunks is None else ""
    return f"{blocks}; {code}{later}."


def remembered_doc(got: Remembered) -> Doc:
    if not got.changed:
        text = (f"Already in block '{got.block}' (version {got.version}); nothing changed."
                if got.block else "Nothing was stored.")
    else:
        text = f"Remembered in block '{got.block}' (version {got.version})."
    out = doc(Para(text))
    if got.reply:
        out.add(Text(got.reply))
    return out


def hits_doc(query: str, hits: Sequence[Row]) -> Doc:
    if not hits:
        return doc(Para(f"No results for “{query}”."))
    items = []
    for h in hits:
        where = ""
        loc = h.get("location")
        if isinstance(loc, Mapping):
            uri = str(loc.get("uri", "")).removeprefix("file://")
            start = loc.get("range", {}).get("start", {})  # type: ignore[union-attr]
            where = f"{uri}:{int(start.get('line', 0)) + 1}"
        snippet = str(h.get("snippet", "")).strip()
        snippet = "\n".join(snippet.splitlines()[:4])[:400]
        score = h.get("score")
        note = f"score {float(score):.3f}" if isinstance(score, int | float) else ""
        items.append(Item(f"[{h.get('kind')}] {h.get('title')}", where, snippet, note))
    return doc(Heading(f"Results for “{query}”"), Items(tuple(items), numbered=True))


def blocks_doc(blocks: Sequence[Row]) -> Doc:
    out = Doc()
    for b in blocks:
        flags = (", read-only" if b.get("read_only") else "") + (
            ", shared" if b.get("scope") == "shared" else
            ", team" if b.get("scope") == "team" else "")
        out.add(Heading(f"{b['label']} ({b['chars']}/{b['limit']} chars, v{b['version']}{flags})"),
                Para(str(b.get("description") or "")), Text(str(b.get("value") or "(empty)")))
    return out


def history_doc(label: str, versions: Sequence[Row]) -> Doc:
    """Newest first, each version with the unified diff of what it changed."""
    out = doc(Heading(f"History of {label}"))
    for v in reversed(versions):
        when = str(v.get("timestamp", ""))[:19].replace("T", " ")
        who = "@".join(str(v[k]) for k in ("user", "machine") if v.get(k))
        by = f"{v.get('author')} ({who})" if who else str(v.get("author"))
        out.add(Para(f"{when} by {by}: {v.get('reason')}",
                     strong=f"v{v.get('version')}"))
        diff = "\n".join(difflib.unified_diff(
            str(v.get("old") or "").splitlines(), str(v.get("new") or "").splitlines(),
            f"{label} v{int(str(v.get('version'))) - 1}", f"{label} v{v.get('version')}",
            lineterm="", n=1))
        out.add(Code(diff or "(no change in text)", "diff"))
    return out


def reflect_doc(got: ReflectResult) -> Doc:
    if not got.changes:
        return doc(Heading("Reflection"), Para(got.note or "Nothing to change."))
    return doc(Heading("Reflection"), Items(tuple(
        Item(str(c.get("block")), note=f"v{c.get('version')}", body=str(c.get("reason", "")))
        for c in got.changes)))


def passages_doc(rows: Sequence[Row], empty: str) -> Doc:
    if not rows:
        return doc(Para(empty))
    items = []
    for r in rows:
        tags = ", ".join(str(t) for t in r.get("tags") or [])  # type: ignore[attr-defined]
        score = r.get("score")
        note = f"score {score:.3f}" if isinstance(score, float) else ""
        when = str(r.get("created_at", ""))[:10]
        items.append(Item(str(r["id"])[:12], f"{when} [{tags}]" if tags else when,
                          str(r.get("content", "")), note))
    return doc(Items(tuple(items), numbered=True))


def conversation_doc(what: str, conv: ConversationView) -> Doc:
    return doc(Para(f"{conv.title or '(untitled)'} ({conv.id})", strong=f"{what}:"))


def conversations_doc(convs: Sequence[ConversationView]) -> Doc:
    if not convs:
        return doc(Para("No conversations yet; `lsp-agent ask` or `conversation new` starts one."))
    return doc(Heading("Conversations"), Items(tuple(
        Item(c.title or "(untitled)", c.id,
             note=f"{c.messages} messages" + (", active" if c.active else ""))
        for c in convs)))


def history_page_doc(page: ConversationPage) -> Doc:
    conv = page.conversation
    out = doc(Heading(f"{conv.title or '(untitled)'} ({conv.id})"))
    if not page.messages:
        return out.add(Para("No messages yet."))
    if page.has_more:
        out.add(Para(f"Older messages: --before {page.before}."))
    for m in page.messages:
        who = {"user": "You", "assistant": "Agent", "tool": f"Tool {m.get('name', '')}".strip(),
               "summary": "Summary"}.get(str(m["role"]), str(m["role"]))
        out.add(Para(str(m.get("content") or "(tool calls)"),
                     strong=f"{who}, {str(m['created_at'])[:16].replace('T', ' ')}:"))
    return out


def skills_doc(skills: Sequence[Row]) -> Doc:
    if not skills:
        return doc(Para("No skills yet; `lsp-agent learn-skill` distils one from a "
                        "conversation."))
    return doc(Heading("Skills"), Items(tuple(
        Item(str(s["name"]), str(s.get("path", "")), str(s.get("description", "")),
             note=str(s.get("source", ""))) for s in skills)))


def anchor_row(a: Any) -> dict[str, object]:
    """An anchored memory as the faces show it (docs/protocol.md `Anchor`)."""
    return {"id": a.id, "memory_kind": a.memory_kind, "memory_id": a.memory_id,
            "lesson": a.lesson, "path": a.path, "symbol": a.symbol,
            "start_line": a.start_line + 1, "end_line": a.end_line + 1, "state": a.state,
            "note": a.note, "author": a.author, "created_at": a.created_at.isoformat()}


def anchored_doc(a: Any, warnings: Sequence[str]) -> Doc:
    where = f"{a.path}:{a.start_line + 1}-{a.end_line + 1}" + (f" ({a.symbol})" if a.symbol
                                                               else "")
    out = doc(Para(f"Remembered at {where} (passage {a.memory_id}, anchor {a.id})."))
    for w in warnings:
        out.add(Para(w, strong="Note:"))
    return out


def anchors_doc(rows: Sequence[Any]) -> Doc:
    if not rows:
        return doc(Para("No memories are anchored to code yet; `lsp-agent remember TEXT --at "
                        "PATH:LINE` anchors one."))
    return doc(Heading("Anchored memories"), Items(tuple(
        Item(a.lesson, f"{a.path}:{a.start_line + 1}" + (f" {a.symbol}" if a.symbol else ""),
             a.note if a.state != "ok" else "",
             note=f"{a.id} · {a.state}" if a.state != "ok" else a.id) for a in rows)))
