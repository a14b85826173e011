"""CLI subcommands that run the agent or the learning loop (serve, init, ask, ...)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

AGENT_HANDLERS: dict[str, Callable[[argparse.Namespace], Any]] = {}


def add_agent_commands(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Registered as the agent runtime lands."""


def remember_with_agent(args: argparse.Namespace, mem: Any) -> None:
    from lsp_agent.cli import CliError

    raise CliError("remember with a model arrives with the agent runtime; unset --model to store verbatim.")
