"""Conventions from linters, formatters and pytest: the rules code must pass, as configured.

An agent that writes code must meet the project's effective rules (line length, import
sorting, import aliases, type-checker strictness, warnings as errors), not generic ones.
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from typing import Any

import yaml

from lsp_agent.learning.research_facts import FactCollector, format_options, jsonc, line_of

_IMPORT = re.compile(r"""(?:from|require\()\s*['"]([^'"]+)['"]""")
_RULE = re.compile(r"""['"]?([@\w/-]+)['"]?\s*:\s*\[?\s*['"]?(error|warn|off|0|1|2)\b""")
_JS_SCALAR = re.compile(
    r"""^\s*['"]?(\w+)['"]?\s*:\s*('[^']*'|"[^"]*"|true|false|\d+)\s*,?\s*$""", re.M
)


def _ini(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(text)
    return parser


def _short(options: dict[str, Any], limit: int = 300) -> str:
    text = format_options(options)
    return text if len(text) <= limit else text[: limit - 1].rsplit(",", 1)[0] + ", …"


def _ruff(ctx: FactCollector, ruff: dict[str, Any], src: str, text: str) -> None:
    at = (lambda key: line_of(text, key)) if src == "pyproject.toml" else (lambda key: 1)
    opts: dict[str, Any] = {
        k: ruff[k] for k in ("line-length", "target-version", "indent-width") if k in ruff
    }
    lint: dict[str, Any] = ruff["lint"] if isinstance(ruff.get("lint"), dict) else ruff
    keys = ("select", "extend-select", "ignore", "extend-ignore")
    opts.update({f"lint.{k}": lint[k] for k in keys if k in lint})
    fmt = ruff.get("format") or {}
    opts.update({f"format.{k}": fmt[k] for k in ("quote-style", "indent-style") if k in fmt})
    summary = f"Ruff: {_short(opts)}" if opts else "Ruff configured"
    ctx.conv("ruff", summary, src, at("[tool.ruff"))
    if "line-length" in ruff:
        length = ruff["line-length"]
        ctx.conv("line-length", f"Line length {length}", src, line_of(text, "line-length"), 0)
    isort = lint.get("isort") or ruff.get("isort")
    selected = [str(c) for k in ("select", "extend-select") for c in lint.get(k, [])]
    if isinstance(isort, dict) and isort:
        ctx.conv("imports", f"Import sorting (ruff isort): {_short(isort)}", src, at("isort]"), 0)
    elif "I" in selected or "ALL" in selected:
        ctx.conv("imports", "Imports are sorted by ruff (isort rules, `I`)", src, at("select"))
    conventions = lint.get("flake8-import-conventions") or {}
    aliases = {**(conventions.get("aliases") or {}), **(conventions.get("extend-aliases") or {})}
    for module, alias in sorted(aliases.items()):
        line = line_of(text, "import-conventions", f'"{module}"') or at("import-conventions")
        ctx.conv("imports", f"Import `{module}` as `{alias}` (`import {module} as {alias}`)",
                 src, line, 0)  # fmt: skip
    for required in (isort or {}).get("required-imports", []) if isinstance(isort, dict) else []:
        ctx.conv("imports", f"Every module has `{required}`", src, at("required-imports"), 0)
    pydocstyle = lint.get("pydocstyle") or {}
    if pydocstyle.get("convention"):
        convention = pydocstyle["convention"]
        ctx.conv("docstrings", f"Docstrings follow the {convention} convention (ruff pydocstyle)",
                 src, at("convention"))  # fmt: skip


def _pytest(ctx: FactCollector, opts: dict[str, Any], src: str, line: int | None) -> None:
    keys = ("addopts", "testpaths", "filterwarnings", "markers", "xfail_strict", "strict",
            "minversion", "asyncio_mode", "python_files")  # fmt: skip
    shown = {}
    for key in keys:
        value = opts.get(key)
        if isinstance(value, str) and "\n" in value.strip():
            value = [v.strip() for v in value.strip().splitlines() if v.strip()]
        elif isinstance(value, str):
            value = value.strip()
        if value not in (None, "", []):
            shown[key] = value
    if shown:
        ctx.conv("pytest", f"pytest: {_short(shown, 400)}", src, line)
    warnings = shown.get("filterwarnings")
    warnings = [warnings] if isinstance(warnings, str) else warnings or []
    if any(str(w).strip() == "error" for w in warnings):
        ctx.conv("pytest", "Warnings are errors in tests (pytest `filterwarnings = error`)",
                 src, line, 0)  # fmt: skip
    if str(shown.get("xfail_strict", "")).lower() == "true" or shown.get("strict") is True:
        ctx.conv("pytest", "pytest is strict: an xfail test that passes fails the run", src, line)
    addopts = (
        " ".join(shown.get("addopts", []))
        if isinstance(shown.get("addopts"), list)
        else str(shown.get("addopts", ""))
    )
    markers = shown.get("markers")
    markers = [markers] if isinstance(markers, str) else markers or []
    if markers:
        names = ", ".join(f"`{str(m).split(':')[0].strip()}`" for m in markers[:10])
        strict = " (unknown markers are errors)" if "--strict-markers" in addopts else ""
        ctx.conv("pytest", f"pytest markers: {names}{strict}", src, line)
    deselect = re.search(r"-m\s+['\"]?(not \w+)", addopts) or re.search(r"-m', '(not \w+)", addopts)
    if deselect:
        ctx.conv("pytest", f'pytest runs `-m "{deselect.group(1)}"` by default', src, line)


def python_conventions(ctx: FactCollector) -> None:
    """ruff, isort, black, mypy, pyright, flake8 and pytest settings."""
    data = ctx.parse("pyproject.toml", tomllib.loads) or {}
    text, src = ctx.read("pyproject.toml") or "", "pyproject.toml"
    tool = data.get("tool", {}) if isinstance(data, dict) else {}
    if isinstance(tool.get("ruff"), dict):
        _ruff(ctx, tool["ruff"], src, text)
    for rel in ("ruff.toml", ".ruff.toml"):
        conf = ctx.parse(rel, tomllib.loads)
        if isinstance(conf, dict):
            _ruff(ctx, conf, rel, ctx.read(rel) or "")
    for name in ("black", "isort", "mypy", "pyright"):
        conf = tool.get(name)
        if isinstance(conf, dict):
            keep = {k: v for k, v in conf.items() if not isinstance(v, dict)}
            summary = f"{name}: {_short(keep)}" if keep else f"{name} configured"
            topic = "imports" if name == "isort" else name
            ctx.conv(topic, summary, src, line_of(text, f"[tool.{name}"))
    pytest = tool.get("pytest")
    if isinstance(pytest, dict):
        opts = pytest.get("ini_options", pytest)
        _pytest(ctx, opts, src, line_of(text, "[tool.pytest"))
    for rel, section, name in (
        ("setup.cfg", "flake8", "flake8"), (".flake8", "flake8", "flake8"),
        ("tox.ini", "flake8", "flake8"), ("setup.cfg", "mypy", "mypy"), ("mypy.ini", "mypy", "mypy"),
        ("setup.cfg", "isort", "isort"), (".isort.cfg", "settings", "isort"),
        ("setup.cfg", "tool:pytest", "pytest"), ("pytest.ini", "pytest", "pytest"),
        ("tox.ini", "pytest", "pytest"),
    ):  # fmt: skip
        ini = ctx.parse(rel, _ini)
        if ini is None or not ini.has_section(section):
            continue
        opts, line = dict(ini.items(section)), line_of(ctx.read(rel) or "", f"[{section}]")
        if name == "pytest":
            _pytest(ctx, opts, rel, line)
        elif opts:
            topic = "imports" if name == "isort" else name
            ctx.conv(topic, f"{name}: {_short(opts)}", rel, line)


def _eslint_summary(text: str, conf: Any) -> str:
    extends = conf.get("extends") if isinstance(conf, dict) else None
    used = extends if extends else sorted(set(_IMPORT.findall(text)))
    used = [used] if isinstance(used, str) else used
    rules = conf.get("rules") if isinstance(conf, dict) else None
    if isinstance(rules, dict):
        pairs = [(k, v[0] if isinstance(v, list) and v else v) for k, v in rules.items()]
    else:
        pairs = [(m.group(1), m.group(2)) for m in _RULE.finditer(text)]
    # The rules code must pass come first; turned-off rules only say what is allowed.
    on = [(k, v) for k, v in pairs if str(v) not in ("off", "0")]
    shown = [f"{k} {v}" for k, v in (on + [p for p in pairs if p not in on])[:12]]
    out = f"uses {', '.join(map(str, used))}" if used else ""
    if shown:
        out += ("; " if out else "") + "rules: " + ", ".join(shown)
    return out


def js_conventions(ctx: FactCollector) -> None:
    """ESLint (flat and legacy configs, package.json), XO, Prettier."""
    pkg = ctx.parse("package.json", json.loads)
    pkg = pkg if isinstance(pkg, dict) else {}
    pkg_text = ctx.read("package.json") or ""
    for rel in ctx.files(".", ".eslintrc*") + ctx.files(".", "eslint.config.*"):
        text = ctx.read(rel) or ""
        conf = ctx.parse(rel, yaml.safe_load) if not rel.endswith(("js", "ts")) else None
        detail = _eslint_summary(text, conf)
        ctx.conv("eslint", f"ESLint: {detail}" if detail else "ESLint configured", rel, 1)
    for key, label in (("eslintConfig", "ESLint"), ("xo", "XO (ESLint preset) lint")):
        if isinstance(pkg.get(key), dict):
            detail = _eslint_summary("", pkg[key])
            ctx.conv("eslint", f"{label}: {detail or 'defaults'}", "package.json",
                     line_of(pkg_text, f'"{key}"'))  # fmt: skip
    if isinstance(pkg.get("prettier"), dict):
        prettier = format_options(pkg["prettier"])
        ctx.conv(
            "prettier", f"Prettier: {prettier}", "package.json", line_of(pkg_text, '"prettier"')
        )
    for rel in (".prettierrc", ".prettierrc.json", ".prettierrc.yaml", ".prettierrc.yml"):
        conf = ctx.parse(rel, yaml.safe_load)  # YAML is a superset of JSON
        if isinstance(conf, dict):
            ctx.conv("prettier", f"Prettier: {format_options(conf)}", rel, 1)
    for rel in ctx.files(".", "prettier.config.*") + ctx.files(".", ".prettierrc.*js"):
        text = ctx.read(rel) or ""
        indent = min((len(m.group(0)) - len(m.group(0).lstrip()) for m in _JS_SCALAR.finditer(text)),
                     default=0)  # fmt: skip
        opts = {m.group(1): m.group(2).strip("'\"") for m in _JS_SCALAR.finditer(text)
                if len(m.group(0)) - len(m.group(0).lstrip()) == indent}  # fmt: skip
        ctx.conv("prettier", f"Prettier: {format_options(opts)}" if opts else
                 "Prettier configured (JS config)", rel, 1)  # fmt: skip
    formatter_configs(ctx)


def formatter_configs(ctx: FactCollector) -> None:
    """Formatters with their own config files: oxfmt, Biome, dprint (Prettier is above)."""
    for rel, name in ((".oxfmtrc.json", "oxfmt"), (".oxfmtrc.jsonc", "oxfmt"),
                      ("biome.json", "Biome"), ("biome.jsonc", "Biome"),
                      ("dprint.json", "dprint"), (".dprint.json", "dprint")):  # fmt: skip
        conf = ctx.parse(rel, jsonc)
        if not isinstance(conf, dict):
            continue
        if name == "Biome":
            conf = {**(conf.get("formatter") or {}),
                    **((conf.get("javascript") or {}).get("formatter") or {})}  # fmt: skip
        opts = {k: v for k, v in conf.items() if not k.startswith("$") and k != "plugins"}
        ctx.conv(name.lower(), f"{name} (formatter): {_short(opts) or 'defaults'}", rel, 1)


def cargo_lints(ctx: FactCollector) -> None:
    """`[lints.*]` (and `[workspace.lints.*]`) of Cargo.toml: the rustc and clippy levels."""
    cargo = ctx.parse("Cargo.toml", tomllib.loads) or {}
    lints = cargo.get("lints") or (cargo.get("workspace") or {}).get("lints") or {}
    text = ctx.read("Cargo.toml") or ""
    for tool, table in lints.items() if isinstance(lints, dict) else ():
        if not isinstance(table, dict):
            continue
        levels: dict[str, list[str]] = {}
        for lint, value in table.items():
            level = value.get("level") if isinstance(value, dict) else value
            levels.setdefault(str(level), []).append(lint)
        shown = "; ".join(f"{level}: {', '.join(names[:12])}" for level, names in
                          sorted(levels.items(), key=lambda kv: kv[0] == "allow"))  # fmt: skip
        ctx.conv("clippy" if tool == "clippy" else "rust", f"{tool} lints (Cargo.toml): {shown}",
                 "Cargo.toml", line_of(text, f"lints.{tool}]"))  # fmt: skip


def go_rust_conventions(ctx: FactCollector) -> None:
    """golangci-lint linters and formatters; rustfmt and clippy settings."""
    for rel in (".golangci.yml", ".golangci.yaml"):
        conf = ctx.parse(rel, yaml.safe_load)
        if not isinstance(conf, dict):
            continue
        text = ctx.read(rel) or ""
        linters = conf.get("linters") or {}
        enabled = linters.get("enable") or []
        default = linters.get("default") or ("all" if linters.get("enable-all") else "")
        if enabled or default:
            base = f" (default set: {default})" if default else ""
            names = ", ".join(map(str, enabled[:20]))
            ctx.conv("golangci", f"golangci-lint linters{base}: {names}", rel,
                     line_of(text, "linters:"))  # fmt: skip
        formatters = (conf.get("formatters") or {}).get("enable") or []
        if formatters:
            ctx.conv("gofmt", f"Go formatters (golangci-lint): {', '.join(map(str, formatters))}",
                     rel, line_of(text, "formatters:"), 0)  # fmt: skip
    for rel in ("rustfmt.toml", ".rustfmt.toml", "clippy.toml", ".clippy.toml"):
        conf = ctx.parse(rel, tomllib.loads)
        if conf is None:
            continue
        tool = "clippy" if "clippy" in rel else "rustfmt"
        detail = format_options(conf) if conf else "default settings"
        ctx.conv(tool, f"{rel}: {detail}", rel, 1)
    cargo_lints(ctx)
