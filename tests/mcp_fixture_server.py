"""A tiny MCP server for the ACP tests: one tool, `shout`, over stdio (mcp's MCPServer), or
over streamable HTTP on 127.0.0.1 with `--http PORT` (path /mcp)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

server = MCPServer("lsp-agent-test-fixture")


@server.tool()
def shout(text: str) -> str:
    """Return the text in capitals, with a mark that proves this server answered."""
    return f"{text.upper()} (from the fixture MCP server)"


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
