"""`ask --output-format text|json|stream-json`: a turn for scripts and other agents.

`stream-json` prints every event of the turn (docs/protocol.md "Events") as one JSON object
per line on stdout, then a `result` object; `json` prints only the result; `text` only the
reply. The exit code tells apart a limit (6), a refused approval (7), no model (4) and a
failed model (5), as Letta Code's and Claude Code's headless modes do with their results.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from lsp_agent.errors import (
    ApprovalRefused,
    LimitReached,
    LspAgentError,
    ModelError,
    ModelNotConfigured,
)

LIMITS = {"max_steps", "max_tokens", "timeout"}


def print_json(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


class Transcript:
    """What the CLI keeps of a turn's events: the refused approvals and the turn's id."""

    def __init__(self, stream: bool) -> None:
        self.stream = stream
        self.refused: list[str] = []
        self.turn_id = ""

    def see(self, event: dict[str, Any]) -> None:
        self.turn_id = str(event.get("turn_id") or self.turn_id)
        if event.get("type") == "approval_result" and not event.get("allowed"):
            self.refused.append(str(event.get("action", "")))
        if self.stream:
            print_json(event)

    def result(self, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """The final `result` object for a finished turn, and the exit code."""
        stopped = str(data.get("stopped", "done"))
        if stopped in LIMITS:
            subtype, code = f"error_{stopped}", LimitReached.exit_code
        elif self.refused:
            subtype, code = "error_refused", ApprovalRefused.exit_code
        else:
            subtype, code = "success", 0
        if "slash" in data:
            return {"type": "result", "subtype": "success", "is_error": False, **data}, 0
        return {"type": "result", "subtype": subtype, "is_error": code != 0,
                "result": data.get("reply", ""), "conversation_id": data.get("conversation_id"),
                "turn_id": self.turn_id, "stopped": stopped, "usage": data.get("usage", {}),
                "tool_calls": data.get("tool_calls", []), "refused": self.refused}, code

    @staticmethod
    def failure(error: LspAgentError) -> dict[str, Any]:
        """The `result` object for a turn that could not run or whose model failed."""
        subtype = ("error_no_model" if isinstance(error, ModelNotConfigured)
                   else "error_model" if isinstance(error, ModelError) else "error")
        return {"type": "result", "subtype": subtype, "is_error": True, "result": str(error)}
