"""The reference for the start-up benchmark: a bare pygls 2 server with one command."""

from lsprotocol import types as T  # noqa: F401  (the same protocol import every server pays)
from pygls.lsp.server import LanguageServer

server = LanguageServer("bare", "0")


@server.command("bare.hello")
def hello(ls: LanguageServer, *args: object) -> str:
    return "hello"


if __name__ == "__main__":
    server.start_io()
