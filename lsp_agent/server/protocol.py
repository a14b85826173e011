"""Every request gets an answer: the checks pygls leaves out, before its dispatch.

pygls 2.1.1 parses a body and dispatches it in one step, and when either fails it logs a
traceback and drops the message, so a client waits forever. `AgentProtocol.handle_frame` does
the JSON-RPC and LSP lifecycle checks first and answers what it refuses (-32700 parse error,
-32600 invalid request, -32601 unknown method, -32602 bad params, -32002 not initialized),
then hands a well-formed message to pygls unchanged.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import cattrs
from lsprotocol import types as T
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    LanguageServerProtocol,
    default_converter,
    lsp_method,
)

from lsp_agent.server.framing import INVALID_REQUEST, PARSE_ERROR, Frame, find_id

log = logging.getLogger(__name__)

METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
SERVER_NOT_INITIALIZED = -32002
_MESSAGE_KEYS = ("jsonrpc", "id", "method", "params")


def _strict(value: Any, kind: type) -> Any:
    """cattrs turns 5 into "5" and True into 1; a client sending those has a bug to hear of.
    `kind` may be a subclass (a str or int enum of lsprotocol): checked, then built."""
    base = next(b for b in (bool, int, float, str) if issubclass(kind, b))
    if base is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif base is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, base)
    if not ok:
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value if kind is base else kind(value)


def strict_converter() -> cattrs.Converter:
    """pygls's converter, but primitives must already have the right JSON type."""
    converter = default_converter()
    for kind in (str, int, float, bool):
        converter.register_structure_hook(kind, _strict)
    return converter


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _problems(exc: Exception) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        lines = [line.replace("@ .", "@ ") for line in cattrs.transform_error(exc, path="")]
        return "; ".join(lines[:5]) + (f" (and {len(lines) - 5} more)" if len(lines) > 5 else "")
    return f"{type(exc).__name__}: {exc}"


class AgentProtocol(LanguageServerProtocol):
    """The language server protocol, checked before pygls dispatches it."""

    def __init__(self, server: Any, converter: Any) -> None:
        super().__init__(server, converter)
        self.initialized = False  # an initialize request was accepted
        self.exit_code: int | None = None  # set by `exit`: 0 after shutdown, else 1

    def reply_error(self, msg_id: Any, code: int, message: str) -> None:
        log.info("answering %r with %s: %s", msg_id, code, message)
        self._send_data({"jsonrpc": "2.0", "id": msg_id,
                         "error": {"code": code, "message": message}})

    def handle_frame(self, frame: Frame) -> None:
        """One framed body from the client: answer it, whatever it holds."""
        if frame.error is not None:
            log.warning("bad message framing: %s", frame.error)
            msg_id = find_id(frame.body, loose=True) if frame.body else None
            self.reply_error(msg_id, frame.code, f"Parse error: {frame.error}."
                             if frame.code == PARSE_ERROR else f"Invalid request: {frame.error}.")
            return
        try:
            data = json.loads(frame.body)
        except RecursionError:
            self.reply_error(find_id(frame.body), PARSE_ERROR,
                             "Parse error: the message is nested too deeply to read.")
            return
        except ValueError as exc:  # includes invalid UTF-8
            self.reply_error(find_id(frame.body), PARSE_ERROR,
                             f"Parse error: the message is not JSON in UTF-8 ({exc}).")
            return
        if isinstance(data, list):
            self._refuse_batch(data)
        elif not isinstance(data, dict):
            self.reply_error(None, INVALID_REQUEST,
                             f"Invalid request: expected a JSON object, got {type(data).__name__}.")
        elif "method" not in data and ("result" in data or "error" in data):
            self._client_response(data)
        else:
            self._client_message(data)

    def _refuse_batch(self, items: list[Any]) -> None:
        ids = [item["id"] for item in items
               if isinstance(item, dict) and "method" in item and _valid_id(item.get("id"))]
        for msg_id in ids or [None]:
            self.reply_error(msg_id, INVALID_REQUEST, "Invalid request: LSP has no batches "
                             "(JSON arrays): send each message on its own.")

    def _client_message(self, data: dict[str, Any]) -> None:
        """A request or notification: refuse it with a reason, or dispatch it."""
        is_request = "id" in data
        msg_id = data.get("id") if _valid_id(data.get("id")) else None
        method = data.get("method")
        problem = None
        if data.get("jsonrpc") != "2.0":
            problem = 'the message must have "jsonrpc": "2.0"'
        elif is_request and msg_id is None:
            problem = "the id must be an integer or a string"
        elif not isinstance(method, str):
            problem = "the method must be a string"
        elif data.get("params") is not None and not isinstance(data["params"], (dict, list)):
            problem = "params must be an object or an array"
        if problem:
            self.reply_error(msg_id, INVALID_REQUEST, f"Invalid request: {problem}.")
            return
        assert isinstance(method, str)
        if method == T.EXIT and not is_request:
            self._exit()
        elif refusal := self._lifecycle(method, is_request):
            code, message = refusal
            if is_request:
                self.reply_error(msg_id, code, message)
            else:
                log.info("notification %s dropped: %s", method, message)
        elif method == T.CANCEL_REQUEST and not (
                isinstance(data.get("params"), dict) and _valid_id(data["params"].get("id"))):
            log.warning("$/cancelRequest dropped: its params need an integer or string id")
        elif (method not in self.fm.builtin_features and method not in self.fm.features
              and method != T.CANCEL_REQUEST):
            if is_request:
                self.reply_error(msg_id, METHOD_NOT_FOUND, f"Method not found: {method}.")
        else:
            self._dispatch(data, method, is_request, msg_id)

    def _lifecycle(self, method: str, is_request: bool) -> tuple[int, str] | None:
        if not self.initialized and method != T.INITIALIZE:
            return SERVER_NOT_INITIALIZED, (
                f"{method}: the server is not initialized yet: send `initialize` first.")
        if self._shutdown:
            return INVALID_REQUEST, (
                f"{method}: the server is shutting down: only `exit` is accepted now.")
        if method == T.INITIALIZE and (self.initialized or not is_request):
            return INVALID_REQUEST, "initialize: the server is already initialized."
        return None

    def _dispatch(self, data: dict[str, Any], method: str, is_request: bool,
                  msg_id: Any) -> None:
        message = {key: data[key] for key in _MESSAGE_KEYS if key in data}
        fallback = JsonRPCRequestMessage if is_request else JsonRPCNotification
        try:
            structured = self._converter.structure(
                message, self.get_message_type(method) or fallback)
        except Exception as exc:  # noqa: BLE001 - any params the types refuse are invalid
            if is_request:
                self.reply_error(msg_id, INVALID_PARAMS,
                                 f"{method}: invalid params: {_problems(exc)}.")
            else:
                log.warning("notification %s dropped: invalid params: %s", method, _problems(exc))
            return
        if method == T.INITIALIZE:
            self.initialized = True
        self.handle_message(structured)

    def _client_response(self, data: dict[str, Any]) -> None:
        """The client's answer to one of our requests; a garbled one fails that request."""
        msg_id: Any = data.get("id")
        if not _valid_id(msg_id) or data.get("jsonrpc") != "2.0":
            log.warning("ignored a malformed response from the client: %.200s", data)
            return
        kind = (T.ResponseErrorMessage if "error" in data
                else self._result_types.pop(msg_id, None) or JsonRPCResponseMessage)
        try:
            structured = self._converter.structure(data, kind)
        except Exception as exc:  # noqa: BLE001 - fail the waiting request instead of hanging
            future = self._request_futures.pop(msg_id, None)
            if future is not None and not future.done():
                future.set_exception(JsonRpcInvalidParams(
                    f"the client's answer could not be read: {_problems(exc)}"))
            return
        self.handle_message(structured)

    def _send_handler_result(self, future: Any, *, msg_id: Any) -> None:
        """An error we raised on purpose is an answer, not a traceback for the log."""
        error = None if future.cancelled() else future.exception()
        if isinstance(error, JsonRpcException):
            self._request_futures.pop(msg_id, None)
            log.info("request %r refused: %s", msg_id, error.message)
            self._send_response(msg_id, error=error.to_response_error())
            return
        super()._send_handler_result(future, msg_id=msg_id)

    def _exit(self) -> None:
        self.exit_code = 0 if self._shutdown else 1
        stop = getattr(self._server, "_stop_event", None)
        if stop is not None:
            stop.set()

    @lsp_method(T.INITIALIZE)
    def lsp_initialize(self, params: T.InitializeParams) -> Any:
        """pygls's initialize; if it fails, the client may try again."""
        try:
            result = yield from super().lsp_initialize(params)
        except BaseException:
            self.initialized = False
            raise
        from lsp_agent.commands.slash import SLASH_COMMANDS

        result.capabilities.experimental = {"lspAgent": {
            "slashCommands": [s.public() for s in SLASH_COMMANDS]}}
        return result
