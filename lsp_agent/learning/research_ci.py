"""Commands from CI workflows (GitHub Actions, GitLab CI), job by job.

A CI file says how a project is really checked, but not every job checks *this* project:
a nightly "downstream" job installs another repository and runs its tests, a release job
uploads artifacts. Jobs that check out or clone another project give no commands, release
jobs give `release` commands, and each step keeps the folder it runs in. A step a developer
cannot run as written gives nothing either: one that needs the CI's own values (`${{ }}`
expressions, a secret, a variable the step's env takes from them), one that runs an
artifact an earlier step built, or one that calls a task runner the repository lacks.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from lsp_agent.learning.research_facts import PROJECT_INSTALL, FactCollector, line_of, purpose_of

#: A job (or workflow) about other projects: its commands are not this project's.
_FOREIGN_NAME = re.compile(
    r"downstream|integration[-_ ]with|third[-_ ]party|dependents|external[-_ ]project", re.I
)
_RELEASE_JOB = re.compile(r"release|publish|deploy|upload", re.I)
_TRIVIAL_SHELL = re.compile(
    r"^(#|echo\b|cd\b|export\b|set\b|if\b|fi\b|then\b|else\b|elif\b|done\b|do\b|for\b"
    r"|while\b|case\b|esac\b|exit\b|[{}()]|\w+=\S*$|\$|source\b|\.\s|tar\b|rm\b|cp\b|mv\b"
    r"|mkdir\b|cat\b|ls\b|tee\b|jq\b|curl\b|wget\b|sed\b|awk\b|sudo\b|apt(-get)?\b|brew\b"
    r"|choco\b|git\b|test\b|\[|printf\b|chmod\b|which\b|env\b|sleep\b|shopt\b|python3? -I?c\b"
    r"|gh\b(?! release (create|upload|edit))|codecov\b|wait\b|true\b|false\b|:|unset\b|pushd\b"
    r"|popd\b|docker\b|npx playwright\b|man\b)"
)
#: Another repository installed from git (pip git+URL, npm github: or owner/repo specs) or
#: tested as an installed package (`pytest --pyargs other`): the job is about that project.
_GIT_INSTALL = re.compile(
    r"\b(?:pip3?|uv pip|npm|pnpm|yarn|bun)\s+(?:install|i|add)\b.*?"
    r"(?:git\+\S+?/([\w.-]+?)(?:\.git)?(?:[@#]\S*)?(?=\s|$)|github:[\w.-]+/([\w.-]+))"
)
_IN_NODE_MODULES = re.compile(r"(?:\bcd|--prefix|-C)\s+\.?/?node_modules/")
_PYARGS = re.compile(r"--pyargs\s+([\w.]+)")
_ENV_PREFIX = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)+")


def _shell_commands(script: str) -> list[str]:
    """The command lines of a shell script, without comments, control flow and plumbing.

    A line that needs the CI's own values (`${{ matrix.x }}`) or feeds a here-document to a
    program is not a command a developer runs; the here-document's body is skipped too."""
    cmds = []
    until = None
    for raw in script.replace("\\\n", " ").splitlines():
        if until is not None:
            until = None if raw.strip() == until else until
            continue
        heredoc = re.search(r"<<-?\s*['\"]?(\w+)", raw)
        if heredoc:
            until = heredoc.group(1)
            continue
        line = _ENV_PREFIX.sub("", " ".join(raw.split()))
        if not line or _TRIVIAL_SHELL.match(line) or "${{" in line:
            continue
        if "$GITHUB_" in line or ">>" in line:
            continue
        cmds.append(line)
    return cmds


def _is_foreign(name: str, job: dict[str, Any], own: set[str]) -> bool:
    """A job that checks out or clones another repository, or says it tests dependents."""
    if _FOREIGN_NAME.search(name) or _FOREIGN_NAME.search(str(job.get("name", ""))):
        return True
    for step in job.get("steps", []) or []:
        if not isinstance(step, dict):
            continue
        uses, with_ = str(step.get("uses", "")), step.get("with") or {}
        if uses.startswith("actions/checkout") and isinstance(with_, dict):
            if with_.get("repository"):
                return True
        run = str(step.get("run", ""))
        if "git clone" in run or _installs_other(run, own):
            return True
    return False


def _installs_other(run: str, own: set[str]) -> bool:
    """The script installs another repository from git, or tests an installed package by name."""
    for m in _GIT_INSTALL.finditer(run):
        name = next(g for g in m.groups() if g)
        if name.lower() not in own:
            return True
    if _IN_NODE_MODULES.search(run):
        return True  # runs something inside an installed dependency: another project's
    return any(m.group(1).split(".")[0].lower() not in own for m in _PYARGS.finditer(run))


def _own_names(ctx: FactCollector) -> set[str]:
    """This project's names (manifest name, folder, packages), to tell another project apart."""
    names = {ctx.root.name.lower()}
    for fact in ctx.facts:
        if fact.category == "project" and fact.topic == "name":
            name = fact.text.split(": ", 1)[-1].split(" (")[0].strip().lower()
            names |= {name, name.replace("-", "_"), *name.lstrip("@").split("/")}
    names |= {p.name.lower() for p in (ctx.root / "src").glob("*") if p.is_dir()}
    return names


def _needs_ci(cmd: str, step: dict[str, Any]) -> bool:
    """The step takes a secret, or `cmd` uses a variable the step's env fills from the CI."""
    env: dict[Any, Any] = step["env"] if isinstance(step.get("env"), dict) else {}
    if any("secrets." in str(v) for v in env.values()):
        return True
    return any("${{" in str(v) and re.search(rf"\$\{{?{re.escape(str(k))}\b", cmd)
               for k, v in env.items())  # fmt: skip


def _built_artifact(ctx: FactCollector, cmd: str, folder: str) -> bool:
    """`cmd` runs a file by path that the repository does not hold (an earlier step built it)."""
    words = cmd.split()
    if words and re.match(r"^(python3?|node|bash|sh|pwsh)$", words[0]) and len(words) > 1:
        words = words[1:]
    prog = words[0] if words else ""
    if not re.search(r"[/\\]|\.(pyz|exe)$", prog) or prog.startswith(("-", "$")):
        return False
    rel = prog.replace("\\", "/")
    base = ctx.root / folder if folder and folder not in (".", "./") else ctx.root
    return not (base / rel).exists()


def _developer_release(ctx: FactCollector, cmd: str, folder: str) -> bool:
    """A release step a maintainer runs by hand too: a task (`make release`, `npm run
    release`) or a script of the repository; not the CI's own `gh`/`twine`/`npx` calls."""
    if ctx.task_purpose(cmd) is not None:
        return True
    words = [w for w in cmd.split() if not re.match(r"^(python3?|node|bash|sh|go|run)$", w)]
    base = ctx.root / folder if folder and folder not in (".", "./") else ctx.root
    return bool(words) and "/" in words[0] and (base / words[0]).is_file()


def _add(
    ctx: FactCollector, cmd: str, src: str, line: int | None, folder: str, release: bool
) -> None:
    if ctx.runner_missing(cmd, folder) or _built_artifact(ctx, cmd, folder):
        return
    purpose = ctx.task_purpose(cmd) or purpose_of(cmd)
    if purpose == "install" and not PROJECT_INSTALL.search(cmd):
        return
    if purpose == "other":
        return
    if release and purpose not in ("test", "lint", "format", "build"):
        purpose = "release"
    if purpose == "release" and not _developer_release(ctx, cmd, folder):
        return
    note = f"in `{folder}/`" if folder and folder not in (".", "./") else ""
    ctx.command(cmd, src, line, note=note, priority=2, purpose=purpose)


def _github(ctx: FactCollector, rel: str, own: set[str]) -> None:
    data, text = ctx.parse(rel, yaml.safe_load), ctx.read(rel) or ""
    if not isinstance(data, dict) or _FOREIGN_NAME.search(f"{rel} {data.get('name', '')}"):
        return
    jobs = data.get("jobs")
    runs = data.get("runs")  # a composite action of this repository: its steps are a job's
    if isinstance(runs, dict) and isinstance(runs.get("steps"), list):
        jobs = {"steps": {"name": data.get("name", ""), "steps": runs["steps"]}}
    for key, job in jobs.items() if isinstance(jobs, dict) else ():
        if not isinstance(job, dict) or _is_foreign(str(key), job, own):
            continue
        release = bool(_RELEASE_JOB.search(f"{key} {job.get('name', '')}"))
        defaults = (job.get("defaults") or {}).get("run") or {}
        folder = str(defaults.get("working-directory", "")) if isinstance(defaults, dict) else ""
        for step in job.get("steps", []) or []:
            if not isinstance(step, dict) or not isinstance(step.get("run"), str):
                continue
            where = str(step.get("working-directory", folder))
            for cmd in _shell_commands(step["run"])[:5]:
                if _needs_ci(cmd, step):
                    continue
                line = line_of(text, f"{key}:", cmd.split()[0])
                _add(ctx, cmd, rel, line, where, release)


def _gitlab(ctx: FactCollector) -> None:
    data, text = ctx.parse(".gitlab-ci.yml", yaml.safe_load), ctx.read(".gitlab-ci.yml") or ""
    for key, job in data.items() if isinstance(data, dict) else ():
        if not isinstance(job, dict) or _FOREIGN_NAME.search(str(key)):
            continue
        script = job.get("script")
        release = bool(_RELEASE_JOB.search(str(key)) or job.get("stage") in ("release", "deploy"))
        for cmd in script if isinstance(script, list) else []:
            for line in _shell_commands(str(cmd))[:5]:
                where = line_of(text, f"{key}:", line.split()[0])
                _add(ctx, line, ".gitlab-ci.yml", where, "", release)


def ci_commands(ctx: FactCollector) -> None:
    """run steps of GitHub Actions and GitLab CI jobs, and scripts under .ci/."""
    own = _own_names(ctx)
    actions = ctx.files(".github/actions", "*/action.y*ml")
    for rel in ctx.files(".github/workflows", "*.y*ml") + actions:
        _github(ctx, rel, own)
    _gitlab(ctx)
    for rel in ctx.files(".ci"):
        text = ctx.read(rel) or ""
        for cmd in _shell_commands(text)[:12]:
            _add(ctx, cmd, rel, line_of(text, cmd), "", False)
