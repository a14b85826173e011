"""Commands from Python task runners: tox (tox.ini, tox.toml, `[tool.tox]`), nox, poe, taskipy.

An environment's purpose comes from its name first, then its own commands: `tox -e typing`
runs mypy, so it is lint, not test. The purposes are recorded for the CI reader, which
sees only `tox run -e typing`.
"""

from __future__ import annotations

import ast
import configparser
import re
import tomllib
from typing import Any

from lsp_agent.learning.research_facts import FactCollector, line_of, purpose_of

#: Environments about other projects (they install and test dependents): not this project's.
_FOREIGN_ENV = re.compile(r"downstream|dependents", re.I)
#: A leading Python-version factor (py311, 3.12, pypy3): such envs are the default test run.
_PY_FACTOR = re.compile(r"^(py\d*|pypy\d*(\.\d+)?|\d\.\d+t?)(-|$)")
_MAX_ENVS = 14
#: Environments that exist to be a developer's virtualenv (`tox -e dev`, `tox -e venv`).
_DEV_ENV = re.compile(r"^(dev|develop|devenv|venv|dev-env)$")


def _expand(name: str) -> list[str]:
    """`docs-{build,linkcheck}` -> docs-build, docs-linkcheck (ranges such as {0-5} are kept)."""
    m = re.search(r"\{([^{}]*,[^{}]*)\}", name)
    if not m:
        return [name.strip()]
    out: list[str] = []
    for part in m.group(1).split(","):
        out += _expand(name[: m.start()] + part.strip() + name[m.end() :])
    return out


def _factor_lines(commands: str, env: str) -> list[str]:
    """The command lines of a tox.ini env; `docs: sphinx-build` lines only for that factor."""
    factors = set(re.split(r"[-,]", env))
    out = []
    for raw in re.sub(r"\s*\\\s*\n\s*", " ", commands).splitlines():  # `\` continues a line
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([\w.,\-!]+):\s+(.*)$", line)
        if m and not line.startswith(("http", "python ")):
            if not set(re.split(r"[-,]", m.group(1))) & factors:
                continue
            line = m.group(2)
        out.append(re.sub(r"\{env:\w+:([^}]*)\}", r"\1", line))
    return out


def _toml_commands(value: Any) -> list[str]:
    """tox TOML `commands`: a list of argv lists, with `{replace = ...}` dicts dropped."""
    out = []
    for argv in value if isinstance(value, list) else []:
        if isinstance(argv, list):
            out.append(" ".join(str(a) for a in argv if isinstance(a, str)))
        elif isinstance(argv, str):
            out.append(argv)
    return out


def _tox_env(
    ctx: FactCollector, env: str, cmds: list[str], src: str, line: int | None, note: str
) -> None:
    purpose = purpose_of(env)
    if purpose == "other" or _PY_FACTOR.match(env):
        purpose = purpose_of(env, *cmds, note) if purpose == "other" else purpose
    if _DEV_ENV.match(env):
        purpose = "install"  # `tox -e dev` makes the development environment
    ctx.task_purposes[("tox", env)] = purpose
    if _FOREIGN_ENV.search(env) or _PY_FACTOR.match(env) or "{" in env:
        return
    runs = " && ".join(cmds[:2]) + (" && …" if len(cmds) > 2 else "")
    ctx.command(f"tox -e {env}", src, line, runs=runs, note=note, priority=1, purpose=purpose)


def _tox_ini(ctx: FactCollector, text: str, src: str) -> None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(text)
    if not parser.has_section("tox") and not any(
        s.startswith("testenv") for s in parser.sections()
    ):
        return
    listed = parser.get("tox", "envlist", fallback="") or parser.get("tox", "env_list", fallback="")
    names = [n for raw in re.split(r"[\n,]+(?![^{]*\})", listed) for n in _expand(raw) if n]
    base = parser.get("testenv", "commands", fallback="")
    base_cmds = _factor_lines(base, "")
    ctx.command("tox", src, line_of(text, "[tox]"), runs=" && ".join(base_cmds[:2]),
                note=f"envs: {', '.join(names[:12])}" if names else "", purpose="test")  # fmt: skip
    envs: dict[str, list[str]] = {n: _factor_lines(base, n) for n in names if "#" not in n}
    lines: dict[str, int | None] = {}
    for section in parser.sections():
        if section.startswith("testenv:"):
            for env in _expand(section.split(":", 1)[1]):
                envs[env] = _factor_lines(parser.get(section, "commands", fallback=base), env)
                lines[env] = line_of(text, f"[{section}]")
    for env, cmds in list(envs.items())[: _MAX_ENVS * 2]:
        desc = parser.get(f"testenv:{env}", "description", fallback="")
        _tox_env(ctx, env, cmds, src, lines.get(env, line_of(text, "envlist")), desc)


def _tox_toml(ctx: FactCollector, conf: dict[str, Any], text: str, src: str) -> None:
    base = _toml_commands((conf.get("env_run_base") or {}).get("commands"))
    listed = [str(n) for n in conf.get("env_list", []) if isinstance(n, str)]
    ctx.command("tox", src, line_of(text, "env_list") or line_of(text, "tox"),
                runs=" && ".join(base[:2]), purpose="test",
                note=f"envs: {', '.join(listed[:12])}" if listed else "")  # fmt: skip
    envs = conf.get("env") or {}
    names = listed + [n for n in envs if n not in listed]
    for env in names[: _MAX_ENVS * 2]:
        data = envs.get(env) or {}
        cmds = _toml_commands(data.get("commands")) or base
        line = line_of(text, f"env.{env}]") or line_of(text, "env_list")
        _tox_env(ctx, env, cmds, src, line, str(data.get("description", "")))


def tox_envs(ctx: FactCollector) -> None:
    """tox environments from tox.ini, tox.toml or pyproject.toml (`[tool.tox]`, legacy_tox_ini)."""
    text = ctx.read("tox.ini")
    if text is not None:
        try:
            _tox_ini(ctx, text, "tox.ini")
        except configparser.Error:
            pass
        return
    conf = ctx.parse("tox.toml", tomllib.loads)
    if isinstance(conf, dict):
        _tox_toml(ctx, conf, ctx.read("tox.toml") or "", "tox.toml")
        return
    data = ctx.parse("pyproject.toml", tomllib.loads)
    tox = (data or {}).get("tool", {}).get("tox")
    text = ctx.read("pyproject.toml") or ""
    if isinstance(tox, dict) and isinstance(tox.get("legacy_tox_ini"), str):
        _tox_ini(ctx, tox["legacy_tox_ini"], "pyproject.toml")
    elif isinstance(tox, dict):
        _tox_toml(ctx, tox, text, "pyproject.toml")


def _session_name(func: ast.FunctionDef) -> str | None:
    for deco in func.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if ast.unparse(target) in ("nox.session", "session", "nox.session_decorator"):
            if isinstance(deco, ast.Call):
                for kw in deco.keywords:
                    if kw.arg == "name" and isinstance(kw.value, ast.Constant):
                        return str(kw.value.value)
            return func.name
    return None


def _session_runs(func: ast.FunctionDef) -> list[str]:
    out = []
    for node in ast.walk(func):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("run", "run_install")
        ):
            words = []
            for arg in node.args:
                if not isinstance(arg, ast.Constant):
                    break
                words.append(str(arg.value))
            out.append(" ".join(words))
    return [o for o in out if o]


def nox_sessions(ctx: FactCollector) -> None:
    """nox sessions, read with ast: names, docstrings and what they run."""
    text = ctx.read("noxfile.py")
    if text is None:
        return
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return
    for func in tree.body:
        if not isinstance(func, ast.FunctionDef):
            continue
        name = _session_name(func)
        if name is None:
            continue
        runs = _session_runs(func)
        purpose = purpose_of(name)
        purpose = purpose if purpose != "other" else purpose_of(name, *runs)
        ctx.task_purposes[("nox", name)] = purpose
        if _FOREIGN_ENV.search(name):
            continue
        doc = (ast.get_docstring(func) or "").strip().split("\n")[0]
        ctx.command(f"nox -s {name}", "noxfile.py", func.lineno, runs=" && ".join(runs[:2]),
                    note=doc, priority=1, purpose=purpose)  # fmt: skip


def pyproject_tasks(ctx: FactCollector) -> None:
    """Tasks declared in `[tool.poe.tasks]` and `[tool.taskipy.tasks]`."""
    data = ctx.parse("pyproject.toml", tomllib.loads) or {}
    text = ctx.read("pyproject.toml") or ""
    tool = data.get("tool", {})
    for runner, table in (("poe", "poe"), ("task", "taskipy")):
        tasks = (tool.get(table) or {}).get("tasks") or {}
        for name, task in tasks.items() if isinstance(tasks, dict) else ():
            if isinstance(task, dict):
                task = task.get("cmd") or task.get("shell") or task.get("help") or ""
            cmd = " && ".join(map(str, task)) if isinstance(task, list) else str(task)
            line = line_of(text, f"{table}.tasks", name)
            ctx.command(f"{runner} {name}", "pyproject.toml", line, name, cmd)


def docs_build(ctx: FactCollector) -> None:
    """The docs build, when no task above gave one: mkdocs, or Sphinx's docs/conf.py."""
    if any(f.category == "commands" and f.topic == "docs" for f in ctx.facts):
        return
    if ctx.read("mkdocs.yml") is not None:
        ctx.command("mkdocs build", "mkdocs.yml", 1, priority=1, purpose="docs")
        return
    for folder in ("docs", "doc"):
        conf = f"{folder}/conf.py"
        if ctx.read(f"{folder}/Makefile") is not None and ctx.read(conf) is not None:
            ctx.command(f"make -C {folder} html", f"{folder}/Makefile", 1, priority=1,
                        note="Sphinx docs", purpose="docs")  # fmt: skip
            return
        if ctx.read(conf) is not None:
            ctx.command(f"sphinx-build {folder} {folder}/_build/html", conf, 1, priority=1,
                        note="Sphinx docs", purpose="docs")  # fmt: skip
            return
