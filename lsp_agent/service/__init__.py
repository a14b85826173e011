"""The one door to lsp-agent's core: the faces (LSP server, CLI, later ACP) import only this,
the command registry, the renderer, `errors` and `config`.

`AgentService` offers every use case of one workspace's agent as a typed coroutine;
`Workspaces` keeps one per folder. The tool hosts a face plugs in are exported here too.
The names below are pinned by tests/service/test_public_api.py.
"""

from lsp_agent.agent.events import EVENT_TYPES, Approval
from lsp_agent.agent.events import current_approval as _current_approval
from lsp_agent.agent.tools.base import ToolHost
from lsp_agent.agent.tools.disk_host import DiskToolHost, atomic_write_text, tty_prompt_approver
from lsp_agent.service.agent_service import AgentService
from lsp_agent.service.conversations import ConversationView
from lsp_agent.service.results import (
    ArchivalInsert,
    AskResult,
    BlockEdit,
    Exported,
    Hit,
    InitResult,
    ReflectResult,
    Remembered,
    SkillProposal,
    Status,
)
from lsp_agent.service.workspaces import ROOT_MARKERS, Workspaces, find_workspace


def current_approval() -> Approval | None:
    """The approval the agent is asking right now in this task (`.id`, `.action`), for a
    host that waits for an answer given in the conversation."""
    return _current_approval.get()


__all__ = [
    "ROOT_MARKERS",
    "AgentService",
    "ArchivalInsert",
    "AskResult",
    "EVENT_TYPES",
    "BlockEdit",
    "ConversationView",
    "DiskToolHost",
    "Exported",
    "Hit",
    "InitResult",
    "ReflectResult",
    "Remembered",
    "SkillProposal",
    "Status",
    "ToolHost",
    "Workspaces",
    "atomic_write_text",
    "current_approval",
    "find_workspace",
    "tty_prompt_approver",
]
