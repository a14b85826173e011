"""The service's store check and repair (`lsp-agent doctor [--repair]`), and the memory doctor.

A mixin of `AgentService`. A damaged store opens read-only (memory/damage.py); this is where
the user acts on it: see what is damaged and what is intact, then repair from what is intact.
The memory doctor's findings (learning/memory_doctor.py) are advice on the mirror files: in
the report, and per file for the server's diagnostics (`memory_findings`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsp_agent.learning.memory_doctor import MemoryFinding, check_memory
from lsp_agent.learning.workspace_lookup import code_names
from lsp_agent.memory import repair as fix
from lsp_agent.memory.agent_memory import AgentMemory
from lsp_agent.memory.damage import StoreDamaged
from lsp_agent.memory.scrub import scrub_store
from lsp_agent.memory.team_doctor import check_team
from lsp_agent.service.results import DoctorReport, TableCheck, TeamDoctor, TeamStatus


class DoctorOps:
    memory: AgentMemory
    workspace: Path
    notices: list[str]

    async def doctor(self, *, repair: bool = False, scrub: bool = False) -> DoctorReport:
        """Check every table; with `repair`, rebuild the damaged ones from the intact ones and
        open the memory again (defaults, mirror) as a sound store."""
        def run() -> DoctorReport:
            store = self.memory.store
            done: list[str] = []
            if repair and fix.check(store) and store.damage:
                done = fix.repair(store, self.memory.mirror, self.workspace)
                self.notices = self.memory.open(resume_vectors=False)
            scrubbed: dict[str, object] | None = None
            if scrub:
                if store.damage:
                    raise StoreDamaged("Scrubbing needs a sound store: run `lsp-agent doctor "
                                       "--repair` first, then `--scrub`.")
                scrubbed = scrub_store(store, self.memory.memory_folder).to_dict()
            tables = [TableCheck(**t.__dict__) for t in fix.check(store)]
            healthy = not store.damage
            if healthy:
                advice = "Every table is intact." if not done else "The store is repaired."
            else:
                advice = ("Run `lsp-agent doctor --repair` to rebuild what can be rebuilt; "
                          "until then memory is read-only.")
            team = None
            if self.memory.team is not None:
                got = check_team(self.memory.team, repair=repair)
                team = TeamDoctor(**{**got, "status": TeamStatus(**got["status"])})
            return DoctorReport(store=store.where, healthy=healthy, tables=tables,
                                repaired=done, advice=advice, scrubbed=scrubbed,
                                memory=self.memory_findings(), team=team)

        return await asyncio.to_thread(run)

    def memory_findings(self, path: Path | None = None,
                        text: str | None = None) -> list[MemoryFinding]:
        """The memory doctor's findings on every mirror file, or on the file `path` ([] when
        it is not one), read from `text` when given (an editor's unsaved buffer).

        Not a coroutine: the server's diagnostics call it in place. A few ms once warm (the
        first call of a process reads the code index and may walk the workspace)."""
        names = code_names(self.memory.store, self.workspace, self.memory.memory_folder)
        return check_memory(self.memory, self.workspace, symbols=names, only=path, text=text)
