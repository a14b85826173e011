"""A tiny MCP server for the ACP tests: one tool, `shout`, over stdio (mcp's MCPServer)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

server = MCPServer("lsp-agent-test-fixture")


@server.tool()
def shout(text: str) -> str:
    """Return the text in capitals, with a mark that proves this server answered."""
    return f"{text.upper()} (from the fixture MCP server)"


if __name__ == "__main__":
    server.run()
