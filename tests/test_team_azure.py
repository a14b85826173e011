"""The team store on Azure Blob Storage (issue 14): the same guarantees as on S3, against a
real Azurite server on loopback (tests/azurite_server.py) and `az://` URIs read by LanceDB.

Machines are processes (tests/team_worker.py, driven by the helpers of
tests/test_team_concurrency.py); AgentMemory and the CLI open the store as a user would. Bad
settings (a closed port, a wrong account key) must give one sentence naming teamStore and the
Azure variable to fix, keep the local work, and never show the key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import pytest
from azurite_server import ACCOUNT_KEY, AzuriteServer, azure_env, azurite_bin, start_server
from loopback import free_port
from test_team_concurrency import (
    _new_store,
    four_machines_lose_nothing,
    two_machines_at_once_keep_both,
)

from lsp_agent.memory.agent_memory import AgentMemory
from lsp_agent.memory.team_link import explain

REPO = Path(__file__).resolve().parents[1]
WRONG_KEY = "QUJD" + ACCOUNT_KEY[4:]  # valid base64, not the account's key


# -- error sentences (the raw texts LanceDB gave against Azurite) ------------------------------

_RAW = 'IO { source: Generic { store: "MicrosoftAzure", source: ListRequest { source: RetryError('
AZURITE_ERRORS = {
    "unreachable": _RAW + 'RetryErrorImpl { retries: 1, max_retries: 1, retry_timeout: 10s, '
    'inner: Http(HttpError { kind: Connect, source: ConnectError("tcp connect error", '
    '127.0.0.1:9, Os { code: 111, kind: ConnectionRefused, message: "Connection refused" '
    '}) }) }) } }',
    "credentials": _RAW + 'RetryErrorImpl { retry_timeout: 10s, inner: Status { status: 403, '
    'body: Some("<Error><Code>AuthorizationFailure</Code><Message>Server failed to '
    'authenticate the request. Make sure the value of the Authorization header is formed '
    'correctly including the signature.</Message></Error>") } }) } }',
    "no container": _RAW + 'RetryErrorImpl { retry_timeout: 10s, inner: Status { status: 404, '
    'body: Some("<Error><Code>ContainerNotFound</Code><Message>The specified container '
    'does not exist.</Message></Error>") } }) } }',
    "denied": "single PUT of s/blocks.lance/_transactions/0.txn failed: The operation lacked "
    "the necessary privileges to complete: 403 Forbidden: <Error><Code>"
    "AuthorizationPermissionMismatch</Code><Message>This request is not authorized to perform "
    "this operation using this permission.</Message></Error>",
}


@pytest.mark.parametrize("reason", sorted(AZURITE_ERRORS))
def test_azure_errors_name_the_azure_variables(reason: str, monkeypatch) -> None:
    for key, value in azure_env("http://127.0.0.1:9").items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    err = explain(RuntimeError(AZURITE_ERRORS[reason]), "az://team/store")
    text = str(err)
    assert err.reason == reason, text
    assert "teamStore" in text and "az://team/store" in text and "AWS_" not in text, text
    assert ACCOUNT_KEY not in text
    wanted = {"unreachable": "AZURITE_BLOB_STORAGE_URL", "credentials": "AZURE_STORAGE_ACCOUNT_KEY",
              "no container": "container", "denied": "AZURE_STORAGE_SAS_TOKEN"}[reason]
    assert wanted in text, text
    if reason == "unreachable":
        assert "http://127.0.0.1:9" in text  # the endpoint it tried


def test_real_azure_and_gcs_errors_name_their_own_variables(monkeypatch) -> None:
    for var in ("AZURE_STORAGE_USE_EMULATOR", "AZURE_STORAGE_ENDPOINT", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "acme")
    down = explain(RuntimeError("dns error: failed to lookup address"), "abfss://c@acme/x")
    assert down.reason == "unreachable" and "AZURE_STORAGE_ENDPOINT" in str(down)
    assert "https://acme.blob.core.windows.net" in str(down), str(down)
    gcs = explain(RuntimeError("Failed to get credentials: no token"), "gs://b/x")
    assert gcs.reason == "credentials" and "GOOGLE_SERVICE_ACCOUNT" in str(gcs)
    assert "GOOGLE_APPLICATION_CREDENTIALS" in str(gcs) and "AWS_" not in str(gcs)
    s3 = explain(RuntimeError("Failed to get AWS credentials"), "s3://b/x")
    assert "AWS_ACCESS_KEY_ID" in str(s3) and "AZURE" not in str(s3)


# -- machines on one az:// store ------------------------------------------------------------

@pytest.fixture
def team(az_store: str) -> str:
    _new_store(az_store)
    return az_store


def test_four_machines_on_azurite_lose_no_acknowledged_write(team, az_server, tmp_path) -> None:
    four_machines_lose_nothing(team, az_server.env, tmp_path)


@pytest.mark.parametrize("mode", ["append", "set"])
def test_two_machines_editing_one_block_at_once_on_azurite_keep_both(team, az_server, tmp_path,
                                                                     mode) -> None:
    two_machines_at_once_keep_both(team, az_server.env, tmp_path, mode)


# -- AgentMemory and the CLI ----------------------------------------------------------------

@pytest.fixture
def machine(az_store: str, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Callable[[str], AgentMemory]:
    """`machine(name)`: the project's memory as that machine opens it, team store on Azurite."""
    monkeypatch.setenv("LSP_AGENT_TEAM_TIMEOUT", "5")
    for var in ("LSP_AGENT_TEAM_STORE", "LSP_AGENT_STORE"):
        monkeypatch.delenv(var, raising=False)

    return lambda name: _open_machine(tmp_path / name, name, az_store, monkeypatch)


def _open_machine(root: Path, name: str, uri: str, monkeypatch: pytest.MonkeyPatch
                  ) -> AgentMemory:
    """The project's memory as machine `name` opens it (own home under `root`)."""
    (root / "ws").mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("LSP_AGENT_HOME", str(root / "home"))
    monkeypatch.setenv("LSP_AGENT_MACHINE", name)
    mem = AgentMemory(root / "ws", embedder="none", code_embedder="none", team_uri=uri)
    mem.open(resume_vectors=False)
    return mem


def test_two_machines_share_the_project_block_through_azurite(machine, az_store) -> None:
    alice = machine("alice")
    alice.blocks.edit("project", lambda old: (old + "\n" if old else "") + "A billing service.",
                      author="user", reason="remember")
    alice.blocks.edit("human", lambda old: old + "\nName: Alice", author="user", reason="me")
    bob = machine("bob")
    blocks = {b.label: b for b in bob.blocks.list()}
    assert "A billing service." in blocks["project"].value
    assert blocks["project"].scope == "team"
    assert "Alice" not in blocks["human"].value  # personal: stays on alice's machine
    bob.blocks.edit("project", lambda old: old + "\nPayments in EUR.", author="user",
                    reason="remember")
    assert "Payments in EUR." in machine("alice").blocks.get("project").value
    status = bob.status()
    assert status["team"]["store"] == az_store and status["team"]["reachable"] is True
    assert status["team"]["queued"] == 0
    assert ACCOUNT_KEY not in json.dumps(status, default=str)


def _cli(args: list[str], env: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items()
            if not k.startswith(("AWS_", "AZURE", "AZURITE", "LSP_AGENT_"))}
    full.update(env, LSP_AGENT_HOME=str(home), LSP_AGENT_EMBEDDER="none",
                LSP_AGENT_CODE_EMBEDDER="none", LSP_AGENT_TEAM_TIMEOUT="3",
                PYTHONPATH=str(REPO), LITELLM_LOCAL_MODEL_COST_MAP="True")
    return subprocess.run([sys.executable, "-m", "lsp_agent", *args], capture_output=True,
                          text=True, env=full, timeout=180)


def _no_key_anywhere(home: Path, *outputs: str) -> None:
    for key in (ACCOUNT_KEY, WRONG_KEY):
        for text in outputs:
            assert key not in text
        for path in home.rglob("*"):
            if path.is_file():
                assert key.encode() not in path.read_bytes(), path


def test_closed_azurite_port_queues_team_writes_keeps_local_work_then_replays(
        az_server: AzuriteServer, tmp_path: Path) -> None:
    uri = f"az://{az_server.new_container()}/p"
    ws, home = tmp_path / "ws", tmp_path / "home"
    ws.mkdir()
    closed = azure_env(f"http://127.0.0.1:{free_port()}")
    common = ["--workspace", str(ws), "--team-store", uri]
    started = time.monotonic()
    got = _cli(["remember", "--block", "commands", "deploy with make ship", *common], closed, home)
    assert got.returncode == 0, got.stderr
    assert "Traceback" not in got.stderr and time.monotonic() - started < 60
    assert "teamStore" in got.stderr and "unreachable" in got.stderr, got.stderr
    assert "AZURITE_BLOB_STORAGE_URL" in got.stderr and "AWS_" not in got.stderr
    personal = _cli(["remember", "--block", "human", "likes tea", *common], closed, home)
    assert personal.returncode == 0, personal.stderr
    status = _cli(["status", "--json", *common], closed, home)
    team = json.loads(status.stdout)["team"]
    assert team["queued"] == 1 and team["reachable"] is False and "teamStore" in team["error"]
    _no_key_anywhere(home, got.stdout, got.stderr, personal.stderr, status.stdout)
    # the port fixed: the next command replays the queue into the container
    shown = _cli(["memory", "show", *common], az_server.env, home)
    assert "deploy with make ship" in shown.stdout and "likes tea" in shown.stdout, shown.stderr
    after = _cli(["status", "--json", *common], az_server.env, home)
    assert json.loads(after.stdout)["team"]["queued"] == 0
    other = _cli(["memory", "show", "--workspace", str(ws), "--team-store", uri], az_server.env,
                 tmp_path / "home2")  # another machine sees the replayed write
    assert "deploy with make ship" in other.stdout and "likes tea" not in other.stdout
    _no_key_anywhere(home, shown.stdout, shown.stderr, after.stdout, other.stdout)


def test_wrong_account_key_says_what_to_set_and_keeps_the_write(
        az_server: AzuriteServer, tmp_path: Path) -> None:
    uri = f"az://{az_server.new_container()}/p"
    ws, home = tmp_path / "ws", tmp_path / "home"
    ws.mkdir()
    env = azure_env(az_server.endpoint, key=WRONG_KEY)
    common = ["--workspace", str(ws), "--team-store", uri]
    got = _cli(["remember", "--block", "conventions", "snake_case", *common], env, home)
    assert got.returncode == 0, got.stderr
    assert "Traceback" not in got.stderr
    sentences = [line for line in got.stderr.splitlines() if "teamStore" in line]
    assert len(sentences) == 1, got.stderr
    assert "No usable credentials" in sentences[0] and "AZURE_STORAGE_ACCOUNT_KEY" in sentences[0]
    assert "snake_case" in next(home.rglob("queue.jsonl")).read_text()  # kept, to be replayed
    status = _cli(["status", "--json", *common], env, home)
    team = json.loads(status.stdout)["team"]
    assert team["queued"] == 1 and "credentials" in team["error"]
    _no_key_anywhere(home, got.stdout, got.stderr, status.stdout, status.stderr)


def test_read_only_sas_token_is_named_as_denied_and_keeps_the_write(
        az_server: AzuriteServer, tmp_path: Path) -> None:
    """A SAS token that may read and list but not write: 'denied', naming the SAS variable."""
    from datetime import UTC, datetime, timedelta

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    container = az_server.new_container()
    uri = f"az://{container}/p"
    ws, home = tmp_path / "ws", tmp_path / "home"
    ws.mkdir()
    sas = generate_container_sas("devstoreaccount1", container, account_key=ACCOUNT_KEY,
                                 permission=ContainerSasPermissions(read=True, list=True),
                                 expiry=datetime.now(UTC) + timedelta(hours=1))
    env = {k: v for k, v in az_server.env.items() if k != "AZURE_STORAGE_ACCOUNT_KEY"}
    env["AZURE_STORAGE_SAS_TOKEN"] = sas
    common = ["--workspace", str(ws), "--team-store", uri]
    got = _cli(["remember", "--block", "project", "a payments API", *common], env, home)
    assert got.returncode == 0 and "Traceback" not in got.stderr, got.stderr
    assert "denied" in got.stderr and "teamStore" in got.stderr, got.stderr
    assert "AZURE_STORAGE_SAS_TOKEN" in got.stderr
    assert "a payments API" in next(home.rglob("queue.jsonl")).read_text()
    status = _cli(["status", "--json", *common], env, home)
    assert json.loads(status.stdout)["team"]["queued"] == 1
    encoded = dict(p.split("=", 1) for p in sas.split("&"))["sig"]
    for signature in (encoded, unquote(encoded)):
        for text in (got.stdout, got.stderr, status.stdout, status.stderr):
            assert signature not in text
        for path in home.rglob("*"):
            if path.is_file():
                assert signature.encode() not in path.read_bytes(), path


def test_the_server_stopped_and_started_again_mid_run_gets_the_queued_writes(
        az_server, tmp_path, monkeypatch) -> None:
    """A server of its own, really stopped (the process ends) and started again on the same
    port and folder: writes made meanwhile are acknowledged and queued, the prompt still has
    them, and they land once, in order, when it is back."""
    exe = azurite_bin()
    assert exe is not None  # az_server skipped or failed already otherwise
    server = start_server(exe, tmp_path / "azurite")
    port = int(server.endpoint.rsplit(":", 1)[1])
    container = server.new_container()
    for key, value in azure_env(server.endpoint).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LSP_AGENT_TEAM_TIMEOUT", "3")
    for var in ("LSP_AGENT_TEAM_STORE", "LSP_AGENT_STORE"):
        monkeypatch.delenv(var, raising=False)

    def open_machine(name: str) -> AgentMemory:
        return _open_machine(tmp_path / name, name, f"az://{container}/project", monkeypatch)

    def add(mem: AgentMemory, line: str) -> None:
        mem.blocks.edit("commands", lambda old: (old + "\n" if old else "") + line,
                        author="user", reason="remember")

    try:
        alice = open_machine("alice")
        add(alice, "- line 0 (online)")
        server.stop()
        for n in (1, 2, 3):
            add(alice, f"- line {n}")
        team = alice.status()["team"]
        assert team["reachable"] is False and team["queued"] == 3, team
        assert "teamStore" in team["error"]
        assert "- line 3" in alice.blocks.get("commands").value  # the prompt has them
        server = start_server(exe, tmp_path / "azurite", port)  # same port, same blobs
        assert alice.team is not None
        deadline = time.monotonic() + 90
        while not alice.team.link.available and time.monotonic() < deadline:
            time.sleep(0.5)
        assert alice.team.replay() == 3
        assert alice.team.replay() == 0  # nothing twice
        value = open_machine("bob").blocks.get("commands").value
        lines = [ln for ln in value.splitlines() if ln.startswith("- line")]
        assert lines == ["- line 0 (online)", "- line 1", "- line 2", "- line 3"]
    finally:
        server.stop()
