"""`lsp-agent doctor` on the team store: what a killed machine left half done, and the queue.

Every opening repairs a store it can (memory/blocks.py `repair`), but a team store is shared
by machines that may not open it for days: the doctor says what is pending there and, with
`--repair`, finishes it, replays the queue and runs the version upkeep now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsp_agent.errors import LspAgentError

if TYPE_CHECKING:
    from lsp_agent.memory.team import TeamMemory


def check_team(team: TeamMemory, *, repair: bool = False) -> dict[str, Any]:
    """The team store's status plus its pending repairs; with `repair`, what was done."""
    done: list[str] = []
    pending: dict[str, int] = {}
    problem = ""
    try:
        if repair:
            if team.link.run(team.blocks.repair):
                done.append("team store: edits of killed machines finished, losing claims "
                            "taken back")
            else:
                problem = ("Which of two concurrent edits came first could not be read from "
                           "the team store now; run `lsp-agent doctor --repair` again later.")
            landed = team.replay() if team.queue.entries() else 0
            if landed:
                done.append(f"team queue: {landed} queued writes replayed")
            if team.blocks.upkeep.enabled and team.link.run(team.blocks.upkeep.run):
                done.append("team store: version tables compacted, old versions pruned")
        pending = {
            "unfinished edits": len(team.link.run(team.blocks.unfinished)),
            "losing claims left": len(team.link.run(team.blocks.ledger.leftovers)),
        }
    except LspAgentError as exc:  # unreachable: said by the status's error too
        problem = str(exc)
    status = team.status(probe=False)
    return {"status": status, "pending": pending, "repaired": done, "problem": problem}
