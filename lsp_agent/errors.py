"""One exception root for every failure a person must read, mapped once to each face.

`LspAgentError` carries a sentence that says what went wrong and what to do. Each subclass
names its CLI exit code and its JSON-RPC error code, so the faces map errors by class, never by
name: the CLI prints `error: <message>` and exits with `exit_code`; the LSP server answers with
`lsp_code`. Modules at every layer raise these (this module imports nothing of the project).

Exit codes (stable, documented in the README):
    1 failed (anything else a person must act on)   2 usage (bad arguments)
    3 not found                                     4 no model configured
    5 the model call failed                         6 a limit was reached (steps, tokens, time)
    7 an approval was refused                       130 interrupted
"""

from __future__ import annotations

import errno
import os
import re

#: JSON-RPC codes the server answers with.
LSP_INVALID_PARAMS = -32602
LSP_REQUEST_FAILED = -32803


class LspAgentError(Exception):
    """Root: an expected failure with a sentence a person can act on."""

    exit_code = 1
    lsp_code = LSP_REQUEST_FAILED

    @property
    def machine_name(self) -> str:
        """The class as a stable word for machines (`model_not_configured`): the LSP error's
        `data.kind`, so an editor can give its own advice without matching the message."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__doc__ or "Failed."


class UsageError(LspAgentError, ValueError):
    """The command's arguments are wrong; the message says what was expected."""

    exit_code = 2
    lsp_code = LSP_INVALID_PARAMS


class InvalidArguments(UsageError):
    """The arguments do not fit the command's argument model."""


class NotFound(LspAgentError, LookupError):
    """What the command names does not exist (a block, a conversation, a passage...)."""

    exit_code = 3


class ModelNotConfigured(LspAgentError):
    """A command needs a model and none is set."""

    exit_code = 4

    def __init__(self, what: str = "This command") -> None:
        super().__init__(
            f"{what} needs a model, and none is configured. Set the `lspAgent.model` setting "
            "(or LSP_AGENT_MODEL, or --model) to a litellm model string such as "
            "'anthropic/claude-sonnet-4-5', 'openai/gpt-4.1' or 'ollama/qwen2.5-coder', and the "
            "provider's key in its environment variable (e.g. ANTHROPIC_API_KEY). Memory, search "
            "and history work without one."
        )


class ModelError(LspAgentError):
    """The model call failed; the message says why (bad key, unknown model, network...)."""

    exit_code = 5


class LimitReached(LspAgentError):
    """A turn hit one of its limits (steps, tokens, time)."""

    exit_code = 6

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class ApprovalRefused(LspAgentError):
    """The user said no to something that needed their approval."""

    exit_code = 7


class StorageUnavailable(LspAgentError):
    """The disk under the store (or a file being written) is full or read-only."""


_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_READ_ONLY = (errno.EROFS,)
_RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)")  # how Rust's io::Error names errno
STORE_FIX = ("point `store` elsewhere (--store DIR, LSP_AGENT_STORE, or the lspAgent.store "
             "setting) at a folder on another disk")


def _os_errno(exc: BaseException) -> tuple[int, str | None] | None:
    """(errno, file name) of `exc` or what caused it, for a full or read-only disk."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        code = seen.errno if isinstance(seen, OSError) else None
        if code is None:  # lance (Rust) errors carry errno only in their text
            found = _RUST_OS_ERROR.search(str(seen))
            code = int(found.group(1)) if found else None
        if code in _FULL or code in _READ_ONLY:
            name = seen.filename if isinstance(seen, OSError) else None
            return code, (os.fsdecode(name) if name is not None else None)
        seen = seen.__cause__ or seen.__context__
    return None


def storage_error(exc: BaseException, folder: str | None = None) -> StorageUnavailable | None:
    """`exc` as one sentence naming the folder and the fix when the disk is full or
    read-only (None otherwise). `folder` is where the store is, when the caller knows."""
    if isinstance(exc, StorageUnavailable):
        return exc
    found = _os_errno(exc)
    if found is None:
        return None
    code, name = found
    where = (os.path.dirname(name) if name else "") or folder or "the store's folder"
    if code in _READ_ONLY:
        return StorageUnavailable(
            f"{where} is on a read-only file system, so nothing could be written there; "
            f"reading memory still works. Make that disk writable, or {STORE_FIX}.")
    return StorageUnavailable(
        f"The disk holding {where} is full ({os.strerror(code)}), so nothing could be written; "
        f"what was stored before is kept. Free some space on that disk, or {STORE_FIX}.")


def as_user_error(exc: BaseException) -> LspAgentError | None:
    """`exc` as the error a person reads, or None for a bug (which must surface as one).

    Our own errors pass through; the standard library's errors that carry a usable sentence
    (a missing file, a bad value) are wrapped once, here, so no face matches them itself.
    Provider errors are wrapped where the model is called (`ModelError` in agent/model.py).
    """
    if isinstance(exc, LspAgentError):
        return exc
    disk = storage_error(exc)
    if disk is not None:
        return disk
    if isinstance(exc, KeyError):
        return NotFound(str(exc.args[0]) if exc.args else "Not found.")
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError,
                        NotADirectoryError, UnicodeDecodeError, TimeoutError, ValueError)):
        return LspAgentError(str(exc))
    return None
