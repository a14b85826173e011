"""Secrets never reach memory in clear: known key formats are replaced before any write.

A redacted secret becomes `[REDACTED <kind> #<8 hex of its sha256>]`, so two mentions of the
same key can still be told apart without storing it.
"""

from __future__ import annotations

import hashlib
import re

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("private-key", re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)")),
    ("aws-access-key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})\b")),
    ("openai-key", re.compile(r"\bsk-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_\-]{20,}\b")),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("stripe-key", re.compile(r"\b[rs]k_(?:live|test)_[0-9a-zA-Z]{16,}\b")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b")),
    ("url-credentials", re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]{3,}(?=@)")),
]
# key = value assignments whose name says secret: only the value is replaced
_ASSIGNMENT = re.compile(
    r"(?i)\b([A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY)[A-Z0-9_]*)"
    r"(\s*[:=]\s*[\"']?)([^\s\"'`,;]{8,})"
)


def _tag(kind: str, secret: str) -> str:
    return f"[REDACTED {kind} #{hashlib.sha256(secret.encode()).hexdigest()[:8]}]"


def redact(text: str) -> str:
    """Return `text` with secrets replaced; unchanged when there are none."""
    if not text:
        return text
    for kind, pattern in _PATTERNS:

        def tag(m: re.Match[str], k: str = kind) -> str:
            return _tag(k, m.group(0))

        text = pattern.sub(tag, text)

    def assignment(m: re.Match[str]) -> str:
        value = m.group(3)
        if value.startswith("[REDACTED") or value.startswith("$") or value.startswith("<"):
            return m.group(0)
        return m.group(1) + m.group(2) + _tag("secret", value)

    return _ASSIGNMENT.sub(assignment, text)


def contains_secret(text: str) -> bool:
    return redact(text) != text
