"""Commands from task runners (make, just), CI workflows and helper scripts.

These say how a project is really built and tested, often more reliably than its README.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from lsp_agent.learning.research_facts import FactCollector, line_of, purpose_of

_TRIVIAL_SHELL = re.compile(
    r"^(#|echo\b|cd\b|export\b|set\b|if\b|fi\b|then\b|else\b|elif\b"
    r"|done\b|do\b|for\b|while\b|case\b|esac\b|exit\b|[{}()]|\w+=)"
)


def make_targets(ctx: FactCollector) -> None:
    """Makefile targets with their first recipe lines and trailing comments."""
    for rel in ("Makefile", "makefile", "GNUmakefile"):
        text = ctx.read(rel)
        if text is None:
            continue
        lines = text.splitlines()
        count = 0
        for i, line in enumerate(lines):
            m = re.match(
                r"^([A-Za-z0-9][\w.\-/]*(?:[ \t]+[A-Za-z0-9][\w.\-/]*)*)[ \t]*:(?![=:])"
                r"[^#=]*(?:##?\s*(.*))?$",
                line,
            )
            if not m or count >= 30:
                continue
            recipe = []
            for r in lines[i + 1 : i + 6]:
                if not r.startswith("\t"):
                    break
                recipe.append(r.strip().lstrip("@-").strip())
            runs = " && ".join(recipe[:3]) + (" && …" if len(recipe) > 3 else "")
            for target in m.group(1).split():
                count += 1
                ctx.command(f"make {target}", rel, i + 1, target, runs, note=m.group(2) or "")
        return


def just_recipes(ctx: FactCollector) -> None:
    """justfile recipes with their first command."""
    for rel in ("justfile", "Justfile", ".justfile"):
        text = ctx.read(rel)
        if text is None:
            continue
        lines = text.splitlines()
        for i, line in enumerate(lines):
            m = re.match(r"^@?([A-Za-z0-9_-]+)(?:\s+[^:=]*)?:(?!=)", line)
            if m and m.group(1) not in ("set", "alias", "export", "import", "mod"):
                body = [r.strip().lstrip("@-") for r in lines[i + 1 : i + 6] if r[:1] in " \t"]
                recipe = next((r for r in body if r), "")
                ctx.command(f"just {m.group(1)}", rel, i + 1, m.group(1), recipe)
        return


def _shell_commands(script: str) -> list[str]:
    cmds = []
    for raw in script.replace("\\\n", " ").splitlines():
        line = " ".join(raw.split())
        if line and not _TRIVIAL_SHELL.match(line) and not line.startswith("${{"):
            cmds.append(line)
    return cmds


def ci_commands(ctx: FactCollector) -> None:
    """run steps of GitHub Actions and GitLab CI jobs, and scripts under .ci/."""
    for rel in ctx.files(".github/workflows", "*.y*ml"):
        data, text = ctx.parse(rel, yaml.safe_load), ctx.read(rel) or ""
        jobs = data.get("jobs", {}) if isinstance(data, dict) else {}
        for job in jobs.values() if isinstance(jobs, dict) else ():
            for step in job.get("steps", []) if isinstance(job, dict) else []:
                if isinstance(step, dict) and isinstance(step.get("run"), str):
                    for cmd in _shell_commands(step["run"])[:5]:
                        ctx.command(cmd, rel, line_of(text, cmd.split()[0]), priority=2)
    data, text = ctx.parse(".gitlab-ci.yml", yaml.safe_load), ctx.read(".gitlab-ci.yml") or ""
    for job in data.values() if isinstance(data, dict) else ():
        script = job.get("script") if isinstance(job, dict) else None
        for cmd in script if isinstance(script, list) else []:
            for line in _shell_commands(str(cmd))[:5]:
                ctx.command(line, ".gitlab-ci.yml", line_of(text, line.split()[0]), priority=2)
    for rel in ctx.files(".ci"):
        text = ctx.read(rel) or ""
        for cmd in _shell_commands(text)[:12]:
            ctx.command(cmd, rel, line_of(text, cmd), priority=2)


def script_commands(ctx: FactCollector) -> None:
    """files under scripts/, described by their leading comment."""
    for rel in ctx.files("scripts")[:20]:
        text = ctx.read(rel) or ""
        doc = re.search(r'^(?:#!.*\n)?(?:[ \t]*\n)*(?:#|//|"""|\'\'\')\s*(\S.*)', text)
        what = doc.group(1).strip().strip("\"'") if doc else ""
        runner = "python " if rel.endswith(".py") else "bash " if rel.endswith(".sh") else ""
        text = f"`{runner}{rel}`" + (f" — {what[:150]}" if what else "")
        ctx.add("commands", text, rel, 1, purpose_of(Path(rel).stem), 2)
