"""Settings, parsed once into a typed, defaulted object.

Sources, later wins: defaults, environment (LSP_AGENT_MODEL, ...), the editor's
`initializationOptions` / `workspace/configuration` section `lspAgent`, command-line flags.
A bad value never stops anything: it is reported and its default is used.

A workspace is untrusted until the editor (VS Code's workspace trust, Neovim's `trust`
option) or the user (`--trust`, LSP_AGENT_TRUST_WORKSPACE=1) says otherwise: a cloned
repository's files are text written by strangers, so an untrusted one gets no imported
instruction files, no project skills and no `auto` permission mode; nor may its settings
choose a team store (`teamStore` from a layer is dropped unless the workspace is trusted; the
environment and `--team-store` are the user's own).
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel


class PermissionMode(StrEnum):
    """How much the user lets the agent do without asking."""

    ASK = "ask"  # edits and shell commands need approval
    ACCEPT_EDITS = "accept-edits"  # edits go through, shell commands need approval
    AUTO = "auto"  # nothing needs approval


ENV_KEYS = {
    "model": "LSP_AGENT_MODEL",
    "reflection_model": "LSP_AGENT_REFLECTION_MODEL",
    "embedder": "LSP_AGENT_EMBEDDER",
    "code_embedder": "LSP_AGENT_CODE_EMBEDDER",
    "store": "LSP_AGENT_STORE",
    "team_store": "LSP_AGENT_TEAM_STORE",
    "permission_mode": "LSP_AGENT_PERMISSION_MODE",
    "trust_workspace": "LSP_AGENT_TRUST_WORKSPACE",
}

#: Settings an untrusted workspace's own configuration must not choose (VS Code declares them
#: in `restrictedConfigurations`; the server also refuses `auto` while untrusted).
RESTRICTED = ("permission_mode", "store", "team_store")

AUTO_UNTRUSTED = ("permissionMode 'auto' is not allowed in an untrusted workspace; using 'ask'. "
                  "Trust the workspace (your editor's workspace trust, or --trust / "
                  "LSP_AGENT_TRUST_WORKSPACE=1 on the command line) to use it.")

TEAM_UNTRUSTED = ("teamStore is ignored in an untrusted workspace (a cloned repository's settings "
                  "could send its memory to someone else's bucket). Trust the workspace, or set "
                  "LSP_AGENT_TEAM_STORE (or --team-store) yourself.")


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class ReflectionSettings(_Model):
    enabled: bool = True
    idle_seconds: float = Field(300.0, ge=5)
    every_turns: int = Field(20, ge=1)


class Settings(_Model):
    model: str | None = None
    reflection_model: str | None = None
    embedder: str = "default"
    code_embedder: str = "static"  # the code index's own: fast static vectors by default
    store: str | None = None
    #: a LanceDB URI (s3://bucket/path, gs://, az://, a folder) for the team's shared memory
    team_store: str | None = None
    permission_mode: PermissionMode = PermissionMode.ASK
    max_steps: int = Field(20, ge=1, le=500)
    max_tokens_per_turn: int = Field(200_000, ge=1000)
    turn_timeout_seconds: float = Field(600.0, gt=0)
    context_window: int | None = Field(None, ge=1000)
    compaction_threshold: float = Field(0.8, gt=0.1, le=0.99)
    keep_recent_messages: int = Field(12, ge=2)
    trust_workspace: bool = False
    reflection: ReflectionSettings = Field(default_factory=lambda: ReflectionSettings())

    @model_validator(mode="after")
    def _no_auto_untrusted(self) -> Settings:
        """`auto` runs shell commands without asking: never on an untrusted workspace."""
        if not self.trust_workspace and self.permission_mode is PermissionMode.AUTO:
            self.permission_mode = PermissionMode.ASK
        return self


def parse_settings(*layers: dict[str, Any] | None) -> tuple[Settings, list[str]]:
    """Merge layers (later wins) over env and defaults; bad keys/values become warnings."""
    merged: dict[str, Any] = {}
    for field, env in ENV_KEYS.items():
        if os.environ.get(env):
            merged[field] = os.environ[env]
    warnings: list[str] = []
    from_layers: set[str] = set()  # settings given by a layer (editor, flags), not the env
    fields = Settings.model_fields
    by_alias = {to_camel(n): n for n in fields} | {n: n for n in fields}
    for layer in layers:
        if layer is None:
            continue
        if not isinstance(layer, dict):
            warnings.append(f"lsp-agent settings must be an object, got {type(layer).__name__}; ignored.")
            continue
        for key, value in layer.items():
            name = by_alias.get(key)
            if name == "team_store":
                if value in (None, ""):  # an editor's empty default never hides the env's
                    continue
                from_layers.add(name)
            if name is None:
                known = ", ".join(sorted(to_camel(n) for n in fields))
                warnings.append(f"Unknown lsp-agent setting '{key}' ignored. Known settings: {known}.")
                continue
            if value is None and name not in ("model", "reflection_model", "store", "context_window"):
                continue
            sub = _nested_model(name)
            if sub is not None and isinstance(value, dict):
                # an object setting merges key by key with earlier layers
                prev = merged.get(name)
                earlier: dict[str, Any] = prev if isinstance(prev, dict) else {}
                value = {**earlier, **{_field_name(sub, k): v for k, v in value.items()}}
            merged[name] = value
    good: dict[str, Any] = {}
    for name, value in merged.items():
        sub = _nested_model(name)
        if sub is not None and isinstance(value, dict):
            good[name] = _valid_fields(sub, value, f"{to_camel(name)}.", warnings)
            continue
        try:
            Settings.model_validate({name: value})
            good[name] = value
        except ValidationError as exc:
            err = exc.errors()[0]
            default = fields[name].get_default(call_default_factory=True)
            default = getattr(default, "value", default)
            warnings.append(
                f"Setting '{to_camel(name)}' = {value!r} is invalid ({err['msg']}); "
                f"using the default {default!r}."
            )
    if good.get("team_store") and "team_store" in from_layers:
        trusted = good.get("trust_workspace", False)
        if not (Settings.model_validate({"trust_workspace": trusted}).trust_workspace):
            good.pop("team_store")
            warnings.append(TEAM_UNTRUSTED)
    settings = Settings.model_validate(good)
    if good.get("permission_mode") == PermissionMode.AUTO and settings.permission_mode != "auto":
        warnings.append(AUTO_UNTRUSTED)
    return settings, warnings


def _nested_model(name: str) -> type[BaseModel] | None:
    """The settings model of an object-valued setting (e.g. reflection), else None."""
    annotation = Settings.model_fields[name].annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _field_name(model: type[BaseModel], key: str) -> str:
    by_alias = {to_camel(n): n for n in model.model_fields}
    return by_alias.get(key, key)


def _valid_fields(
    model: type[BaseModel], values: dict[str, Any], prefix: str, warnings: list[str]
) -> dict[str, Any]:
    """The valid fields of an object setting; each bad or unknown one is reported and dropped,
    so it takes its default while its valid siblings are kept."""
    fields = model.model_fields
    good: dict[str, Any] = {}
    for name, value in values.items():
        if name not in fields:
            known = ", ".join(sorted(prefix + to_camel(n) for n in fields))
            warnings.append(f"Unknown lsp-agent setting '{prefix}{name}' ignored. "
                            f"Known settings: {known}.")
            continue
        try:
            model.model_validate({name: value})
            good[name] = value
        except ValidationError as exc:
            err = exc.errors()[0]
            warnings.append(
                f"Setting '{prefix}{to_camel(name)}' = {value!r} is invalid ({err['msg']}); "
                f"using the default {fields[name].get_default(call_default_factory=True)!r}."
            )
    return good
