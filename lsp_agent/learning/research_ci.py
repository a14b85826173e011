"""Commands from CI workflows (GitHub Actions, GitLab CI), job by job.

A CI file says how a project is really checked, but not every job checks *this* project:
a nightly "downstream" job installs another repository and runs its tests, a release job
uploads artifacts. Jobs that check out or clone another project give no commands, release
jobs give `release` commands, and each step keeps the folder it runs in.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from lsp_agent.learning.research_facts import FactCollector, line_of, purpose_of

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
    r"|popd\b|docker\b|npx playwright\b)"
)
#: Installs that set up *the project* (not a tool such as tox or a browser).
_PROJECT_INSTALL = re.compile(
    r"(\s\.(\s|$|\[)|\s-e\s*\.|-r\s|requirements|\bsync\b|^(npm|pnpm|yarn|bun) (ci|install)\s*"
    r"(--frozen-lockfile|--immutable)?\s*$|poetry install|bundle install|go mod download)"
)
_ENV_PREFIX = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)+")


def _shell_commands(script: str) -> list[str]:
    """The command lines of a shell script, without comments, control flow and plumbing."""
    cmds = []
    for raw in script.replace("\\\n", " ").splitlines():
        line = _ENV_PREFIX.sub("", " ".join(raw.split()))
        if not line or _TRIVIAL_SHELL.match(line) or "${{" in line.split(" ", 1)[0]:
            continue
        if "$GITHUB_" in line or ">>" in line:
            continue
        cmds.append(line)
    return cmds


def _is_foreign(name: str, job: dict[str, Any]) -> bool:
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
        if "git clone" in str(step.get("run", "")):
            return True
    return False


def _add(
    ctx: FactCollector, cmd: str, src: str, line: int | None, folder: str, release: bool
) -> None:
    purpose = ctx.task_purpose(cmd) or purpose_of(cmd)
    if purpose == "install" and not _PROJECT_INSTALL.search(cmd):
        return
    if purpose == "other":
        return
    if release and purpose not in ("test", "lint", "format"):
        purpose = "release"
    note = f"in `{folder}/`" if folder and folder not in (".", "./") else ""
    ctx.command(cmd, src, line, note=note, priority=2, purpose=purpose)


def _github(ctx: FactCollector, rel: str) -> None:
    data, text = ctx.parse(rel, yaml.safe_load), ctx.read(rel) or ""
    if not isinstance(data, dict) or _FOREIGN_NAME.search(f"{rel} {data.get('name', '')}"):
        return
    jobs = data.get("jobs")
    for key, job in jobs.items() if isinstance(jobs, dict) else ():
        if not isinstance(job, dict) or _is_foreign(str(key), job):
            continue
        release = bool(_RELEASE_JOB.search(f"{key} {job.get('name', '')}"))
        defaults = (job.get("defaults") or {}).get("run") or {}
        folder = str(defaults.get("working-directory", "")) if isinstance(defaults, dict) else ""
        for step in job.get("steps", []) or []:
            if not isinstance(step, dict) or not isinstance(step.get("run"), str):
                continue
            where = str(step.get("working-directory", folder))
            for cmd in _shell_commands(step["run"])[:5]:
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
    for rel in ctx.files(".github/workflows", "*.y*ml"):
        _github(ctx, rel)
    _gitlab(ctx)
    for rel in ctx.files(".ci"):
        text = ctx.read(rel) or ""
        for cmd in _shell_commands(text)[:12]:
            _add(ctx, cmd, rel, line_of(text, cmd), "", False)
