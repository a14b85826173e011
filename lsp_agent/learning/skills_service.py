"""Skills in use: the catalog in the prompt, `load_skill`, search, and learn-skill.

A learned skill is proposed as an edit (`workspace/applyEdit` in an editor), so it lands in
`.agents/skills/<name>/SKILL.md` only when the user accepts it; updating an existing skill bumps
its version rather than writing a near-duplicate.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from lsp_agent.agent.context import transcript
from lsp_agent.agent.model import Model
from lsp_agent.agent.tools.base import Tool, ToolContext, ToolError, ToolHost
from lsp_agent.errors import ModelNotConfigured
from lsp_agent.memory.agent_memory import AgentMemory
from lsp_agent.skills.discovery import catalog_text, discover_skills
from lsp_agent.skills.skill import (
    Skill,
    SkillError,
    bump_version,
    render_skill_md,
    skill_folder,
    validate_skill,
)

#: ToolContext.extra key saying whether the workspace's own skills may be loaded.
TRUST_KEY = "trust_workspace"


def skills(workspace: Path, trusted: bool) -> list[Skill]:
    return discover_skills(workspace, trusted=trusted)


def skills_catalog(workspace: Path, trusted: bool) -> str:
    found = skills(workspace, trusted)
    if not found:
        return ""
    return catalog_text(found) + "\nLoad a skill with load_skill(name) before following it."


async def load_skill(ctx: ToolContext, name: str) -> str:
    trusted = bool(ctx.extra.get(TRUST_KEY, True))
    for skill in await asyncio.to_thread(skills, ctx.workspace, trusted):
        if skill.name == name:
            extra = ""
            if skill.path is not None:
                folder = Path(skill.path).parent
                files = [str(p.relative_to(folder)) for p in sorted(folder.rglob("*"))
                         if p.is_file() and p.name != "SKILL.md"]
                if files:
                    extra = "\n\nFiles of this skill (read with read_file): " + ", ".join(
                        f"{folder / f}" for f in files[:50])
            return f"# Skill: {skill.name}\n{skill.description}\n\n{skill.body}{extra}"
    names = ", ".join(s.name for s in await asyncio.to_thread(skills, ctx.workspace, trusted)) or "none"
    raise ToolError(f"No skill named '{name}'. Available skills: {names}.")


LOAD_SKILL = Tool("load_skill", "Load the full instructions of a skill from the catalog.",
                  {"type": "object", "properties": {"name": {"type": "string"}},
                   "required": ["name"]}, load_skill)


def search_skills(workspace: Path, trusted: bool, query: str, limit: int) -> list[dict[str, Any]]:
    from lsp_agent.memory.terms import query_terms, term_score

    terms = query_terms(query)  # memory's term scorer, as for blocks: stop words never match
    hits: list[dict[str, Any]] = []
    for skill in skills(workspace, trusted):
        text = f"{skill.name} {skill.description} {skill.body}"
        score = term_score(terms, text, name=skill.name, name_weight=3.0)
        if score and skill.path is not None:
            hits.append({"kind": "skill", "id": skill.name, "title": f"Skill: {skill.name}",
                         "snippet": skill.description[:300], "score": round(score, 6),
                         "location": {"uri": Path(skill.path).resolve().as_uri(), "range": {
                             "start": {"line": 0, "character": 0},
                             "end": {"line": 0, "character": 0}}}})
    return sorted(hits, key=lambda h: -h["score"])[:limit]


PROPOSE = {"type": "function", "function": {
    "name": "propose_skill",
    "description": "Propose a reusable skill (Agent Skills format) distilled from the material.",
    "parameters": {"type": "object", "properties": {
        "name": {"type": "string", "description": "lowercase-hyphenated, 1-64 chars"},
        "description": {"type": "string", "description": "what it does and when to use it"},
        "body": {"type": "string", "description": "markdown steps, under 500 lines"}},
        "required": ["name", "description", "body"]}}}

LEARN_PROMPT = """\
Distil the material below into ONE reusable skill for future work in this project: a playbook
of concrete steps, commands and pitfalls, not a narrative. Call propose_skill once.{name_hint}

Material:
{material}"""


def _material(memory: AgentMemory, conversation_id: str, text: str | None) -> str:
    if text and text.strip():
        return text.strip()
    msgs = [m for m in memory.recall.messages(conversation_id) if m.role in ("user", "assistant", "tool")]
    if not msgs:
        raise SkillError("The conversation is empty: there is nothing to learn a skill from yet. "
                         "Work with the agent first, or select text to learn from.")
    return transcript(msgs, max_chars=40_000)


def _proposal(workspace: Path, trusted: bool, name: str, description: str, body: str) -> Skill:
    skill = Skill(name=name, description=description, body=body.strip() + "\n")
    errors = validate_skill(skill, name)
    if errors:
        raise SkillError("; ".join(errors))
    folder = skill_folder(workspace, name)
    path = folder / "SKILL.md"
    # the file about to be replaced is read for its version even when untrusted (never for the
    # prompt): otherwise an update would overwrite it as version 1
    existing = next((s for s in skills(workspace, True) if s.name == name and s.source == "project"), None)
    if existing is not None:
        skill = bump_version(existing, skill)
    else:
        skill = skill.model_copy(update={"metadata": {**skill.metadata, "version": "1"}})
    return skill.model_copy(update={"path": path})


async def propose_skill(workspace: Path, memory: AgentMemory, trusted: bool,
                        model: Model | None, *, name: str | None, conversation_id: str,
                        text: str | None) -> Skill:
    """A skill distilled from `text` or the conversation; without a model, `text` verbatim."""
    material = await asyncio.to_thread(_material, memory, conversation_id, text)
    if model is None:
        if not (name and text and text.strip()):
            raise ModelNotConfigured("Learning a skill from a conversation")
        first = re.split(r"(?<=[.!?])\s|\n", text.strip(), maxsplit=1)[0]
        return await asyncio.to_thread(_proposal, workspace, trusted, name, first[:1024], text)
    hint = f" Name it '{name}'." if name else ""
    messages: list[dict[str, Any]] = [{"role": "user", "content": LEARN_PROMPT.format(
        material=material, name_hint=hint)}]
    last_error = "the model did not call propose_skill"
    for _attempt in range(3):
        reply = await model.complete(messages, [PROPOSE])
        call = next((c for c in reply.tool_calls if c.name == "propose_skill"), None)
        if call is None:
            messages += [{"role": "assistant", "content": reply.content or ""},
                         {"role": "user", "content": "Call propose_skill with the skill."}]
            continue
        args = call.arguments
        try:
            return await asyncio.to_thread(_proposal, workspace, trusted,
                                           name or str(args.get("name", "")),
                                           str(args.get("description", "")),
                                           str(args.get("body", "")))
        except (SkillError, ValueError) as exc:
            last_error = str(exc)
            messages += [
                {"role": "assistant", "content": None, "tool_calls": [{
                    "id": call.id, "type": "function", "function": {
                        "name": call.name, "arguments": json.dumps(args)}}]},
                {"role": "tool", "tool_call_id": call.id, "name": call.name,
                 "content": f"Invalid skill: {exc}. Fix it and call propose_skill again."}]
    raise SkillError(f"Could not get a valid skill from the model: {last_error}")


async def save_skill(host: ToolHost, skill: Skill) -> bool:
    """Propose the SKILL.md as an edit; True when the user (or headless host) applied it."""
    if skill.path is None:
        raise SkillError(f"Skill {skill.name} has no path to be saved to.")
    propose = getattr(host, "propose_edit", host.apply_edit)  # editors review it first
    return bool(await propose(Path(skill.path), render_skill_md(skill),
                              f"Learn skill {skill.name}"))
