"""The language server: LSP in, plain calls out. No business logic lives here.

Start-up imports only pygls and lsprotocol; the store, litellm and the embedder load on the
first command, in worker threads, so `initialize` is answered as fast as a bare server's.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as T
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcRequestCancelled
from pygls.lsp.server import LanguageServer

from lsp_agent import __version__
from lsp_agent.commands import COMMANDS
from lsp_agent.errors import LSP_INVALID_PARAMS
from lsp_agent.server.documents import path_of
from lsp_agent.server.protocol import AgentProtocol, strict_converter
from lsp_agent.server.transport import FramedTransport

if TYPE_CHECKING:
    from lsp_agent.service import Workspaces

log = logging.getLogger(__name__)

CODE_ACTION_KIND = "refactor.lspAgent"


class JsonRpcRequestFailed(JsonRpcException):
    CODE = -32803
    MESSAGE = "Request failed"


class AgentServer(FramedTransport, LanguageServer):
    protocol: AgentProtocol

    def __init__(self) -> None:
        super().__init__("lsp-agent", __version__,
                         text_document_sync_kind=T.TextDocumentSyncKind.Incremental,
                         protocol_cls=AgentProtocol, converter_factory=strict_converter)
        self.raw_init_options: dict[str, Any] = {}
        self.raw_config: dict[str, Any] | None = None
        self._agents: Workspaces | None = None
        self._host: Any = None

    @property
    def host(self) -> Any:
        if self._host is None:
            from lsp_agent.server.host import LspToolHost

            self._host = LspToolHost(self)
        return self._host

    @property
    def agents(self) -> Workspaces:
        if self._agents is None:
            from lsp_agent.service import Workspaces

            self._agents = Workspaces(self.settings_for, self.host)
        return self._agents

    def settings_for(self, _workspace: Path) -> Any:
        from lsp_agent.config import parse_settings

        settings, warnings = parse_settings(self.raw_init_options, self.raw_config)
        for w in warnings:
            self.show(w, T.MessageType.Warning)
        return settings

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A client's late answer to a request we already cancelled (an approval asked during
        a cancelled turn) is expected, not an error to show the user."""
        import concurrent.futures

        if isinstance(error, (concurrent.futures.InvalidStateError, asyncio.InvalidStateError)):
            log.debug("late reply to a cancelled request ignored: %s", error)
            return
        super().report_server_error(error, source)

    def show(self, message: str, kind: T.MessageType = T.MessageType.Info) -> None:
        self.window_show_message(T.ShowMessageParams(type=kind, message=f"lsp-agent: {message}"))

    def event(self, payload: dict[str, Any]) -> None:
        self.protocol.notify("lspAgent/event", payload)

    def workspace_for(self, workspace: str | None, uri: str | None) -> Path:
        """The folder a command is about: explicit, the folder holding `uri`, or the first one."""
        folders = [uri_to_path(f.uri) for f in (self.workspace.folders or {}).values()]
        if not folders and self.workspace.root_uri:
            folders = [uri_to_path(self.workspace.root_uri)]
        if workspace:
            path = uri_to_path(workspace)
            try:
                is_dir = path.is_dir()
            except OSError:  # a name too long for the file system, say
                is_dir = False
            if not is_dir:
                raise ValueError(f"workspace '{workspace[:200]}' is not a folder: pass an "
                                 "open folder's path or URI")
            return path
        if uri:
            target = uri_to_path(uri)
            for folder in sorted(folders, key=lambda p: -len(str(p))):
                if target == folder or folder in target.parents:
                    return folder
        if folders:
            return folders[0]
        raise ValueError("No workspace folder is open: open a folder, or pass `workspace`.")


def uri_to_path(uri: str) -> Path:
    """A workspace given as a `file:` URI or as a plain path."""
    return path_of(uri) or Path(uri).expanduser().resolve()


server = AgentServer()


@server.feature(T.INITIALIZE)
def on_initialize(ls: AgentServer, params: T.InitializeParams) -> None:
    opts = params.initialization_options
    if isinstance(opts, dict):
        ls.raw_init_options = opts.get("lspAgent", opts)
    elif opts is not None:
        ls.raw_init_options = {"__invalid__": opts}


@server.feature(T.INITIALIZED)
async def on_initialized(ls: AgentServer, _params: T.InitializedParams) -> None:
    await refresh_configuration(ls)
    # validate now (in a worker: pydantic is not imported during initialize) so bad settings
    # are reported at once, with the defaults that replace them
    await asyncio.to_thread(ls.settings_for, Path("."))
    from lsp_agent.server.code_memory import warm_up

    warm_up(ls)


@server.feature(T.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def on_config_change(ls: AgentServer, params: T.DidChangeConfigurationParams) -> None:
    settings = params.settings
    if isinstance(settings, dict) and isinstance(settings.get("lspAgent"), dict):
        ls.raw_config = settings["lspAgent"]
    else:
        await refresh_configuration(ls)
    if ls._agents is not None:
        await asyncio.to_thread(ls.agents.update_settings)


async def refresh_configuration(ls: AgentServer) -> None:
    caps = ls.client_capabilities
    if not (caps and caps.workspace and caps.workspace.configuration):
        return
    try:
        result = await ls.workspace_configuration_async(
            T.ConfigurationParams(items=[T.ConfigurationItem(section="lspAgent")]))
    except Exception as exc:  # noqa: BLE001 - no configuration: defaults and init options
        log.info("workspace/configuration failed: %s", exc)
        return
    if result and isinstance(result[0], dict):
        ls.raw_config = result[0]
    elif result and result[0] not in (None, {}):
        ls.show(f"the lspAgent settings must be an object, got {result[0]!r}; using defaults.",
                T.MessageType.Warning)


def _link_cancellation(ls: AgentServer) -> None:
    """Let `$/cancelRequest` (which cancels only pygls's outer request future) stop the work."""
    task = asyncio.current_task()
    msg_id = ls.protocol._ctx_msg_id.get(None)
    outer = ls.protocol._request_futures.get(msg_id) if msg_id is not None else None
    if task is None or outer is None or outer is task:
        return
    loop = asyncio.get_running_loop()

    def on_done(fut: Any) -> None:
        if fut.cancelled() and not task.done():
            loop.call_soon_threadsafe(task.cancel)

    outer.add_done_callback(on_done)


def _make_command(name: str) -> Any:
    async def handler(ls: AgentServer, *args: Any) -> Any:
        from lsp_agent.errors import as_user_error
        from lsp_agent.server.commands import run_command

        _link_cancellation(ls)
        try:
            return await run_command(ls, name, args)
        except JsonRpcException:
            raise
        except asyncio.CancelledError:
            # pygls runs commands as an inner task whose cancellation it never answers:
            # turn it into the LSP error so the client always gets a reply
            raise JsonRpcRequestCancelled(f"{name} was cancelled.") from None
        except Exception as exc:  # noqa: BLE001 - the server keeps serving whatever happens
            error = as_user_error(exc)
            if error is None:
                log.exception("command %s failed", name)
                raise JsonRpcRequestFailed(
                    f"{name}: internal error: {type(exc).__name__}: {exc}") from exc
            data = {"kind": error.machine_name, "exit_code": error.exit_code}  # editors' own advice
            if error.lsp_code == LSP_INVALID_PARAMS:
                raise JsonRpcInvalidParams(f"{name}: {error}", data=data) from exc
            raise JsonRpcRequestFailed(f"{name}: {error}", data=data) from exc

    handler.__name__ = name.replace(".", "_")
    return handler


for _command in COMMANDS:
    server.command(_command.lsp_name)(_make_command(_command.lsp_name))


@server.feature(T.TEXT_DOCUMENT_CODE_ACTION,
                T.CodeActionOptions(code_action_kinds=[T.CodeActionKind.Refactor,
                                                       T.CodeActionKind.QuickFix],
                                    resolve_provider=True))
def on_code_action(ls: AgentServer, params: T.CodeActionParams) -> list[T.CodeAction]:
    from lsp_agent.server.code_actions import code_actions
    from lsp_agent.server.code_memory import quick_fixes

    return quick_fixes(params) + code_actions(ls, params)


# memory at the code: answered in a worker thread (a parse or a search never holds up the
# other requests); they read only the anchor cache and the open document


@server.feature(T.TEXT_DOCUMENT_HOVER)
async def on_hover(ls: AgentServer, params: T.HoverParams) -> T.Hover | None:
    from lsp_agent.server.code_memory import hover

    return await asyncio.to_thread(hover, ls, params)


@server.feature(T.TEXT_DOCUMENT_CODE_LENS, T.CodeLensOptions(resolve_provider=False))
async def on_code_lens(ls: AgentServer, params: T.CodeLensParams) -> list[T.CodeLens]:
    from lsp_agent.server.code_memory import code_lenses

    return await asyncio.to_thread(code_lenses, ls, params)


@server.feature(T.TEXT_DOCUMENT_DIAGNOSTIC,
                T.DiagnosticOptions(identifier="lsp-agent", inter_file_dependencies=False,
                                    workspace_diagnostics=False))
async def on_diagnostic(ls: AgentServer, params: T.DocumentDiagnosticParams) -> Any:
    from lsp_agent.server.code_memory import pull_diagnostics

    return await asyncio.to_thread(pull_diagnostics, ls, params)


@server.feature(T.TEXT_DOCUMENT_DID_OPEN)
async def on_did_open(ls: AgentServer, params: T.DidOpenTextDocumentParams) -> None:
    from lsp_agent.server.code_memory import opened

    await opened(ls, params.text_document.uri)


_ALL_FILES = T.FileOperationRegistrationOptions(filters=[T.FileOperationFilter(
    pattern=T.FileOperationPattern(glob="**/*"))])


@server.feature(T.WORKSPACE_DID_RENAME_FILES, _ALL_FILES)
async def on_did_rename(ls: AgentServer, params: T.RenameFilesParams) -> None:
    from lsp_agent.server.code_memory import renamed

    await renamed(ls, params)
    await files_changed(ls, [u for f in params.files for u in (f.old_uri, f.new_uri)])


@server.feature(T.WORKSPACE_DID_DELETE_FILES, _ALL_FILES)
async def on_did_delete(ls: AgentServer, params: T.DeleteFilesParams) -> None:
    await files_changed(ls, [f.uri for f in params.files])


@server.feature(T.CODE_ACTION_RESOLVE)
def on_code_action_resolve(ls: AgentServer, action: T.CodeAction) -> T.CodeAction:
    from lsp_agent.server.code_actions import resolve

    return resolve(ls, action)


@server.feature(T.TEXT_DOCUMENT_DID_SAVE)
async def on_did_save(ls: AgentServer, params: T.DidSaveTextDocumentParams) -> None:
    await files_changed(ls, [params.text_document.uri])


@server.feature(T.WORKSPACE_DID_CHANGE_WATCHED_FILES)
async def on_watched(ls: AgentServer, params: T.DidChangeWatchedFilesParams) -> None:
    await files_changed(ls, [c.uri for c in params.changes])


async def files_changed(ls: AgentServer, uris: list[str]) -> None:
    """Keep each open workspace's code index current after saves, renames and deletions."""
    if ls._agents is None:
        return
    by_service: dict[Any, list[Path]] = {}
    for uri in uris:
        path = uri_to_path(uri)
        service = ls.agents.owner_of(path)
        if service is not None:
            by_service.setdefault(service, []).append(path)
    for service, paths in by_service.items():
        await service.files_changed(paths)
    if by_service:
        from lsp_agent.server.code_memory import saved

        await saved(ls, uris)


@server.feature(T.SHUTDOWN)
def on_shutdown(ls: AgentServer, _params: Any) -> None:
    if ls._agents is not None:
        ls._agents.close()


def serve(tcp: str | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if tcp:
        host, _, port = tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    if server.protocol.exit_code:  # `exit` without `shutdown`: the spec's exit code 1
        raise SystemExit(server.protocol.exit_code)
