"""parse_settings: layers merge over env and defaults; a bad value warns and keeps its default."""

from __future__ import annotations

import pytest

from lsp_agent.config import PermissionMode, Settings, parse_settings


@pytest.fixture(autouse=True)
def _clean_env(home):
    """`home` clears the LSP_AGENT_* variables for each test."""


def test_defaults():
    settings, warnings = parse_settings()
    assert warnings == []
    assert settings == Settings()
    assert (settings.model, settings.embedder, settings.max_steps) == (None, "default", 20)
    assert settings.permission_mode == PermissionMode.ASK
    assert settings.reflection.enabled and settings.reflection.idle_seconds == 300


def test_camel_and_snake_keys_and_later_layer_wins():
    settings, warnings = parse_settings(
        {"maxSteps": 5, "embedder": "none"},
        {"max_steps": 7, "reflection": {"everyTurns": 3}},
        None,
    )
    assert warnings == []
    assert settings.max_steps == 7 and settings.embedder == "none"
    assert settings.reflection.every_turns == 3 and settings.reflection.enabled


def test_environment_then_layers(monkeypatch):
    monkeypatch.setenv("LSP_AGENT_MODEL", "openai/gpt-env")
    monkeypatch.setenv("LSP_AGENT_EMBEDDER", "none")
    monkeypatch.setenv("LSP_AGENT_PERMISSION_MODE", PermissionMode.ASK.value)
    settings, warnings = parse_settings({"embedder": "default"})
    assert warnings == []
    assert settings.model == "openai/gpt-env" and settings.embedder == "default"
    monkeypatch.setenv("LSP_AGENT_MODEL", "")  # empty means unset
    assert parse_settings()[0].model is None


@pytest.mark.parametrize("key,value,field", [
    ("maxSteps", 0, "max_steps"),
    ("maxSteps", 501, "max_steps"),
    ("maxSteps", "many", "max_steps"),
    ("maxTokensPerTurn", 10, "max_tokens_per_turn"),
    ("turnTimeoutSeconds", -1, "turn_timeout_seconds"),
    ("contextWindow", 5, "context_window"),
    ("compactionThreshold", 1.5, "compaction_threshold"),
    ("keepRecentMessages", 1, "keep_recent_messages"),
    ("permissionMode", "yolo", "permission_mode"),
    ("trustWorkspace", "perhaps", "trust_workspace"),
    ("embedder", 42, "embedder"),
    ("model", ["a", "b"], "model"),
    ("reflection", "on", "reflection"),
])
def test_bad_value_warns_and_uses_default(key, value, field):
    settings, warnings = parse_settings({key: value, "embedder": "none"} if key != "embedder"
                                        else {key: value})
    assert len(warnings) == 1, warnings
    assert f"Setting '{key}'" in warnings[0] and "invalid" in warnings[0]
    assert repr(value) in warnings[0]
    assert getattr(settings, field) == getattr(Settings(), field)
    if key != "embedder":
        assert settings.embedder == "none"  # the good values of the layer are kept


def test_bad_env_value_warns(monkeypatch):
    monkeypatch.setenv("LSP_AGENT_PERMISSION_MODE", "sometimes")
    settings, warnings = parse_settings()
    assert settings.permission_mode == PermissionMode.ASK
    assert len(warnings) == 1 and "'sometimes'" in warnings[0]


def test_bad_env_value_overridden_by_good_layer(monkeypatch):
    monkeypatch.setenv("LSP_AGENT_PERMISSION_MODE", "sometimes")
    mode = next(m for m in PermissionMode if m != PermissionMode.ASK)
    settings, warnings = parse_settings({"permissionMode": mode.value})
    assert settings.permission_mode == mode and warnings == []


def test_unknown_key_and_non_object_layer():
    settings, warnings = parse_settings({"maxStep": 3}, ["not", "a", "dict"])  # type: ignore[arg-type]
    assert settings == Settings()
    assert len(warnings) == 2
    assert "Unknown lsp-agent setting 'maxStep'" in warnings[0] and "maxSteps" in warnings[0]
    assert "must be an object, got list" in warnings[1]


def test_null_values():
    settings, warnings = parse_settings({"model": "x/y"}, {"model": None, "maxSteps": None})
    assert warnings == []
    assert settings.model is None  # a nullable setting can be cleared
    assert settings.max_steps == 20  # a null for a required one is ignored


def test_nested_bad_value_keeps_good_siblings():
    settings, warnings = parse_settings({"reflection": {"enabled": False, "idleSeconds": 1}})
    assert len(warnings) == 1 and "idleSeconds" in warnings[0]
    assert settings.reflection.enabled is False  # the valid part of the object is kept
    assert settings.reflection.idle_seconds == 300.0


def test_nested_unknown_key_warns():
    settings, warnings = parse_settings({"reflection": {"enabled": False, "bogus": 1}})
    assert len(warnings) == 1 and "bogus" in warnings[0]
    assert settings.reflection.enabled is False


def test_nested_object_merges_across_layers():
    settings, warnings = parse_settings({"reflection": {"enabled": False}},
                                        {"reflection": {"every_turns": 4}})
    assert warnings == []
    assert settings.reflection.enabled is False and settings.reflection.every_turns == 4


# -- workspace trust ---------------------------------------------------------------------------

def test_untrusted_by_default_and_auto_is_downgraded_with_a_warning():
    settings, warnings = parse_settings({"permissionMode": "auto"})
    assert settings.trust_workspace is False
    assert settings.permission_mode == PermissionMode.ASK
    assert len(warnings) == 1 and "untrusted workspace" in warnings[0] and "--trust" in warnings[0]
    # whatever builds the settings: a Settings object never holds auto while untrusted
    assert Settings(permission_mode=PermissionMode.AUTO).permission_mode == PermissionMode.ASK


def test_trusted_keeps_auto_and_accept_edits_needs_no_trust():
    settings, warnings = parse_settings({"permissionMode": "auto", "trustWorkspace": True})
    assert warnings == [] and settings.permission_mode == PermissionMode.AUTO
    settings, warnings = parse_settings({"permissionMode": "accept-edits"})
    assert warnings == [] and settings.permission_mode == PermissionMode.ACCEPT_EDITS


def test_trust_from_the_environment_and_the_editor_wins(monkeypatch):
    monkeypatch.setenv("LSP_AGENT_TRUST_WORKSPACE", "1")
    monkeypatch.setenv("LSP_AGENT_PERMISSION_MODE", "auto")
    settings, warnings = parse_settings()
    assert warnings == [] and settings.trust_workspace
    assert settings.permission_mode == PermissionMode.AUTO
    # the editor saying "not trusted" (VS Code restricted mode) beats the environment
    settings, warnings = parse_settings({"trustWorkspace": False})
    assert not settings.trust_workspace and settings.permission_mode == PermissionMode.ASK
    assert len(warnings) == 1 and "untrusted" in warnings[0]


def test_cli_trust_flag():
    from lsp_agent.cli.parser import build_parser

    parser = build_parser()
    assert parser.parse_args(["status", "--trust"]).trust is True
    # not given: None, so the CLI does not hide LSP_AGENT_TRUST_WORKSPACE
    assert parser.parse_args(["init"]).trust is None
