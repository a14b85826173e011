"""The one exception root: every user-facing error maps to one exit code and one LSP code."""

from __future__ import annotations

import pytest

from lsp_agent import errors as E
from lsp_agent.agent.loop import AgentLimitExceeded
from lsp_agent.agent.tools.base import ToolError
from lsp_agent.memory.blocks import BlockError, BlockNotFound
from lsp_agent.memory.embedders.base import EmbedderUnavailable
from lsp_agent.memory.locking import LockTimeout
from lsp_agent.memory.store import StoreError
from lsp_agent.skills.skill import SkillError


@pytest.mark.parametrize("exc,exit_code,lsp_code", [
    (E.UsageError("x"), 2, E.LSP_INVALID_PARAMS),
    (E.InvalidArguments("x"), 2, E.LSP_INVALID_PARAMS),
    (E.NotFound("x"), 3, E.LSP_REQUEST_FAILED),
    (BlockNotFound("x"), 3, E.LSP_REQUEST_FAILED),
    (E.ModelNotConfigured(), 4, E.LSP_REQUEST_FAILED),
    (E.ModelError("x"), 5, E.LSP_REQUEST_FAILED),
    (AgentLimitExceeded("max_steps", "x"), 6, E.LSP_REQUEST_FAILED),
    (E.ApprovalRefused("x"), 7, E.LSP_REQUEST_FAILED),
    (StoreError("x"), 1, E.LSP_REQUEST_FAILED),
    (BlockError("x"), 1, E.LSP_REQUEST_FAILED),
    (LockTimeout("x"), 1, E.LSP_REQUEST_FAILED),
    (EmbedderUnavailable("x"), 1, E.LSP_REQUEST_FAILED),
    (ToolError("x"), 1, E.LSP_REQUEST_FAILED),
    (SkillError("x"), 1, E.LSP_REQUEST_FAILED),
])
def test_every_error_has_its_codes(exc: E.LspAgentError, exit_code: int, lsp_code: int) -> None:
    assert isinstance(exc, E.LspAgentError)
    assert E.as_user_error(exc) is exc
    assert (exc.exit_code, exc.lsp_code) == (exit_code, lsp_code)


def test_standard_errors_are_wrapped_once_and_bugs_are_not() -> None:
    missing = E.as_user_error(KeyError("No block 'x'."))
    assert isinstance(missing, E.NotFound) and str(missing) == "No block 'x'."
    bad = E.as_user_error(FileNotFoundError("no such file: a.txt"))
    assert bad is not None and bad.exit_code == 1 and "a.txt" in str(bad)
    assert E.as_user_error(RuntimeError("a bug")) is None
    assert E.as_user_error(AttributeError("a bug")) is None
    assert "LSP_AGENT_MODEL" in str(E.ModelNotConfigured("Ask"))
