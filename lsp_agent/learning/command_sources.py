"""Commands from task runners (make, just) and helper scripts (CI: research_ci).

These say how a project is really built and tested, often more reliably than its README.
"""

from __future__ import annotations

import re
from pathlib import Path

from lsp_agent.learning.research_facts import FactCollector, purpose_of


def make_targets(ctx: FactCollector) -> None:
    """Makefile targets with their first recipe lines and trailing comments."""
    for rel in ("Makefile", "makefile", "GNUmakefile"):
        text = ctx.read(rel)
        if text is None:
            continue
        lines = text.splitlines()
        phony = set(" ".join(re.findall(r"^\.PHONY\s*:(.*)$", text, re.M)).split())
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
            for r in lines[i + 1 : i + 8]:
                if not r.startswith("\t"):
                    break
                step = r.strip().lstrip("@-").strip()
                if step and not step.startswith(("$(info", "$(warning", "#")):
                    recipe.append(step)
            runs = " && ".join(recipe[:3]) + (" && …" if len(recipe) > 3 else "")
            for target in m.group(1).split():
                if ("/" in target or "." in target) and target not in phony:
                    continue  # a file the build makes, not a task
                count += 1
                purpose = ctx.command(
                    f"make {target}", rel, i + 1, target, runs, note=m.group(2) or ""
                )
                ctx.task_purposes[("make", target)] = purpose
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
                purpose = ctx.command(f"just {m.group(1)}", rel, i + 1, m.group(1), recipe)
                ctx.task_purposes[("just", m.group(1))] = purpose
        return


def script_commands(ctx: FactCollector) -> None:
    """files under scripts/, described by their leading comment."""
    for rel in ctx.files("scripts")[:20]:
        text = ctx.read(rel) or ""
        doc = re.search(r'^(?:#!.*\n)?(?:[ \t]*\n)*(?:#|//|"""|\'\'\')\s*([^!\s].*)', text)
        what = doc.group(1).strip().strip("\"'") if doc else ""
        runner = "python " if rel.endswith(".py") else "bash " if rel.endswith(".sh") else ""
        text = f"`{runner}{rel}`" + (f" — {what[:150]}" if what else "")
        ctx.add("commands", text, rel, 1, purpose_of(Path(rel).stem), 2)
