"""A real Azure Blob Storage server on loopback for team-store tests: Microsoft's Azurite.

Started once per test session in its own process (azurite-blob, Node), with its own temp
folder for blobs, on a free port; stopped at the end. Each test gets its own container, so
tests never see each other's blobs. Azurite is installed by scripts/setup-azurite (which
scripts/test runs); found at LSP_AGENT_AZURITE_BIN or in the e2e cache. Without it the Azure
tests skip, unless LSP_AGENT_AZURITE_REQUIRED is set (scripts/test): then they fail.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from loopback import free_port, wait_until_up

ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, in Microsoft's docs): not a secret, but the
# tests still check it never reaches an output, a file or a status.
ACCOUNT_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr"
               "/KBHBeksoGMGw==")
ENV_BIN = "LSP_AGENT_AZURITE_BIN"
ENV_REQUIRED = "LSP_AGENT_AZURITE_REQUIRED"
MISSING = "Azurite is not installed: run scripts/setup-azurite (scripts/test does)"


def azurite_bin() -> Path | None:
    """The azurite-blob executable, or None when it is not installed."""
    if os.environ.get(ENV_BIN):
        path = Path(os.environ[ENV_BIN])
    else:
        cache = Path(os.environ.get("LSP_AGENT_E2E_CACHE")
                     or Path.home() / ".cache" / "lsp-agent-e2e")
        path = cache / "azurite" / "node_modules" / ".bin" / "azurite-blob"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def azure_env(endpoint: str, key: str = ACCOUNT_KEY) -> dict[str, str]:
    """The environment LanceDB (object_store) reads to reach Azurite at `endpoint`."""
    return {
        "AZURE_STORAGE_USE_EMULATOR": "true",
        "AZURE_STORAGE_ACCOUNT_NAME": ACCOUNT,
        "AZURE_STORAGE_ACCOUNT_KEY": key,
        "AZURE_ALLOW_HTTP": "true",
        "AZURITE_BLOB_STORAGE_URL": endpoint,
    }


@dataclass
class AzuriteServer:
    endpoint: str  # http://127.0.0.1:PORT
    process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        """The environment a process needs to reach this server."""
        return azure_env(self.endpoint)

    def new_container(self) -> str:
        """Create an empty container with a unique name; returns its name."""
        from azure.storage.blob import BlobServiceClient

        conn = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                f"BlobEndpoint={self.endpoint}/{ACCOUNT};")
        name = f"lsp-agent-test-{uuid.uuid4().hex[:12]}"
        BlobServiceClient.from_connection_string(conn).create_container(name)
        return name

    def stop(self) -> None:
        """SIGINT, then SIGKILL after 2 s: Azurite waits for open keep-alive connections (the
        test process's LanceDB clients) and ignores SIGTERM; its blobs are a temp folder."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_server(exe: Path, location: Path, port: int = 0) -> AzuriteServer:
    """Start azurite-blob on `port` (default: a free one) on loopback, blobs in `location`
    (kept across a stop and a start there); wait until it answers."""
    location.mkdir(parents=True, exist_ok=True)
    log = location / "azurite.log"
    port = port or free_port()
    proc = subprocess.Popen(
        [str(exe), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location",
         str(location / "data"), "--silent", "--skipApiVersionCheck"],
        stdout=log.open("ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    server = AzuriteServer(f"http://127.0.0.1:{port}", proc)
    wait_until_up(proc, lambda: socket.create_connection(("127.0.0.1", port), 1).close(),
                  "azurite-blob", log, server.stop)
    return server


def session_server(exe: Path, tmp_dir: Path) -> Iterator[AzuriteServer]:
    server = start_server(exe, tmp_dir)
    try:
        yield server
    finally:
        server.stop()
