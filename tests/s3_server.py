"""A real S3-compatible server on loopback for team-store tests: moto's standalone server.

Started once per test session in its own process (`moto_server`), stopped at the end. Each
test gets its own bucket, so tests never see each other's objects. Point the same tests at
MinIO or a real bucket by setting LSP_AGENT_TEST_S3_ENDPOINT (and AWS credentials) instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from loopback import free_port, wait_until_up


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        """The environment a process needs to reach this server (what LanceDB reads)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": os.environ.get("LSP_AGENT_TEST_S3_KEY", "testing"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("LSP_AGENT_TEST_S3_SECRET", "testing"),
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "AWS_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        }

    def new_bucket(self) -> str:
        """Create an empty bucket with a unique name; returns its name."""
        import boto3

        name = f"lsp-agent-test-{uuid.uuid4().hex[:12]}"
        env = self.env
        client = boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=env["AWS_DEFAULT_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )
        client.create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def pause(self) -> None:
        """Make the server unreachable without losing its objects (SIGSTOP)."""
        assert self.process is not None
        self.process.send_signal(19)  # SIGSTOP

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(18)  # SIGCONT


def start_server(log: Path) -> S3Server:
    """Start moto's server on a free loopback port and wait until it answers."""
    external = os.environ.get("LSP_AGENT_TEST_S3_ENDPOINT")
    if external:
        return S3Server(external)
    exe = Path(sys.executable).with_name("moto_server")
    port = free_port()
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    server = S3Server(f"http://127.0.0.1:{port}", proc)
    wait_until_up(proc, lambda: urllib.request.urlopen(server.endpoint + "/moto-api/", timeout=1),
                  "moto_server", log, server.stop)
    return server


def session_server(tmp_dir: Path) -> Iterator[S3Server]:
    server = start_server(tmp_dir / "moto.log")
    try:
        yield server
    finally:
        server.stop()
