"""The file tools for the agent, in one place: read, list, grep, edit and write.

A facade over the modules that implement them, so callers need one import:
`read_tools` (read_file, list_files, grep), `edit_tools` (edit_file, write_file),
`workspace_walk` (the .gitignore-aware walk and globs) and `disk_host` (the headless host).
"""

from __future__ import annotations

from lsp_agent.agent.tools.base import Tool
from lsp_agent.agent.tools.disk_host import DiskToolHost, atomic_write_text, tty_prompt_approver
from lsp_agent.agent.tools.edit_tools import EDIT_FILE, WRITE_FILE, edit_file, write_file
from lsp_agent.agent.tools.read_tools import (
    GREP,
    LIST_FILES,
    READ_FILE,
    READ_MAX_LINES,
    grep,
    list_files,
    read_file,
)
from lsp_agent.agent.tools.workspace_walk import compile_glob

FILE_TOOLS: list[Tool] = [READ_FILE, LIST_FILES, GREP, EDIT_FILE, WRITE_FILE]

__all__ = [
    "FILE_TOOLS",
    "READ_FILE",
    "LIST_FILES",
    "GREP",
    "EDIT_FILE",
    "WRITE_FILE",
    "READ_MAX_LINES",
    "DiskToolHost",
    "atomic_write_text",
    "compile_glob",
    "edit_file",
    "grep",
    "list_files",
    "read_file",
    "tty_prompt_approver",
    "write_file",
]
