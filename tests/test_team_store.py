"""Team memory (issue 14 B): team/personal scopes on a real S3-compatible server (moto on
loopback), the offline cache and durable queue, status, credentials and bad endpoints."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from loopback import free_port
from s3_server import S3Server
from team_faults import UnansweringHistory, claim_twice

from lsp_agent.agent.context import render_blocks
from lsp_agent.config import TEAM_UNTRUSTED, parse_settings
from lsp_agent.memory.agent_memory import AgentMemory
from lsp_agent.memory.merge import replay_onto as merge
from lsp_agent.memory.schema import Anchor
from lsp_agent.memory.team_anchors import TeamAnchors
from lsp_agent.paths import display_uri

REPO = Path(__file__).resolve().parents[1]
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY1"  # the test's AWS secret: must never show
EXTERNAL = bool(os.environ.get("LSP_AGENT_TEST_S3_ENDPOINT"))  # MinIO or a real bucket


def _pausable(server: S3Server) -> None:
    if server.process is None:
        pytest.skip("pausing needs the loopback server this test session starts")


@pytest.fixture
def team(s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A fresh bucket, this process's env pointed at the server, short team timeouts."""
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LSP_AGENT_TEAM_TIMEOUT", "3")
    monkeypatch.delenv("LSP_AGENT_TEAM_STORE", raising=False)
    monkeypatch.delenv("LSP_AGENT_STORE", raising=False)
    return {"uri": f"s3://{s3_server.new_bucket()}/project", "server": s3_server,
            "root": tmp_path}


@pytest.fixture
def machine(team: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Callable[..., AgentMemory]:
    """`machine(name)`: the project's memory as that machine opens it (own home, own clone)."""
    def open_machine(name: str, *, uri: str | None = None,
                     background: bool = False) -> AgentMemory:
        root: Path = team["root"] / name
        (root / "ws").mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv("LSP_AGENT_HOME", str(root / "home"))
        monkeypatch.setenv("LSP_AGENT_MACHINE", name)
        mem = AgentMemory(root / "ws", embedder="none", code_embedder="none",
                          team_uri=uri or team["uri"])
        mem.open(resume_vectors=background)  # background: the replay timer runs
        return mem

    return open_machine


def _service(team: dict[str, Any], name: str,
             responses: list[dict[str, Any]]) -> tuple[Any, list[list[dict[str, Any]]]]:
    """An AgentService of machine `name` with a scripted model (through litellm); returns it
    and the list of message lists the model was sent."""
    from lsp_agent.agent.model import LitellmModel
    from lsp_agent.agent.scripted import reset_scripted
    from lsp_agent.agent.tools.disk_host import DiskToolHost
    from lsp_agent.service import AgentService

    root: Path = team["root"] / name
    os.environ["LSP_AGENT_HOME"] = str(root / "home")  # restored by monkeypatch (set before)
    script = root / "script.json"
    script.write_text(json.dumps({"responses": responses}))
    reset_scripted(str(script))
    settings, warnings = parse_settings({"model": f"scripted/{script}", "embedder": "none",
                                         "codeEmbedder": "none"})
    settings = settings.model_copy(update={"team_store": team["uri"]})
    svc = AgentService(root / "ws", settings, DiskToolHost(True, workspace=root / "ws"),
                       background=False)
    sent: list[list[dict[str, Any]]] = []

    class Spy(LitellmModel):
        async def complete(self, messages: Any, tools: Any, on_delta: Any = None) -> Any:
            sent.append(json.loads(json.dumps(messages, default=str)))
            return await super().complete(messages, tools, on_delta)

    spy = Spy(f"scripted/{script}")
    svc._model = lambda reflection=False: spy  # type: ignore[method-assign]
    return svc, sent


def _append(mem: AgentMemory, label: str, line: str) -> Any:
    return mem.blocks.edit(label, lambda old: (old + "\n" if old else "") + line,
                           author="user", reason="remember")


def _wait(cond: Callable[[], bool], seconds: float = 90.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


# -- scopes -------------------------------------------------------------------------------


def test_team_things_are_shared_and_personal_things_stay_local(machine) -> None:
    a = machine("alice")
    _append(a, "commands", "- test: make test")
    _append(a, "conventions", "- no print in library code")
    _append(a, "project", "A billing service.")
    _append(a, "human", "Name: Alice, prefers short answers")
    a.blocks.create("deploy", "How we deploy.", "- ship with ./deploy.sh", scope="team")
    a.archival.insert("The flaky test is test_clock; rerun it once.", ["tests"])
    conv = a.recall.new_conversation("alice chat")
    a.recall.append(conv.id, "user", "hello from alice")
    TeamAnchors(a.team).save([Anchor(id="anc1", memory_kind="archival", memory_id="x",  # type: ignore[arg-type]
                                     lesson="clock lesson", path="src/clock.py")])

    b = machine("bob")
    blocks = {blk.label: blk for blk in b.blocks.list()}
    assert "- test: make test" in blocks["commands"].value
    assert "no print" in blocks["conventions"].value and "billing" in blocks["project"].value
    assert blocks["deploy"].value == "- ship with ./deploy.sh" and blocks["deploy"].scope == "team"
    assert blocks["commands"].scope == "team" and blocks["human"].scope == "agent"
    assert "Alice" not in blocks["human"].value  # personal: stayed on alice's machine
    assert [p.content for p in b.archival.all()] == ["The flaky test is test_clock; rerun it once."]
    assert b.recall.conversations() == []  # conversations are personal
    assert [x.lesson for x in TeamAnchors(b.team).for_path("src/clock.py")] == ["clock lesson"]
    # bob's edit reaches alice; versions continue one history
    _append(b, "commands", "- lint: ruff check")
    assert "- lint: ruff check" in a.blocks.get("commands").value
    history = a.blocks.history("commands")
    assert [v.version for v in history] == list(range(1, len(history) + 1))
    assert a.status()["team"]["reachable"] is True


def test_joining_a_team_shows_the_team_blocks_in_the_memory_folder(team, machine,
                                                                   monkeypatch) -> None:
    a = machine("alice")
    _append(a, "project", "The team's description of the project.")
    # bob used lsp-agent alone before: his project block and its file say something else
    root: Path = team["root"] / "bob"
    (root / "ws").mkdir(parents=True)
    monkeypatch.setenv("LSP_AGENT_HOME", str(root / "home"))
    alone = AgentMemory(root / "ws", embedder="none", code_embedder="none")
    alone.open(resume_vectors=False)
    _append(alone, "project", "Bob's old local notes on the project.")
    _append(alone, "project", "More of them.")
    b = machine("bob")
    assert b.blocks.get("project").value == "The team's description of the project."
    assert not [n for n in b.notices if "left as it is" in n]
    shown = b.mirror.path("project").read_text()
    assert "The team's description" in shown and "Bob's old" not in shown
    assert "Bob's old" in (b.memory_folder / ".before-team" / "project.md").read_text()
    # a person's edit of the file now goes to the team
    b.mirror.path("project").write_text(shown + "\nEdited by Bob in the file.")
    c = machine("carol")
    assert b.mirror.sync(b.blocks) and "Edited by Bob" in c.blocks.get("project").value


# -- offline --------------------------------------------------------------------------------


def test_server_paused_writes_are_queued_then_replayed_once_in_order(
        team, machine, tmp_path: Path) -> None:
    server: S3Server = team["server"]
    _pausable(server)
    a = machine("alice")
    _append(a, "commands", "- line 0 (online)")
    server.pause()
    try:
        started = time.monotonic()
        first = _append(a, "commands", "- line 1")
        first_took = time.monotonic() - started
        started = time.monotonic()
        for n in (2, 3):
            _append(a, "commands", f"- line {n}")
        offline = a.archival.insert("lesson written while offline", ["offline"])
        rest_took = time.monotonic() - started
        assert "- line 1" in first.value
        assert first_took < 30, f"the first write waited {first_took:.0f} s on a dead store"
        assert rest_took < 5, "later writes must not wait on the store again"
        team_status = a.status()["team"]
        assert team_status["reachable"] is False and team_status["queued"] == 4
        assert "unreachable" in team_status["error"] and "teamStore" in team_status["error"]
        # the prompt still compiles, from the cache plus the queued writes
        prompt = render_blocks(a.blocks.list())
        assert "- line 0 (online)" in prompt and "- line 3" in prompt
        # search of every kind still answers (archival left out, with a warning)
        assert any(h["kind"] == "block" for h in a.search("line", kind="all"))
        # a whole turn works offline: the model sees the cached and queued memory, and its
        # own memory edit is queued too (another AgentMemory over the same home: durable)
        svc, sent = _service(team, "alice", [
            {"content": "", "tool_calls": [{"name": "memory_insert", "arguments": {
                "label": "commands", "new_string": "- line 4 (by the agent)",
                "insert_line": -1}}]},
            {"content": "Noted."}])
        result = asyncio.run(svc.run_turn("Remember line 4."))
        assert result.reply == "Noted."
        assert "- line 3" in sent[0][0]["content"]
        assert "- line 4 (by the agent)" in sent[1][0]["content"]
        assert len(a.team.queue.entries()) == 5  # type: ignore[union-attr]
        svc.close()
    finally:
        server.resume()
    assert a.team is not None
    assert _wait(lambda: a.team.link.available, 70)  # type: ignore[union-attr]
    assert a.team.replay() == 5
    b = machine("bob")
    value = b.blocks.get("commands").value
    lines = [ln for ln in value.splitlines() if ln.startswith("- line")]
    assert lines == ["- line 0 (online)", "- line 1", "- line 2", "- line 3",
                     "- line 4 (by the agent)"]
    assert [p.content for p in b.archival.all()] == ["lesson written while offline"]
    assert [p.id for p in b.archival.all()] == [offline.id]  # the id it was given offline
    reasons = [v.reason for v in b.blocks.history("commands")]
    assert sum("written offline by" in r and "replayed" in r for r in reasons) == 4
    assert a.status()["team"]["queued"] == 0
    assert a.team.replay() == 0  # nothing applied twice


def test_queued_write_that_conflicts_with_another_machine_is_merged(team, machine) -> None:
    _pausable(team["server"])
    a = machine("alice", background=True)
    b = machine("bob")
    _append(a, "conventions", "- tabs are spaces")
    team["server"].pause()
    try:
        _append(a, "conventions", "- alice (offline): name tests test_*")
        _append(a, "conventions", f"- never commit AKIAZ3MSJV4WWNKWW5X2, aws_secret={SECRET}")
    finally:
        team["server"].resume()
    queued = next(Path(team["root"], "alice").rglob("queue.jsonl")).read_text()
    assert "AKIAZ3MSJV4WWNKWW5X2" not in queued
    assert SECRET not in queued
    assert "[REDACTED" in queued
    _append(b, "conventions", "- bob (online meanwhile): type hints everywhere")
    assert a.team is not None
    # alice's background replayer lands the queue once the store answers again
    assert _wait(lambda: not a.team.queue.entries(), 90)  # type: ignore[union-attr]
    value = machine("carol").blocks.get("conventions").value
    for line in ("- tabs are spaces", "- alice (offline): name tests test_*",
                 "- bob (online meanwhile): type hints everywhere", "- never commit [REDACTED"):
        assert sum(line in ln for ln in value.splitlines()) == 1, value
    a.team.stop()


def test_merge_rule_keeps_both_sides_and_is_idempotent() -> None:
    base = "a\nb\nc"
    assert merge(base, base + "\nours", base + "\ntheirs") == base + "\ntheirs\nours"
    assert merge(base, base + "\nours", base + "\nours") == base + "\nours"  # replayed twice
    assert merge(base, "a\nc", "z\na\nb\nc") == "z\na\nc"  # our deletion, their insertion
    assert merge(base, "a\nB\nc", "a\nb\nc\nd") == "a\nB\nc\nd"
    assert merge(base, base, "theirs") == "theirs"


# -- settings, status, secrets ------------------------------------------------------------------


def test_team_store_from_an_untrusted_workspace_is_ignored(monkeypatch) -> None:
    monkeypatch.delenv("LSP_AGENT_TEAM_STORE", raising=False)
    monkeypatch.delenv("LSP_AGENT_TRUST_WORKSPACE", raising=False)
    settings, warnings = parse_settings({"teamStore": "s3://someone-elses-bucket/x"})
    assert settings.team_store is None and TEAM_UNTRUSTED in warnings
    settings, warnings = parse_settings({"teamStore": "s3://ours/x", "trustWorkspace": True})
    assert settings.team_store == "s3://ours/x" and not warnings
    monkeypatch.setenv("LSP_AGENT_TEAM_STORE", "s3://mine/x")  # the user's own environment
    settings, warnings = parse_settings({"teamStore": ""})
    assert settings.team_store == "s3://mine/x" and not warnings


def test_display_uri_drops_credentials() -> None:
    assert display_uri("s3://AKIA123:topsecret@bucket/p?secret_access_key=x") == "s3://bucket/p"
    assert display_uri("/tmp/store") == "/tmp/store"
    assert display_uri("abfss://team@acct.dfs.core.windows.net/p?sig=x") == \
        "abfss://team@acct.dfs.core.windows.net/p"  # the container, not a credential
    assert display_uri("abfss://name:key@acct.dfs.core.windows.net/p") == \
        "abfss://acct.dfs.core.windows.net/p"


def test_store_errors_are_one_sentence_naming_the_setting_without_secrets() -> None:
    from lsp_agent.memory.team_link import explain

    uri = "s3://AKIAZ3MSJV4WWNKWW5X2:hunter2hunter2@bucket/p"
    cases = {
        "Failed to get AWS credentials: ProviderError": ("credentials", "AWS_PROFILE"),
        "<Code>NoSuchBucket</Code>": ("no bucket", "does not exist"),
        "The operation lacked the necessary privileges to complete": ("denied", "denied"),
        "HTTP error: error sending request": ("unreachable", "AWS_ENDPOINT_URL"),
        f"weird failure at {uri}": ("failed", "weird failure"),
    }
    for text, (reason, words) in cases.items():
        err = explain(RuntimeError(text), uri)
        assert err.reason == reason and words in str(err) and "teamStore" in str(err)
        assert "hunter2" not in str(err) and "AKIAZ3" not in str(err), str(err)


def _cli(args: list[str], env: dict[str, str], home: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LSP_AGENT_"))}
    full.update(env, LSP_AGENT_HOME=str(home), LSP_AGENT_EMBEDDER="none",
                LSP_AGENT_CODE_EMBEDDER="none", LSP_AGENT_TEAM_TIMEOUT="3",
                PYTHONPATH=str(REPO), LITELLM_LOCAL_MODEL_COST_MAP="True")
    return subprocess.run([sys.executable, "-m", "lsp_agent", *args], capture_output=True,
                          text=True, env=full, timeout=timeout)


def _no_secret_anywhere(secret: str, home: Path, *outputs: str) -> None:
    for text in outputs:
        assert secret not in text
    for path in home.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_wrong_endpoint_queues_team_writes_keeps_local_work_then_replays(
        s3_server: S3Server, tmp_path: Path) -> None:
    uri = f"s3://{s3_server.new_bucket()}/p"
    ws = tmp_path / "ws"
    ws.mkdir()
    home = tmp_path / "home"
    good = dict(s3_server.env)  # moto takes any secret: use one that is easy to look for
    secret = good["AWS_SECRET_ACCESS_KEY"] if EXTERNAL else SECRET
    good["AWS_SECRET_ACCESS_KEY"] = secret
    closed = {**good, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    common = ["--workspace", str(ws), "--team-store", uri]
    started = time.monotonic()
    got = _cli(["remember", "--block", "commands", "deploy with make ship", *common], closed, home)
    took = time.monotonic() - started
    assert got.returncode == 0, got.stderr
    assert "Traceback" not in got.stderr and took < 60
    assert "teamStore" in got.stderr and "unreachable" in got.stderr
    assert "AWS_ENDPOINT_URL" in got.stderr
    personal = _cli(["remember", "--block", "human", "likes tea", *common], closed, home)
    assert personal.returncode == 0, personal.stderr
    text = _cli(["status", *common], closed, home)
    assert "team queue:" in text.stdout and "1 writes waiting" in text.stdout
    assert "(unreachable)" in text.stdout
    _no_secret_anywhere(secret, home, got.stdout, got.stderr, text.stdout, text.stderr)
    # the endpoint fixed: the next command replays the queue
    shown = _cli(["memory", "show", *common], good, home)
    assert "deploy with make ship" in shown.stdout, shown.stderr
    assert "likes tea" in shown.stdout  # the personal write never waited on the team store
    after = json.loads(_cli(["status", "--json", *common], good, home).stdout)
    assert after["team"]["reachable"] is True and after["team"]["queued"] == 0
    assert after["team"]["store"] == uri


def test_missing_credentials_say_what_to_set(s3_server: S3Server, tmp_path: Path) -> None:
    uri = f"s3://{s3_server.new_bucket()}/p"
    ws = tmp_path / "ws"
    ws.mkdir()
    env = {k: v for k, v in s3_server.env.items() if k not in ("AWS_ACCESS_KEY_ID",
                                                                  "AWS_SECRET_ACCESS_KEY")}
    env.update(AWS_EC2_METADATA_DISABLED="true",
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_CONFIG_FILE=str(tmp_path / "none"))
    got = _cli(["remember", "--block", "conventions", "snake_case", "--workspace", str(ws),
                "--team-store", uri], env, tmp_path / "home")
    assert got.returncode == 0, got.stderr
    assert "Traceback" not in got.stderr
    assert "teamStore" in got.stderr and "AWS_ACCESS_KEY_ID" in got.stderr, got.stderr
    assert "AWS_PROFILE" in got.stderr
    queue = next((tmp_path / "home").rglob("queue.jsonl")).read_text()
    assert "snake_case" in queue  # kept, to be replayed


def test_an_aws_profile_is_enough(s3_server: S3Server, tmp_path: Path) -> None:
    """No keys in the environment, only AWS_PROFILE: LanceDB reads ~/.aws/credentials (without
    any credentials the team store is refused: see the test above)."""
    uri = f"s3://{s3_server.new_bucket()}/p"
    ws = tmp_path / "ws"
    ws.mkdir()
    env = dict(s3_server.env)
    key, secret = env.pop("AWS_ACCESS_KEY_ID"), env.pop("AWS_SECRET_ACCESS_KEY")
    if not EXTERNAL:
        secret = SECRET
    creds = tmp_path / "aws" / "credentials"
    creds.parent.mkdir()
    creds.write_text(f"[team]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
    env.update(AWS_PROFILE="team", AWS_SHARED_CREDENTIALS_FILE=str(creds),
               AWS_CONFIG_FILE=str(tmp_path / "aws" / "config"), AWS_EC2_METADATA_DISABLED="true")
    home = tmp_path / "home"
    got = _cli(["remember", "--block", "commands", "format with black", "--workspace", str(ws),
                "--team-store", uri], env, home)
    assert got.returncode == 0 and "teamStore" not in got.stderr, got.stderr
    status = _cli(["status", "--json", "--workspace", str(ws), "--team-store", uri], env, home)
    assert json.loads(status.stdout)["team"] == {**json.loads(status.stdout)["team"],
                                                 "reachable": True, "queued": 0}
    _no_secret_anywhere(secret, home, got.stdout, got.stderr, status.stdout, status.stderr)


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A moto server that checks IAM: a bucket and a user who may read it but not write."""
    import boto3

    port = free_port()
    log = tmp_path_factory.mktemp("moto-auth") / "moto.log"
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "4"}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H",
                             "127.0.0.1", "-p", str(port)], stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        kw = {"endpoint_url": endpoint, "region_name": "us-east-1",
              "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        bucket = f"ro-{uuid.uuid4().hex[:10]}"
        boto3.client("s3", **kw).create_bucket(Bucket=bucket)
        iam = boto3.client("iam", **kw)
        iam.create_user(UserName="reader")
        iam.put_user_policy(UserName="reader", PolicyName="read-only", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]}))
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        yield {"AWS_ENDPOINT_URL": endpoint, "AWS_ALLOW_HTTP": "true",
               "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
               "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"], "AWS_REGION": "us-east-1",
               "AWS_DEFAULT_REGION": "us-east-1", "bucket": bucket}
    finally:
        proc.terminate()
        proc.wait(10)


def test_bucket_without_write_permission_is_named_and_work_kept(
        auth_server: dict[str, str], tmp_path: Path) -> None:
    env = dict(auth_server)
    uri = f"s3://{env.pop('bucket')}/p"
    ws = tmp_path / "ws"
    ws.mkdir()
    home = tmp_path / "home"
    got = _cli(["remember", "--block", "project", "a payments API", "--workspace", str(ws),
                "--team-store", uri], env, home)
    assert got.returncode == 0, got.stderr
    assert "Traceback" not in got.stderr
    assert "denied" in got.stderr and "teamStore" in got.stderr, got.stderr
    assert "a payments API" in next(home.rglob("queue.jsonl")).read_text()
    status = json.loads(_cli(["status", "--json", "--workspace", str(ws), "--team-store", uri],
                             env, home).stdout)
    assert status["team"]["queued"] == 1 and "denied" in status["team"]["error"]
    assert env["AWS_SECRET_ACCESS_KEY"] not in json.dumps(status)


# -- the LSP face ---------------------------------------------------------------------------


async def test_team_store_reaches_the_server_through_its_settings(
        s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lsprotocol import types as T
    from pytest_lsp import ClientServerConfig, client_capabilities

    uri = f"s3://{s3_server.new_bucket()}/p"
    ws = tmp_path / "ws"
    ws.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LSP_AGENT_"))}
    env.update(s3_server.env, LSP_AGENT_HOME=str(tmp_path / "home"),
               PYTHONPATH=str(REPO), LITELLM_LOCAL_MODEL_COST_MAP="True")
    config = ClientServerConfig(server_command=[sys.executable, "-m", "lsp_agent", "serve"],
                                server_env=env)

    async def session(trusted: bool) -> tuple[dict[str, Any], str]:
        client = await config.start()
        try:
            await client.initialize_session(T.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"), root_uri=ws.as_uri(),
                workspace_folders=[T.WorkspaceFolder(uri=ws.as_uri(), name="ws")],
                initialization_options={"lspAgent": {
                    "teamStore": uri, "trustWorkspace": trusted, "embedder": "none"}}))
            if trusted:
                await client.workspace_execute_command_async(T.ExecuteCommandParams(
                    command="lspAgent.remember",
                    arguments=[{"text": "release with make release", "block": "commands"}]))
            status = await client.workspace_execute_command_async(T.ExecuteCommandParams(
                command="lspAgent.status", arguments=[{}]))
            await asyncio.sleep(0.2)
            return status["data"], " ".join(m.message for m in client.messages)
        finally:
            await client.shutdown_session()
            await client.stop()

    data, _ = await session(trusted=True)
    assert data["team"]["store"] == uri and data["team"]["reachable"] is True
    assert data["team"]["queued"] == 0
    data, messages = await session(trusted=False)
    assert data["team"] is None and "teamStore is ignored in an untrusted workspace" in messages
    # what the trusted session wrote is in the team store, seen by another machine
    for key, value in {**s3_server.env, "LSP_AGENT_HOME": str(tmp_path / "home2")}.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "ws2").mkdir()
    mem = AgentMemory(tmp_path / "ws2", embedder="none", team_uri=uri)
    mem.open(resume_vectors=False)
    assert "release with make release" in [b for b in mem.blocks.list()
                                           if b.label == "commands"][0].value


def test_doctor_shows_and_repairs_what_a_killed_machine_left_in_the_team_store(
        team, machine) -> None:
    """A machine killed mid-edit left a winning version without its block row and a losing
    claim: `doctor` counts both, `doctor --repair` finishes the one and takes back the other."""
    from lsp_agent.commands.views import doctor_doc

    machine("alice")  # its folders
    svc, _ = _service(team, "alice", [])
    try:
        blocks = svc.memory.team.blocks
        claim_twice(blocks, "project", blocks.get("project").version + 1, "", "the winner",
                    "the loser")
        report = asyncio.run(svc.doctor())
        assert report.team is not None and report.team.status.reachable is True
        assert report.team.pending == {"unfinished edits": 1, "losing claims left": 1}
        shown = doctor_doc(report).plain()
        assert "team store pending: 1 unfinished edits, 1 losing claims left" in shown, shown
        fixed = asyncio.run(svc.doctor(repair=True))
        assert fixed.team is not None and not fixed.team.problem
        assert fixed.team.pending == {"unfinished edits": 0, "losing claims left": 0}
        assert any("killed machines" in r for r in fixed.team.repaired)
        assert "team store pending: nothing" in doctor_doc(fixed).plain()
    finally:
        svc.close()
    assert machine("bob").blocks.get("project").value == "the winner"


def test_a_queued_write_stays_queued_while_the_store_is_too_busy_to_judge_it(
        team, machine, monkeypatch) -> None:
    """Replay meets HistoryUnreadable (the store did not say which of two claims came first):
    the write is busy, not refused, so it stays in the queue and lands on a later replay."""
    from lsp_agent.memory.commits import VersionLedger

    monkeypatch.setattr(VersionLedger, "SETTLE_SECONDS", 0.0)
    monkeypatch.setattr(VersionLedger, "LOOK_BACK_TRIES", 1)
    a = machine("alice")
    assert a.team is not None
    a.team.queue.append({"kind": "block_edit", "label": "commands", "base": "",
                         "value": "- make test", "author": "user", "reason": "remember",
                         "by": "alice@m1", "description": "", "limit": 4000})
    blocks = a.team.blocks
    claim_twice(blocks, "commands", blocks.get("commands").version + 1, "", "- winner",
                "- loser")
    real = blocks.ledger._snapshot_handle()
    monkeypatch.setattr(blocks.ledger, "_snapshot", UnansweringHistory(real))
    assert a.team.replay() == 0
    assert len(a.team.queue.entries()) == 1 and not a.team.queue.set_aside_entries()
    monkeypatch.setattr(blocks.ledger, "_snapshot", real)
    assert a.team.replay() == 1
    value = machine("bob").blocks.get("commands").value
    assert "- winner" in value and "- make test" in value and "- loser" not in value
