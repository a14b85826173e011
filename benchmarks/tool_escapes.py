"""Figures for the file-tool escape suite (issue 11): attempts, per tool, escapes.

    python benchmarks/tool_escapes.py [--json out.json]

Runs tests/test_tool_escapes.py's whole matrix (every path and glob attempt with read_file,
list_files, grep, edit_file and write_file, in every permission mode, the host approving
everything) and counts escapes: a canary's content or an outside file name in an output, a
change outside the workspace, a probe file created in a system directory. Also counts
unexpected exceptions (a failure that is not one sentence) and refusals that do not say why.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from lsp_agent.agent.tools.base import PermissionMode  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    import test_tool_escapes as t  # the suite's worlds, attempts and checks

    with tempfile.TemporaryDirectory() as tmp:
        figures = asyncio.run(t.run_matrix(Path(tmp), list(PermissionMode)))
    figures["path_attempts"] = len(t.PATHS)
    figures["glob_attempts"] = len(t.GLOBS)
    figures["problems"] = figures["problems"][:50]
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
