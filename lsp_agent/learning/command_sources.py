"""Commands from task runners (make, just) and helper scripts (CI: research_ci).

These say how a project is really built and tested, often more reliably than its README.
"""

from __future__ import annotations

import re
from pathlib import Path

from lsp_agent.learning.research_facts import FactCollector, publishes, purpose_of


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
                    f"make {target}", rel, i + 1, target, runs, note=m.group(2) or "",
                    purpose="release" if publishes(*recipe) else None,
                )
                ctx.task_purposes[("make", target)] = purpose
        return


#: justfile recipe groups that are not the project's work: demos and examples.
_SHOW_GROUPS = re.compile(r"^(demos?|examples?|samples?|fun)$", re.I)
#: Group names that say a recipe's purpose (`[group: 'check']` is lint).
_GROUP_PURPOSE = {"check": "lint", "checks": "lint", "ci": "lint", "doc": "docs", "dev": "other"}


def just_recipes(ctx: FactCollector) -> None:
    """justfile recipes with their first command; private (`_x`, `[private]`) and demo-group
    recipes are left out, and a recipe's group (`[group: 'check']`) gives its purpose when
    its name does not."""
    for rel in ("justfile", "Justfile", ".justfile"):
        text = ctx.read(rel)
        if text is None:
            continue
        lines = text.splitlines()
        attrs: list[str] = []
        for i, line in enumerate(lines):
            if re.match(r"^\[.*\]\s*$", line):
                attrs.append(line.strip()[1:-1])
                continue
            m = re.match(r"^@?([A-Za-z0-9_-]+)(?:\s+[^:=]*)?:(?!=)", line)
            recipe_attrs, attrs = attrs, []
            if not m or m.group(1) in ("set", "alias", "export", "import", "mod"):
                continue
            name = m.group(1)
            group = next((g for a in recipe_attrs for g in re.findall(
                r"group\s*[:(]\s*['\"]([^'\"]+)", a)), "")  # fmt: skip
            private = name.startswith("_") or any(a.strip() == "private" for a in recipe_attrs)
            body = []
            for r in lines[i + 1 :]:
                if r[:1] not in " \t":
                    break
                if r.strip():
                    body.append(r.strip().lstrip("@-"))
            script = bool(body) and body[0].startswith("#!")
            first = "" if script else next((r for r in body if not r.startswith("#")), "")
            purpose = purpose_of(name)
            if purpose == "other" and group:
                purpose = _GROUP_PURPOSE.get(group.lower()) or purpose_of(group)
            if purpose == "other":
                purpose = ctx.purpose_for("", "", first)
            if publishes(*body):
                purpose = "release"
            ctx.task_purposes[("just", name)] = purpose
            if private or _SHOW_GROUPS.match(group):
                continue
            note = "a script recipe" if script else ""
            ctx.command(f"just {name}", rel, i + 1, name, first, note=note, purpose=purpose)
        return


_RUNNERS = {".py": "python ", ".sh": "bash ", ".go": "go run ", ".js": "node ", ".mjs": "node ",
            ".cjs": "node ", ".rb": "ruby ", ".pl": "perl "}  # fmt: skip


def script_commands(ctx: FactCollector) -> None:
    """files under scripts/, described by their leading comment."""
    for rel in ctx.files("scripts")[:20]:
        text = ctx.read(rel) or ""
        doc = re.search(r'^(?:#!.*\n)?(?:[ \t]*\n)*(?:#|//|"""|\'\'\')\s*([^!\s].*)', text)
        what = doc.group(1).strip().strip("\"'") if doc else ""
        runner = _RUNNERS.get(Path(rel).suffix, "")
        text = f"`{runner}{rel}`" + (f" — {what[:150]}" if what else "")
        ctx.add("commands", text, rel, 1, purpose_of(Path(rel).stem), 2)
