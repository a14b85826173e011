"""The one command registry: every command declared once (name, arguments, handler, help).

Arguments and handlers are named here and imported on first use, so the server can register
every command at start-up without importing pydantic or the service.

The LSP server registers `lspAgent.<name>` for each; the CLI builds its subcommands from
`cli`; docs/protocol.md, the Neovim completion list, the Neovim mock server and the VS Code
extension are checked against it by tests/commands/test_registry.py.
"""

from __future__ import annotations

from lsp_agent.commands.spec import Command

COMMANDS: tuple[Command, ...] = (
    Command("status", ("status",), "StatusArgs", "status",
            "where the agent's store is and what it holds", reads_only=True),
    Command("doctor", ("doctor",), "DoctorArgs", "doctor",
            "check the store for damage; --repair rebuilds damaged tables from intact ones"),
    Command("init", ("init",), "InitArgs", "init",
            "research the workspace, fill memory, index the code"),
    Command("index", ("index",), "IndexArgs", "index", "update the code index and embed it now"),
    Command("remember", ("remember",), "RememberArgs", "remember", "store a lesson in memory"),
    Command("anchors", ("anchors",), "AnchorsArgs", "anchors",
            "memories anchored to code, where they are now and whether they still hold",
            reads_only=True),
    Command("anchor", ("anchor",), "AnchorArgs", "anchor",
            "re-anchor, forget or keep an anchored memory"),
    Command("search", ("search",), "SearchArgs", "search",
            "search conversations, memory, skills and code", reads_only=True),
    Command("ask", ("ask",), "AskArgs", "ask",
            "one chat turn with the agent (a prompt starting with / runs a slash command)",
            streams=True),
    Command("approve", ("approve",), "ApproveArgs", "approve",
            "answer an approval the running turn asks in the conversation", lsp_only=True),
    Command("reflect", ("reflect",), "ReflectArgs", "reflect",
            "consolidate memory from recent conversations"),
    Command("learnSkill", ("learn-skill",), "LearnSkillArgs", "learn_skill",
            "distil a skill into .agents/skills/<name>/SKILL.md"),
    Command("memory.show", ("memory", "show"), "MemoryShowArgs", "memory_show",
            "show memory blocks (all, or one)", reads_only=True),
    Command("memory.edit", ("memory", "set"), "MemoryEditArgs", "memory_edit",
            "replace a block's value (text, --file FILE, or '-' for stdin)"),
    Command("memory.create", ("memory", "create"), "MemoryCreateArgs", "memory_create",
            "create a block"),
    Command("memory.history", ("memory", "history"), "MemoryHistoryArgs", "memory_history",
            "a block's versions, each with its diff", reads_only=True),
    Command("memory.revert", ("memory", "revert"), "MemoryRevertArgs", "memory_revert",
            "restore a version of a block (as a new version)"),
    Command("archival.insert", ("archival", "insert"), "ArchivalInsertArgs", "archival_insert",
            "store a passage in archival memory"),
    Command("archival.search", ("archival", "search"), "ArchivalSearchArgs", "archival_search",
            "search archival passages", reads_only=True),
    Command("archival.show", ("archival", "show"), "ArchivalShowArgs", "archival_show",
            "show one archival passage (and where in the code it is anchored)", reads_only=True),
    Command("archival.list", ("archival", "list"), "ArchivalListArgs", "archival_list",
            "list archival passages, newest first", reads_only=True),
    Command("archival.delete", ("archival", "delete"), "ArchivalDeleteArgs", "archival_delete",
            "delete a passage (asks first; --yes without a terminal)"),
    Command("export", ("export",), "ExportArgs", "export",
            "export memory as AGENTS.md or CLAUDE.md"),
    Command("conversation.new", ("conversation", "new"), "ConversationNewArgs",
            "conversation_new", "start a conversation and make it active"),
    Command("conversation.list", ("conversation", "list"), "ConversationListArgs",
            "conversation_list", "list conversations", reads_only=True),
    Command("conversation.switch", ("conversation", "switch"), "ConversationSwitchArgs",
            "conversation_switch", "make a conversation the active one"),
    Command("conversation.fork", ("conversation", "fork"), "ConversationForkArgs",
            "conversation_fork", "copy a conversation into a new, active one"),
    Command("conversation.history", ("conversation", "history"), "ConversationHistoryArgs",
            "conversation_history", "a conversation's messages, a page at a time",
            reads_only=True),
    Command("conversation.rename", ("conversation", "rename"), "ConversationRenameArgs",
            "conversation_rename", "give a conversation a new title"),
    Command("conversation.delete", ("conversation", "delete"), "ConversationDeleteArgs",
            "conversation_delete", "delete a conversation and its messages (asks first)"),
    Command("skills", ("skills",), "SkillsArgs", "skills",
            "list the skills the agent can use", reads_only=True),
)

BY_LSP_NAME = {c.lsp_name: c for c in COMMANDS}
BY_CLI = {c.cli: c for c in COMMANDS if not c.lsp_only}

#: Groups of CLI subcommands and their help.
CLI_GROUPS = {"memory": "show, edit, create, version and revert memory blocks",
              "archival": "insert, search, show, list and delete archival passages",
              "conversation": "new, list, switch, fork, rename and delete conversations, "
                              "and show their history"}

__all__ = ["BY_CLI", "BY_LSP_NAME", "CLI_GROUPS", "COMMANDS", "Command"]
