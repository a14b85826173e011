"""Issue 9's search defects, through both faces on one real, initialised workspace: the code
source gets the mode, scores come out in order, blocks never match on stop words, and a block's
snippet is a matching line, never init's marker comment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

pytestmark = pytest.mark.vectors

ROOT = Path(tempfile.mkdtemp(prefix="lsp-agent-search-"))
WS = ROOT / "ws"
STORE = ROOT / "store"
ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("LSP_AGENT_")},
       "LSP_AGENT_HOME": str(ROOT / "home"), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
FILES = {
    "pyproject.toml": '[project]\nname = "shop"\n\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
    "shop/billing.py": (
        "def charge_card(amount, card):\n"
        "    \"\"\"Charge a card; on a gateway timeout wait and try again, up to 3 times.\"\"\"\n"
        "    for attempt in range(3):\n"
        "        if gateway.charge(amount, card):\n"
        "            return True\n"
        "        sleep(2 ** attempt)\n"
        "    return False\n"),
    "shop/catalog.py": (
        "def list_products(category):\n"
        "    \"\"\"Products of a category, cheapest first.\"\"\"\n"
        "    return sorted(db.products(category), key=lambda p: p.price)\n"),
    "tests/test_catalog.py": "def test_list_products():\n    assert list_products('x') == []\n",
}
QUERY_MEANING = "retry when the payment provider is slow"  # no literal overlap with the code
QUERY_STOP = "how do I run the tests"


def _prepare() -> None:
    if (ROOT / "ready").exists():
        return
    for rel, text in FILES.items():
        path = WS / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    out = subprocess.run([sys.executable, "-m", "lsp_agent", "init", "--wait", "--workspace", str(WS),
                          "--store", str(STORE)], env=ENV, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    (ROOT / "ready").touch()


def cli_search(query: str, *extra: str) -> list[dict]:
    _prepare()
    out = subprocess.run([sys.executable, "-m", "lsp_agent", "search", query, "--json",
                          "--workspace", str(WS), "--store", str(STORE), *extra], env=ENV,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["results"]


def assert_search_is_right(search) -> None:  # noqa: ANN001 - a face's search function
    by_mode = {m: search(QUERY_MEANING, kind="code", mode=m) for m in ("vector", "text")}
    assert by_mode["vector"] and by_mode["vector"][0]["path"] == "shop/billing.py"
    assert [h["id"] for h in by_mode["vector"]] != [h["id"] for h in by_mode["text"]]
    for mode in ("hybrid", "vector", "text"):
        for kind in ("all", "code", "blocks"):
            scores = [h["score"] for h in search(QUERY_MEANING if kind == "code" else "tests",
                                                 kind=kind, mode=mode)]
            assert scores == sorted(scores, reverse=True), (kind, mode, scores)
    stop = search(QUERY_STOP, kind="all", mode="hybrid")
    blocks = [h for h in stop if h["kind"] == "block"]
    assert "human" not in [h["id"] for h in blocks]  # the empty block never matches
    for hit in search("pytest tests", kind="blocks", mode="hybrid"):
        assert "<!--" not in hit["snippet"] and hit["snippet"].strip(), hit


def test_cli_search_defects_fixed() -> None:
    def search(query: str, kind: str, mode: str) -> list[dict]:
        return cli_search(query, "--kind", kind, "--mode", mode)

    assert_search_is_right(search)


def test_cli_search_kinds_and_filters() -> None:
    code = cli_search("list_products", "--kind", "code", "--mode", "text")
    assert [h["path"] for h in code] == ["shop/catalog.py"]  # the test that calls it stays out
    tests = cli_search("list_products", "--kind", "tests", "--mode", "text")
    assert [h["path"] for h in tests] == ["tests/test_catalog.py"]
    narrowed = cli_search("products", "--path", "shop/**", "--language", "python", "--mode", "text")
    assert narrowed and {h["path"] for h in narrowed} <= {"shop/catalog.py", "shop/billing.py"}
    wrong = subprocess.run([sys.executable, "-m", "lsp_agent", "search", "x", "--kind", "blocks",
                            "--path", "src/**", "--workspace", str(WS), "--store", str(STORE)],
                           env=ENV, capture_output=True, text=True, timeout=300)
    assert wrong.returncode == 2 and "narrow code search" in wrong.stderr
    assert "Traceback" not in wrong.stderr


CONFIG = ClientServerConfig(server_command=[sys.executable, "-m", "lsp_agent", "serve"],
                            server_env=ENV)


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    _prepare()
    await lsp_client.initialize_session(T.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=WS.as_uri(),
        workspace_folders=[T.WorkspaceFolder(uri=WS.as_uri(), name="ws")],
        initialization_options={"lspAgent": {"store": str(STORE)}}))
    yield
    await lsp_client.shutdown_session()


async def test_lsp_search_defects_fixed(client: LanguageClient) -> None:
    found: dict[tuple[str, str, str], list[dict]] = {}
    for query in (QUERY_MEANING, "tests", QUERY_STOP, "pytest tests"):
        for kind in ("all", "code", "blocks"):
            for mode in ("hybrid", "vector", "text"):
                result = await client.workspace_execute_command_async(T.ExecuteCommandParams(
                    command="lspAgent.search",
                    arguments=[{"query": query, "kind": kind, "mode": mode}]))
                found[(query, kind, mode)] = result["data"]["results"]

    def search(query: str, kind: str, mode: str) -> list[dict]:
        return found[(query, kind, mode)]

    assert_search_is_right(search)


def teardown_module() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)
