"""The file tools the agent is given: read, list, grep, edit and write.

Each tool lives in the module of its concern: `read_tools` (read_file, list_files, grep),
`edit_tools` (edit_file, write_file), `tool_walk` (globs and the tools' walk limits) and
`disk_host` (the headless host); import them from there. This module only lists them.
"""

from __future__ import annotations

from lsp_agent.agent.tools.base import Tool
from lsp_agent.agent.tools.edit_tools import EDIT_FILE, WRITE_FILE
from lsp_agent.agent.tools.read_tools import GREP, LIST_FILES, READ_FILE

FILE_TOOLS: list[Tool] = [READ_FILE, LIST_FILES, GREP, EDIT_FILE, WRITE_FILE]
