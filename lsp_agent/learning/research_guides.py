"""Commands and rules from contributor guides and pull-request templates.

CONTRIBUTING files and docs/contributing pages say which commands a contributor runs; a
pull-request template's checklist says what every change must bring (tests, a changelog
entry, `versionchanged` directives). Only commands of known tools are taken, and only
sentences that state a rule, so that prose does not become a "fact".
"""

from __future__ import annotations

import re

from lsp_agent.learning.research_facts import (
    PROJECT_INSTALL,
    FactCollector,
    line_of,
    purpose_of,
)

GUIDE_FILES = ("CONTRIBUTING.md", "CONTRIBUTING.rst", "CONTRIBUTING", "CONTRIBUTING.txt",
               ".github/CONTRIBUTING.md", ".github/CONTRIBUTING.rst", "docs/CONTRIBUTING.md",
               "HACKING.md", "DEVELOPMENT.md")  # fmt: skip
PR_TEMPLATES = (".github/pull_request_template.md", ".github/PULL_REQUEST_TEMPLATE.md",
                "PULL_REQUEST_TEMPLATE.md", "docs/pull_request_template.md",
                ".gitlab/merge_request_templates/Default.md")  # fmt: skip
#: Commands of tools a contributor runs; anything else in a code block is not taken.
_TOOL = re.compile(
    r"^(tox|nox|pytest|python3? -m (pytest|tox|nox|mypy|build)|make|just|npm (run|test)|"
    r"pnpm|yarn|uv run|uvx|hatch (run|test|fmt|build)|pdm run|poetry run|pre-commit run|prek|"
    r"ruff|mypy|pyright|black|isort|flake8|cargo (test|build|fmt|clippy|run|bench|doc)|"
    r"go (test|build|vet|run|generate)|golangci-lint|sphinx-build|mkdocs|eslint|prettier|tsc|"
    r"npx|bundle exec|rake|\./gradlew|\./mvnw|mvn|gradle|(python3? -m )?pip install (-e|--editable)|"
    r"uv sync|poetry install|pdm install|npm (ci|install)|go mod download)\b"
)
#: RFC 2119 capitals: a sentence that says MUST is a rule whatever it is about.
_MUST = re.compile(r"(?<![\w*])\**(MUST|MUST NOT|SHALL|SHALL NOT|REQUIRED)\**(?![\w*])")
#: A pull-request template section marked as required (`_(REQUIRED)_`, "(required)").
_REQUIRED = re.compile(r"^[_*(\s]*\(?required\)?[_*)\s.:]*$", re.I)
#: README sections that are a contributor guide.
_GUIDE_HEADING = re.compile(r"^(#{1,4})\s+.*\b(contribut\w*|development|hacking)\b", re.I)
#: What a rule is about, and the words that make a sentence a rule rather than prose.
_RULE_TOPIC = re.compile(
    r"\btests?\b|changelog|(?-i:CHANGES)|news fragment|changelog\.d|towncrier|versionadded|"
    r"versionchanged|deprecated|type (hints|stubs|annotations)|\.pyi|docstring|documentation|"
    r"\bdocs\b|black|ruff|lint|format|pre-commit|sign(ed)?[- ]off|\bDCO\b|commit message|"
    r"conventional commits|CONTRIBUTORS|AUTHORS|version number|dependenc",
    re.I,
)
_MODAL = re.compile(
    r"\b(must|should|please|always|never|don'?t|do not|need(s)? to|have to|has to|required|"
    r"make sure|ensure|hard rule)\b|^(add|update|run|write|follow|check|include|keep|use|"
    r"tag|consider)\b",
    re.I,
)
_MAX_RULES = 8


def _clean(text: str) -> str:
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # markdown links
    text = re.sub(r"`([^`]+)`_+", r"\1", text)  # rst links
    text = text.replace("**", "")
    text = re.sub(r"^[-*+]\s+(\[[ xX]\]\s*)?|^\d+\.\s+", "", text.strip())
    return " ".join(text.split())


def _code_spans(text: str) -> list[str]:
    """Candidate commands: code-block lines ($-prompted or not) and inline code spans."""
    found: list[str] = []
    block: list[str] = []
    fenced = False

    def flush() -> None:
        prompted = [b[2:] for b in block if b.startswith("$ ")]
        found.extend(prompted or block)
        block.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(("```", "~~~")):
            fenced = not fenced
            flush()
        elif fenced or re.match(r"^\s{2,}\S", raw) or line.startswith("$ "):
            block.append(line)
        elif line:
            flush()
    flush()
    spans = re.findall(r"``([^`\n]+)``", text) + re.findall(r"(?<!`)`([^`\n]+)`(?!`)", text)
    return found + [s for s in spans if len(s.split()) >= 2]


def _commands(ctx: FactCollector, rel: str, text: str) -> None:
    count = 0
    for cand in _code_spans(text):
        cmd = " ".join(cand.split())
        if not _TOOL.match(cmd) or len(cmd) > 120 or "<" in cmd or count >= 12:
            continue
        if ctx.runner_missing(cmd):
            continue
        purpose = ctx.task_purpose(cmd) or purpose_of(cmd)
        if purpose == "other" or purpose == "install" and not PROJECT_INSTALL.search(cmd):
            continue
        count += 1
        ctx.command(cmd, rel, line_of(text, cand), priority=1, purpose=purpose)


def _sentences(text: str) -> list[tuple[str, str]]:
    """(sentence, raw first line) per list item or paragraph, split at sentence ends."""
    out = []
    block: list[str] = []
    for raw in text.splitlines() + [""]:
        line = raw.strip()
        starts_item = bool(re.match(r"^([-*+]\s|\d+\.\s)", line) or _TOOL.match(line))
        if (not line or starts_item or line.startswith(("#", "<!--", "-->"))) and block:
            joined = _clean(" ".join(block))
            for part in re.split(r"(?<=[.!?])\s+(?=[A-Z*`])", joined):
                out.append((part, block[0]))
            block = []
        if line and not line.startswith(("#", "<!--", "-->", "```", "..", "|", "=", "~")):
            block.append(line.replace("<!--", "").replace("-->", ""))
    return out


def _rules(ctx: FactCollector, rel: str, text: str, checklist: bool) -> None:
    count = 0
    for sentence, first in _sentences(text):
        is_box = bool(re.match(r"^[-*+]\s+\[[ xX]\]", first))
        if len(sentence.split()) < 4 or len(sentence) > 260 or count >= _MAX_RULES:
            continue
        must = bool(_MUST.search(sentence))
        if not _RULE_TOPIC.search(sentence) and not must:
            continue
        if not (checklist and is_box) and not must and (
            not _MODAL.search(sentence)
            or sentence.endswith(":")
            or re.match(r"^(To|There|As long)\b", sentence)
            or re.match(r"^(If|When)\b", sentence)
            and not _MODAL.search(sentence.split(", ", 1)[-1] if ", " in sentence else "")
        ):
            continue
        count += 1
        label = "PR checklist" if checklist else "Contributing"
        ctx.conv("contributing", f"{label}: {sentence}", rel, line_of(text, first.strip()))


def _required_sections(ctx: FactCollector, rel: str, text: str) -> None:
    """A PR template's headings marked required: every description must fill them in."""
    lines = text.splitlines()
    names = []
    for i, line in enumerate(lines):
        m = re.match(r"^#{1,6}\s+(.+?)\s*:?\s*$", line)
        after = [x for x in lines[i + 1 : i + 4] if x.strip()][:1]
        if m and after and _REQUIRED.match(after[0].strip()):
            names.append(m.group(1).rstrip(":"))
    if names:
        ctx.conv("contributing", f"PR template: required sections: {', '.join(names)}", rel,
                 line_of(text, names[0]))  # fmt: skip


def _readme_guide(text: str) -> str:
    """The README's contributing or development section(s); other lines blanked, so that
    line numbers stay the README's."""
    out: list[str] = []
    level = 0
    for line in text.splitlines():
        heading = re.match(r"^(#{1,6})\s", line)
        if heading and level and len(heading.group(1)) <= level:
            level = 0
        m = _GUIDE_HEADING.match(line)
        if m and not level:
            level = len(m.group(1))
        out.append(line if level else "")
    return "\n".join(out)


def contributor_guides(ctx: FactCollector) -> None:
    """CONTRIBUTING files, docs/contributing* and docs/development*, PR templates."""
    docs = [
        rel
        for pattern in (
            "contributing*",
            "CONTRIBUTING*",
            "development*",
            "development/*",
            "contributing/*",
            "dev/contributing*",
        )  # fmt: skip
        for rel in ctx.files("docs", pattern)
        if rel.endswith((".md", ".rst", ".txt"))
    ]
    for rel in list(GUIDE_FILES) + sorted(set(docs))[:6] + ["README.md"]:
        text = ctx.read(rel)
        if text and rel == "README.md":
            text = _readme_guide(text)  # a README's contributing section is a guide too
        if text and text.strip():
            _commands(ctx, rel, text)
            _rules(ctx, rel, text, checklist=False)
    templates = list(PR_TEMPLATES) + ctx.files(".github/PULL_REQUEST_TEMPLATE", "*.md")
    for rel in templates:
        text = ctx.read(rel)
        if text:
            _commands(ctx, rel, text)
            _rules(ctx, rel, text, checklist=True)
            _required_sections(ctx, rel, text)
