"""Memory at the code, in standard LSP: hover, code lens, diagnostics (pulled, or pushed to
clients that cannot pull) with quick fixes, and anchors following saves, renames, deletions.

Only translation lives here: what to show comes from the workspace's `AgentService`. A
workspace whose service is not open yet shows nothing; opening a file of a workspace that
already has a store opens it in the background, then asks the client to refresh.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as T

from lsp_agent.server.documents import is_open, path_of, text_of

if TYPE_CHECKING:
    from lsp_agent.server.app import AgentServer
    from lsp_agent.service import AgentService

log = logging.getLogger(__name__)
SOURCE = "lsp-agent"
_opening: dict[Path, asyncio.Task[Any]] = {}


def service_of(ls: AgentServer, uri: str) -> tuple[AgentService, Path] | None:
    path = path_of(uri)
    if path is None or ls._agents is None:
        return None
    service = ls.agents.owner_of(path)
    if service is None:  # a memory mirror file lives in the agent's folder, not the workspace
        service = next((s for s in ls.agents.services()
                        if Path(s.memory.memory_folder).resolve() == path.parent), None)
    return (service, path) if service is not None else None


def hover(ls: AgentServer, params: T.HoverParams) -> T.Hover | None:
    found = service_of(ls, params.text_document.uri)
    text = text_of(ls, params.text_document.uri)
    if found is None or text is None:
        return None
    service, path = found
    markdown = service.hover_at(path, text, params.position.line)
    if markdown is None:
        return None
    return T.Hover(contents=T.MarkupContent(kind=T.MarkupKind.Markdown, value=markdown))


def code_lenses(ls: AgentServer, params: T.CodeLensParams) -> list[T.CodeLens]:
    found = service_of(ls, params.text_document.uri)
    text = text_of(ls, params.text_document.uri)
    if found is None or text is None:
        return []
    service, path = found
    return [T.CodeLens(range=_line(lens["line"]), command=T.Command(
        title=lens["title"], command=lens["command"], arguments=lens["arguments"]))
        for lens in service.code_lenses(path, text)]


def diagnostics(ls: AgentServer, uri: str) -> list[T.Diagnostic]:
    found = service_of(ls, uri)
    text = text_of(ls, uri)
    if found is None or text is None:
        return []
    service, path = found
    out = [T.Diagnostic(range=T.Range(start=T.Position(line=d["line"], character=0),
                                      end=T.Position(line=d["end_line"] + 1, character=0)),
                        message=d["message"], severity=T.DiagnosticSeverity.Information,
                        source=SOURCE, code=f"{d['state']}-memory",
                        data={"anchor_id": d["anchor_id"]})
           for d in service.anchor_diagnostics(path, text)]
    findings = getattr(service, "memory_findings", None)  # the memory doctor, on mirror files
    if findings is not None and path.suffix == ".md":
        severity = {"error": T.DiagnosticSeverity.Error, "warning": T.DiagnosticSeverity.Warning}
        try:
            for f in findings(path, text):
                f = f if isinstance(f, dict) else f.model_dump()
                out.append(T.Diagnostic(
                    range=T.Range(start=T.Position(line=f["line"], character=0),
                                  end=T.Position(line=int(f.get("end_line") or f["line"]) + 1,
                                                 character=0)),
                    message=f["message"], source=SOURCE, code=f["code"],
                    severity=severity.get(f["severity"], T.DiagnosticSeverity.Information)))
        except Exception:  # noqa: BLE001 - advice only: never fail the request over it
            log.exception("memory doctor failed on %s", path)
    return out


def pull_diagnostics(ls: AgentServer, params: T.DocumentDiagnosticParams) -> Any:
    return T.RelatedFullDocumentDiagnosticReport(items=diagnostics(ls, params.text_document.uri))


def pulls(ls: AgentServer) -> bool:
    caps = ls.client_capabilities
    return bool(caps and caps.text_document and caps.text_document.diagnostic)


def shows_memory(ls: AgentServer, uris: list[str]) -> bool:
    """Whether any of these open files has (or had) anchored memories or is a memory mirror
    file: only then is there anything for the editor to refresh."""
    for uri in uris:
        if not is_open(ls, uri):
            continue
        found = service_of(ls, uri)
        if found is None:
            continue
        service, path = found
        rel = service.relative(path)
        if path.parent == Path(service.memory.memory_folder).resolve() or (
                rel is not None and service.anchors.for_path(rel, live=False)):
            return True
    return False


def publish(ls: AgentServer, uris: list[str]) -> None:
    """Push diagnostics to a client that cannot pull; ask a pulling client to pull again."""
    if not shows_memory(ls, uris):
        return
    if pulls(ls):
        caps = ls.client_capabilities
        ws = caps.workspace if caps else None
        if ws and ws.diagnostics and ws.diagnostics.refresh_support:
            ls.workspace_diagnostic_refresh(None)
    else:
        for uri in uris:
            if is_open(ls, uri):
                ls.text_document_publish_diagnostics(T.PublishDiagnosticsParams(
                    uri=uri, diagnostics=diagnostics(ls, uri)))
    caps = ls.client_capabilities
    ws = caps.workspace if caps else None
    if ws and ws.code_lens and ws.code_lens.refresh_support:
        ls.workspace_code_lens_refresh(None)


async def opened(ls: AgentServer, uri: str) -> None:
    """A file was opened: show its memories, opening its workspace's store if it has one."""
    if service_of(ls, uri) is None:
        path = path_of(uri)
        if path is None:
            return
        workspace = ls.workspace_for(None, uri)
        if not _has_store(ls, workspace):
            return
        task = _opening.get(workspace)
        if task is None:
            task = _opening[workspace] = asyncio.ensure_future(_open(ls, workspace))
        await task
        if service_of(ls, uri) is None:
            return
    publish(ls, [uri])


def warm_up(ls: AgentServer) -> None:
    """After `initialized`: open, in the background, the agent of each folder that already
    has a store, so the first command, hover or chat view does not wait 1.5-6 s for it."""
    folders = [path_of(f.uri) for f in (ls.workspace.folders or {}).values()]
    for folder in folders:
        if folder is not None and folder not in _opening and _has_store(ls, folder):
            _opening[folder] = asyncio.ensure_future(_open(ls, folder))


async def _open(ls: AgentServer, folder: Path) -> None:
    try:
        service = await asyncio.to_thread(ls.agents.get, folder)
        # the anchors and the memory doctor's first check read tables: now, not in a request
        await asyncio.to_thread(service.anchors.all)
        await asyncio.to_thread(service.memory_findings)
    except Exception as exc:  # noqa: BLE001 - the first command says what is wrong
        log.info("could not open %s in the background: %s", folder, exc)


def _has_store(ls: AgentServer, workspace: Path) -> bool:
    from lsp_agent.paths import default_store_uri, is_local_uri, local_path

    settings = ls.settings_for(workspace)
    uri = settings.store or default_store_uri(workspace)
    return not is_local_uri(uri) or local_path(uri).exists()


async def saved(ls: AgentServer, uris: list[str]) -> None:
    """Files changed on disk (saves, a branch switch): anchors follow, views refresh."""
    by_service: dict[Any, list[Path]] = {}
    for uri in uris:
        found = service_of(ls, uri)
        if found is not None:
            by_service.setdefault(found[0], []).append(found[1])
    for service, paths in by_service.items():
        await asyncio.to_thread(service.follow, paths)
    if by_service:
        publish(ls, uris)


async def renamed(ls: AgentServer, params: T.RenameFilesParams) -> None:
    pairs: dict[Any, list[tuple[Path, Path]]] = {}
    for f in params.files:
        found, new = service_of(ls, f.old_uri), path_of(f.new_uri)
        if found is not None and new is not None:
            pairs.setdefault(found[0], []).append((found[1], new))
    for service, moved in pairs.items():
        await asyncio.to_thread(service.renamed, moved)
    if pairs:
        publish(ls, [f.new_uri for f in params.files])


def quick_fixes(params: T.CodeActionParams) -> list[T.CodeAction]:
    """Re-anchor here, forget, keep as is, ask the agent: for each stale-memory diagnostic.
    Like every action here they carry `data` only; `codeAction/resolve` adds the command."""
    actions: list[T.CodeAction] = []
    uri = params.text_document.uri
    for diag in params.context.diagnostics or []:
        raw: Any = diag.data
        data = raw._asdict() if hasattr(raw, "_asdict") else raw
        data = data if isinstance(data, dict) else {}
        anchor_id = data.get("anchor_id")
        if diag.source != SOURCE or not isinstance(anchor_id, str):
            continue
        first, last = diag.range.start.line, max(diag.range.start.line, diag.range.end.line - 1)
        for title, action in (("Re-anchor this memory here", "reanchor"),
                              ("Forget this memory", "forget"),
                              ("Keep this memory as is", "keep"),
                              ("Ask the agent to re-verify this memory", "verify")):
            actions.append(T.CodeAction(
                title=title, kind=T.CodeActionKind.QuickFix, diagnostics=[diag],
                data={"action": "memory", "do": action, "uri": uri, "id": anchor_id,
                      "lines": [first, last], "message": diag.message}))
    return actions


def resolve_fix(data: dict[str, Any]) -> T.Command:
    """The command a picked quick fix runs."""
    uri, do = str(data["uri"]), data.get("do")
    first, last = (list(data.get("lines") or [0, 0]) + [0, 0])[:2]
    if do == "verify":
        prompt = ("This memory may be stale; check the code here and tell me whether it still "
                  f"holds, then update or forget it: {data.get('message', '')}")
        return T.Command(title="Ask the agent", command="lspAgent.ask", arguments=[{
            "uri": uri, "prompt": prompt, "context": {"uri": uri, "range": {
                "start": {"line": first, "character": 0},
                "end": {"line": last, "character": 0}}}}])
    args: dict[str, Any] = {"uri": uri, "id": str(data["id"]), "action": do}
    if do == "reanchor":
        args["at"] = f"{path_of(uri)}:{int(first) + 1}-{int(last) + 1}"
    return T.Command(title=str(do), command="lspAgent.anchor", arguments=[args])


def _line(line: int) -> T.Range:
    return T.Range(start=T.Position(line=line, character=0),
                   end=T.Position(line=line, character=0))
