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
from lsp_agent.agent.tools.base import Tool, ToolContext, ToolError
from lsp_agent.skills.discovery import catalog_text, discover_skills
from lsp_agent.skills.skill import (
    Skill,
    bump_version,
    render_skill_md,
    skill_folder,
    validate_skill,
)


class SkillError(ValueError):
    pass


def skills(session: Any) -> list[Skill]:
    return discover_skills(session.workspace, trusted=session.settings.trust_workspace)


def skills_catalog(session: Any) -> str:
    found = skills(session)
    if not found:
        return ""
    return catalog_text(found) + "\nLoad a skill with load_skill(name) before following it."


async def load_skill(ctx: ToolContext, name: str) -> str:
    session = ctx.extra["session"]
    for skill in await asyncio.to_thread(skills, session):
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
    names = ", ".join(s.name for s in await asyncio.to_thread(skills, session)) or "none"
    raise ToolError(f"No skill named '{name}'. Available skills: {names}.")


LOAD_SKILL = Tool("load_skill", "Load the full instructions of a skill from the catalog.",
                  {"type": "object", "properties": {"name": {"type": "string"}},
                   "required": ["name"]}, load_skill)


def search_skills(session: Any, query: str, limit: int) -> list[dict[str, Any]]:
    from lsp_agent.memory.terms import query_terms, term_score

    terms = query_terms(query)  # memory's term scorer, as for blocks: stop words never match
    hits: list[dict[str, Any]] = []
    for skill in skills(session):
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


def _material(session: Any, conversation_id: str | None, text: str | None) -> str:
    if text and text.strip():
        return text.strip()
    recall = session.memory.recall
    conv_id = conversation_id or session.active_conversation().id
    msgs = [m for m in recall.messages(conv_id) if m.role in ("user", "assistant", "tool")]
    if not msgs:
        raise SkillError("The conversation is empty: there is nothing to learn a skill from yet. "
                         "Work with the agent first, or select text to learn from.")
    return transcript(msgs, max_chars=40_000)


def _proposal(session: Any, name: str, description: str, body: str) -> Skill:
    skill = Skill(name=name, description=description, body=body.strip() + "\n")
    errors = validate_skill(skill, name)
    if errors:
        raise SkillError("; ".join(errors))
    folder = skill_folder(session.workspace, name)
    path = folder / "SKILL.md"
    existing = next((s for s in skills(session) if s.name == name and s.source == "project"), None)
    if existing is not None:
        skill = bump_version(existing, skill)
    else:
        skill = skill.model_copy(update={"metadata": {**skill.metadata, "version": "1"}})
    return skill.model_copy(update={"path": path})


async def propose_skill(session: Any, *, name: str | None, conversation_id: str | None,
                        text: str | None) -> Skill:
    material = await asyncio.to_thread(_material, session, conversation_id, text)
    if not session.settings.model:
        if not (name and text and text.strip()):
            from lsp_agent.errors import ModelNotConfigured

            raise ModelNotConfigured("Learning a skill from a conversation")
        first = re.split(r"(?<=[.!?])\s|\n", text.strip(), maxsplit=1)[0]
        return await asyncio.to_thread(_proposal, session, name, first[:1024], text)
    model = session.model()
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
            return await asyncio.to_thread(_proposal, session, name or str(args.get("name", "")),
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


async def save_skill(session: Any, skill: Skill) -> bool:
    """Propose the SKILL.md as an edit; True when the user (or headless host) applied it."""
    assert skill.path is not None
    host = session.ctx.host
    propose = getattr(host, "propose_edit", host.apply_edit)  # editors review it first
    return await propose(Path(skill.path), render_skill_md(skill), f"Learn skill {skill.name}")


async def learn_skill(session: Any, *, name: str | None = None,
                      conversation_id: str | None = None, text: str | None = None,
                      on_event: Any = None) -> dict[str, Any]:
    skill = await propose_skill(session, name=name, conversation_id=conversation_id, text=text)
    applied = await save_skill(session, skill)
    if on_event:
        on_event({"type": "message", "text": f"Skill {skill.name} "
                  + ("saved" if applied else "refused")})
    return {"name": skill.name, "path": str(skill.path), "applied": applied,
            "version": skill.metadata.get("version", "1"), "description": skill.description}
