"""Turning known failures into one sentence a person can act on (CLI and LSP alike)."""

from __future__ import annotations


class ModelNotConfigured(RuntimeError):
    """A command needs a model and none is set."""

    def __init__(self, what: str = "This command") -> None:
        super().__init__(
            f"{what} needs a model, and none is configured. Set the `lspAgent.model` setting "
            "(or LSP_AGENT_MODEL, or --model) to a litellm model string such as "
            "'anthropic/claude-sonnet-4-5', 'openai/gpt-4.1' or 'ollama/qwen2.5-coder', and the "
            "provider's key in its environment variable (e.g. ANTHROPIC_API_KEY). Memory, search "
            "and history work without one."
        )


def user_facing(exc: BaseException) -> str | None:
    """The message to show for an expected failure, or None for a bug (let it surface)."""
    from lsp_agent.agent.tools.base import ToolError
    from lsp_agent.memory.blocks import BlockError
    from lsp_agent.memory.locking import LockTimeout
    from lsp_agent.memory.store import StoreError

    if isinstance(exc, KeyError):
        return str(exc.args[0]) if exc.args else "Not found."
    if isinstance(exc, (StoreError, BlockError, LockTimeout, ModelNotConfigured, ToolError,
                        ValueError, FileNotFoundError, PermissionError, IsADirectoryError,
                        UnicodeDecodeError, TimeoutError)):
        return str(exc)
    name = type(exc).__name__
    if name in ("EmbedderUnavailable", "AgentLimitExceeded", "ModelError", "SkillError"):
        return str(exc)
    if type(exc).__module__.startswith("litellm"):
        return f"The model call failed: {exc}. Check the model name and its API key."
    return None
