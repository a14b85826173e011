"""lsp-agent: a language server with a persistent, memory-first coding agent per workspace."""

__version__ = "0.1.0"
