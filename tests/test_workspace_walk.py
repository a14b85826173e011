"""The one workspace walk: list_files, grep and the code index see the same files."""

from __future__ import annotations

import os
from pathlib import Path

from lsp_agent.agent.tools.base import PermissionMode, ToolContext
from lsp_agent.agent.tools.disk_host import DiskToolHost
from lsp_agent.agent.tools.read_tools import grep, list_files
from lsp_agent.learning.workspace_files import FileEntry, classify_file, iter_workspace_files
from lsp_agent.workspace_walk import walk_files, walked_file

TREE = {
    ".gitignore": "*.log\nsecrets/\n",
    "app.py": "MARKER = 'app'\n",
    "debug.log": "MARKER log\n",
    "secrets/key.py": "MARKER = 'secret'\n",
    "dist/bundle.py": "MARKER = 'dist'\n",
    "build/out.py": "MARKER = 'build'\n",
    "node_modules/lib/index.js": "// MARKER module\n",
    "pkg/__pycache__/mod.py": "MARKER = 'cache'\n",
    "pkg/.gitignore": "local_*.py\n!local_keep.py\n",
    "pkg/mod.py": "MARKER = 'mod'\n",
    "pkg/local_scratch.py": "MARKER = 'scratch'\n",
    "pkg/local_keep.py": "MARKER = 'keep'\n",
    "pkg/deep/dist/x.py": "MARKER = 'nested dist'\n",
    "web/src/app.ts": "// MARKER ts\n",
    "tool.egg-info/PKG-INFO": "MARKER egg\n",
}
EXPECTED = [".gitignore", "app.py", "pkg/.gitignore", "pkg/local_keep.py", "pkg/mod.py",
            "web/src/app.ts"]


def make_tree(root: Path) -> Path:
    for rel, text in TREE.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def ctx(ws: Path) -> ToolContext:
    return ToolContext(workspace=ws, host=DiskToolHost(True), permission_mode=PermissionMode.ASK)


async def test_list_files_grep_and_index_walk_agree(tmp_path: Path) -> None:
    ws = make_tree(tmp_path / "ws")
    indexed = [e.rel_path for e in iter_workspace_files(ws) if isinstance(e, FileEntry)]
    listed = (await list_files(ctx(ws))).splitlines()
    grepped = [line.split(":", 1)[0] for line in (await grep(ctx(ws), pattern="MARKER"))
               .splitlines()]
    assert indexed == listed == EXPECTED  # the same files, in the same order
    assert grepped == [p for p in EXPECTED if "MARKER" in TREE[p]]
    assert [f.rel_path for f in walk_files(ws)] == EXPECTED
    # one file at a time (an editor's save) gets the walk's verdict too
    for rel in TREE:
        verdict = classify_file(ws, rel)
        assert (verdict is not None) == (rel in EXPECTED), rel
        assert (walked_file(ws, rel) is not None) == (rel in EXPECTED), rel


async def test_a_skipped_directory_named_explicitly_is_walked(tmp_path: Path) -> None:
    ws = make_tree(tmp_path / "ws")
    assert (await list_files(ctx(ws), path="build")).splitlines() == ["build/out.py"]
    assert (await list_files(ctx(ws), path="secrets")).splitlines() == ["secrets/key.py"]
    assert "dist/bundle.py:1:MARKER" in await grep(ctx(ws), pattern="MARKER", path="dist")
    assert [f.rel_path for f in walk_files(ws, ws / "pkg")] == [
        "pkg/.gitignore", "pkg/local_keep.py", "pkg/mod.py"]


async def test_symlinks_leaving_the_workspace_are_left_out_alike(tmp_path: Path) -> None:
    ws = make_tree(tmp_path / "ws")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "leak.py").write_text("MARKER = 'outside'\n")
    os.symlink(outside / "leak.py", ws / "leak.py")
    os.symlink(outside, ws / "leakdir")
    os.symlink(ws / "pkg", ws / "pkg_link")  # a directory inside: found where it really is
    skipped = {e.rel_path: e.reason for e in iter_workspace_files(ws)
               if not isinstance(e, FileEntry)}
    assert skipped == {"leak.py": "symlink outside workspace",
                       "leakdir": "symlink outside workspace"}
    assert (await list_files(ctx(ws))).splitlines() == EXPECTED
    assert "outside" not in await grep(ctx(ws), pattern="MARKER")
