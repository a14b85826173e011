"""Chunks follow syntax: whole definitions, split big classes, windowed huge functions."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from lsp_agent.learning import chunker
from lsp_agent.learning.chunker import Chunk, chunk_file


def _covered(chunks: list[Chunk]) -> set[int]:
    return {n for c in chunks for n in range(c.start_line, c.end_line + 1)}


def _nonblank(text: str) -> set[int]:
    return {i for i, line in enumerate(text.split("\n"), 1) if line.strip()}


def _check_consistent(chunks: list[Chunk], text: str) -> None:
    lines = text.split("\n")
    for c in chunks:
        assert c.text == "\n".join(lines[c.start_line - 1 : c.end_line])
    assert _nonblank(text) <= _covered(chunks)


def test_import_does_not_load_tree_sitter() -> None:
    code = "import sys, lsp_agent.learning.chunker; print('tree_sitter' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_language_uses_line_windows() -> None:
    text = "\n".join(f"line {i}" for i in range(1, 151))
    chunks = chunk_file("notes.xyz", text, None)
    assert [(c.start_line, c.end_line) for c in chunks] == [(1, 60), (51, 110), (101, 150)]
    assert {c.kind for c in chunks} == {"lines"}
    assert chunks[0].header == "notes.xyz:1-60 lines"
    _check_consistent(chunks, text)


def test_empty_file_has_no_chunks() -> None:
    assert chunk_file("a.py", "\n  \n", "python") == []


def test_python_small_definitions_are_merged() -> None:
    pytest.importorskip("tree_sitter_python")
    text = textwrap.dedent(
        '''\
        """Module doc."""
        import os


        def alpha():
            return 1


        # beta's comment
        def beta():
            return 2


        class Gamma:
            def method(self):
                return os.sep
        '''
    )
    chunks = chunk_file("pkg/mod.py", text, "python")
    assert len(chunks) == 1
    (chunk,) = chunks
    assert (chunk.start_line, chunk.end_line) == (1, 16)
    assert chunk.kind == "function"
    assert chunk.symbol == "alpha, beta, Gamma"
    assert chunk.header == "pkg/mod.py:1-16 function alpha, beta, Gamma"


def _big_function(name: str, statements: int, indent: str = "") -> str:
    body = "".join(
        f"{indent}    value_{i} = compute({i}) + other_value * {i}\n" for i in range(statements)
    )
    return f"{indent}def {name}(self):\n{body}{indent}    return value_0\n"


def test_large_class_is_split_into_methods() -> None:
    pytest.importorskip("tree_sitter_python")
    methods = "\n".join(_big_function(f"m{i}", 25, "    ") for i in range(6))
    text = f"@decorator\nclass Big(Base):\n    '''Doc.'''\n\n{methods}\n\ndef after():\n    pass\n"
    chunks = chunk_file("big.py", text, "python")
    _check_consistent(chunks, text)
    symbols = [c.symbol for c in chunks]
    assert chunks[0].kind == "class" and chunks[0].start_line == 1
    assert symbols[0] is not None and symbols[0].startswith("Big")
    for i in range(6):
        assert any(s and f"Big.m{i}" in s for s in symbols), symbols
    assert any(c.kind == "method" for c in chunks)
    assert all(len(c.text) <= chunker.MAX_CHARS for c in chunks)


def test_huge_function_is_split_at_statements_with_its_signature() -> None:
    pytest.importorskip("tree_sitter_python")
    text = "import x\n\n\n" + _big_function("huge", 200)
    chunks = chunk_file("huge.py", text, "python")
    _check_consistent(chunks, text)
    pieces = [c for c in chunks if c.symbol == "huge"]
    assert len(pieces) >= 4
    assert all(c.kind == "function" for c in pieces)
    assert pieces[0].text.startswith("def huge(self):") and pieces[0].context == ""
    for a, b in zip(pieces, pieces[1:], strict=False):
        assert b.start_line == a.end_line + 1  # cut between statements, none lost or repeated
        assert b.context == "def huge(self):"  # a piece from the middle says where it is from
        assert b.text.lstrip().startswith("value_")
    assert pieces[-1].end_line == text.count("\n")


def test_block_deep_inside_a_long_method_carries_class_and_method() -> None:
    pytest.importorskip("tree_sitter_python")
    filler = "".join(f"            total += step_{i}(item) * {i}\n" for i in range(90))
    deep = ("        if retry_after is not None:\n"
            "            delay = min(retry_after, self.max_delay)\n")
    method = ("    def run(self, items):\n        total = 0\n        for item in items:\n"
              + filler + deep + filler.replace("            ", "        ") + "        return total\n")
    text = 'class Worker(Base):\n    """Runs."""\n\n' + method
    chunks = chunk_file("w.py", text, "python")
    _check_consistent(chunks, text)
    (holder,) = [c for c in chunks if "retry_after is not None" in c.text]
    assert holder.symbol == "Worker.run"
    assert "class Worker(Base):" in holder.context and "def run(self, items):" in holder.context
    assert len(holder.text) <= chunker.MAX_CHARS


def test_long_loop_is_split_inside_with_its_head_as_context() -> None:
    pytest.importorskip("tree_sitter_python")
    filler = "".join(f"        total += step_{i}(item) * {i}\n" for i in range(200))
    text = "def run(items):\n    total = 0\n    for item in items:\n" + filler + "    return total\n"
    chunks = chunk_file("loop.py", text, "python")
    _check_consistent(chunks, text)
    inner = [c for c in chunks if c.text.lstrip().startswith("total += step_1")]
    assert inner and all("for item in items:" in c.context for c in inner)
    assert all("def run(items):" in c.context for c in inner)


def test_unparseable_text_falls_back_to_lines() -> None:
    pytest.importorskip("tree_sitter_python")
    text = "\n".join(f"}}}}}} ((( garbage ::: {i}" for i in range(20))
    chunks = chunk_file("bad.py", text, "python")
    assert chunks and {c.kind for c in chunks} == {"lines"}
    _check_consistent(chunks, text)


@pytest.mark.parametrize(
    ("language", "module", "path", "source", "symbols"),
    [
        (
            "typescript",
            "tree_sitter_typescript",
            "a.ts",
            "export class Shape {\n  area(): number { return 0; }\n}\n"
            "export const area = (s: Shape) => s.area();\n"
            "interface Named { name: string }\n",
            ["Shape", "area", "Named"],
        ),
        (
            "javascript",
            "tree_sitter_javascript",
            "a.js",
            "function run() {\n  return 1;\n}\nclass Box {}\n",
            ["run", "Box"],
        ),
        (
            "go",
            "tree_sitter_go",
            "a.go",
            "package main\n\ntype Server struct{}\n\nfunc (s *Server) Start() {}\n\nfunc main() {}\n",
            ["Server", "Server.Start", "main"],
        ),
        (
            "rust",
            "tree_sitter_rust",
            "a.rs",
            "struct Point { x: i32 }\n\nimpl Display for Point {\n    fn fmt(&self) {}\n}\n"
            "fn main() {}\n",
            ["Point", "Display for Point", "main"],
        ),
        (
            "java",
            "tree_sitter_java",
            "A.java",
            "package a;\n\npublic class App {\n  void run() {}\n}\n",
            ["App"],
        ),
        (
            "c",
            "tree_sitter_c",
            "a.c",
            "#include <stdio.h>\n\nstatic int *lookup(int key) {\n  return 0;\n}\n",
            ["lookup"],
        ),
    ],
)
def test_symbols_in_other_languages(
    language: str, module: str, path: str, source: str, symbols: list[str]
) -> None:
    pytest.importorskip(module)
    chunks = chunk_file(path, source, language)
    _check_consistent(chunks, source)
    assert len(chunks) == 1
    assert chunks[0].symbol == ", ".join(symbols)


def test_missing_grammar_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(chunker.GRAMMARS, "klingon", ("no_such_grammar_module", "language"))
    chunks = chunk_file("a.tlh", "qapla'\n", "klingon")
    assert [(c.kind, c.start_line, c.end_line) for c in chunks] == [("lines", 1, 1)]


def test_long_go_function_is_split_at_its_statements() -> None:
    pytest.importorskip("tree_sitter_go")
    body = "".join(f"\tv{i} := compute({i}, other)\n" for i in range(200))
    text = f"package x\n\nfunc Long(other int) int {{\n{body}\treturn v0\n}}\n"
    chunks = chunk_file("long.go", text, "go")
    _check_consistent(chunks, text)
    pieces = [c for c in chunks if c.symbol == "Long"]
    assert len(pieces) >= 3
    for a, b in zip(pieces, pieces[1:], strict=False):
        assert b.start_line == a.end_line + 1 and b.context == "func Long(other int) int {"
