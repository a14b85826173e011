from lsp_agent.cli import entry

entry()
