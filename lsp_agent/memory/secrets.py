"""Secrets never reach memory in clear: every text written to the store passes `redact()`.

Detection is Yelp's detect-secrets (its regex plugins, offline: verification is never called),
plus rules for what it does not know or only finds in quoted code: provider token prefixes,
`Authorization:` headers, `password=`-style assignments (JSON, YAML, .env, quoted phrases,
values starting with `$`), command-line passwords (`mysql -p...`) and AWS secrets in prose.
A redacted secret becomes `[REDACTED <kind> #<8 hex of its sha256>]`, so two mentions of the
same key can still be told apart without storing it. Redacted text is left as it is.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

TAG_RE = re.compile(r"\[REDACTED [a-z0-9-]+ #[0-9a-f]{8}\]")

_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
    r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)")
# Token formats with a prefix that says what they are (whole match is the secret).
_TOKENS: list[tuple[str, re.Pattern[str]]] = [(k, re.compile(p)) for k, p in [
    ("aws-access-key", r"\b(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("github-token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_\w{50,255})\b"),
    ("gitlab-token", r"\bgl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|oas)-[A-Za-z0-9_\-]{20,}"),
    ("openai-key", r"\bsk-(?:proj-|ant-(?:api\d\d-|admin\d\d-)?|live-|test-|svcacct-)?"
                   r"[A-Za-z0-9_\-]{20,}"),
    ("huggingface-token", r"\bhf_[A-Za-z0-9]{30,}\b"),
    ("npm-token", r"\bnpm_[A-Za-z0-9]{30,}\b"),
    ("pypi-token", r"\bpypi-[A-Za-z0-9_\-]{50,}"),
    ("sendgrid-key", r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}"),
    ("slack-token", r"\bxox[abposre]-[A-Za-z0-9-]{10,}"),
    ("slack-webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9_/]{20,}"),
    ("google-api-key", r"\bAIza[0-9A-Za-z_\-]{35}"),
    ("google-oauth-secret", r"\bGOCSPX-[A-Za-z0-9_\-]{20,}"),
    ("stripe-key", r"\b[rsp]k_(?:live|test)_[0-9a-zA-Z]{16,}\b"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    ("digitalocean-token", r"\bdo[opr]_v1_[a-f0-9]{64}\b"),
    ("shopify-token", r"\bshp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}\b"),
    ("doppler-token", r"\bdp\.(?:st|ct|sa|scim|audit)\.[A-Za-z0-9_.\-]{20,}"),
    ("age-secret-key", r"\bAGE-SECRET-KEY-1[0-9A-Z]{50,}"),
    ("vault-token", r"\bhv[sbr]\.[A-Za-z0-9_\-]{24,}"),
    ("grafana-token", r"\bgl(?:c|sa)_[A-Za-z0-9_=+/]{24,}"),
    ("databricks-token", r"\bdapi[a-f0-9]{32}\b"),
    ("linear-key", r"\blin_api_[A-Za-z0-9]{40}\b"),
    ("notion-token", r"\b(?:ntn|secret)_[A-Za-z0-9]{43}\b"),
    ("postman-key", r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b"),
    ("anthropic-key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
]]
# Rules whose named group `v` is the secret (the words around it are kept).
_KEY = (r"(?:[A-Za-z0-9_.-]*(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|"
        r"access[_-]?key|account[_-]?key|private[_-]?key|client[_-]?secret|shared[_-]?access"
        r"[_-]?key|auth[_-]?key|credentials?)(?:[_-]?(?:access[_-]?)?(?:key|id|value|string|str|"
        r"b64|base64|hex|plain|raw|secret|token))?)(?![A-Za-z0-9_])")
_VALUES: list[tuple[str, re.Pattern[str]]] = [(k, re.compile(p, re.IGNORECASE)) for k, p in [
    # Authorization: Bearer <token> / Basic <base64> (headers, curl -H, prose)
    ("auth-header", r"\bauthorization\b[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|token|digest|"
                    r"apikey|sso-key)?\s*(?P<v>[A-Za-z0-9._~+/=:-]{8,})"),
    ("bearer-token", r"\bbearer\s+(?P<v>[A-Za-z0-9._~+/-]*\d[A-Za-z0-9._~+/-]*=*)(?=[\s\"',;]|$)"),
    ("url-credentials", r"://[^/\s:@]*:(?P<v>[^/\s@]{3,})@"),
    # key: "a quoted phrase", a password is '...', "password": "..."
    ("secret", r"\b" + _KEY + r"[\"']?\s*(?:[:=]|\s+(?:is|was|of))\s*(?P<q>[\"'])(?P<v>[^\"'\n]{3,200})(?P=q)"),
    # key=value / key: value / KEY value unquoted (.env, YAML, INI, shell)
    ("secret", r"\b" + _KEY + r"[\"']?[ \t]*[:=][ \t]*(?P<v>[^\s\"'`,;]{3,})"),
    # mysql -pSECRET, --password=SECRET, --token SECRET
    ("cli-password", r"\b(?:mysql\w*|mariadb\w*|pg_\w+|mongo\w*|redis-cli|sshpass)\b[^\n]*?"
                     r"\s-p(?P<v>[^\s-][^\s]{2,})"),
    ("cli-password", r"(?:^|\s)--?(?:password|passwd|pass|token|api-key|secret)[ =]"
                     r"(?P<v>[^\s\"'-][^\s\"']{2,})"),
    ("netrc-password", r"\bmachine\s+\S+\s+login\s+\S+\s+password\s+(?P<v>\S+)"),
    ("aws-secret-key", r"\b(?:aws|secret)\b[^\n]{0,60}?(?<![A-Za-z0-9/+=])"
                       r"(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"),
]]
# Values after a secret-sounding name that are not secrets: code, references, placeholders.
_NOT_A_VALUE = re.compile(
    r"(?i)^(?:none|null|nil|true|false|undefined|required|optional|str|string|bytes|int|"
    r"empty|redacted|changeme|example|xxx+|\*+|\.\.\.|-+|n/a|os\.|self\.|settings\.|config\.|"
    r"env\.|process\.env|getenv|environ|\$\{|\$\(|\{|\[|(?-i:\$[A-Z_][A-Z0-9_]*$)|\{\{|<|%\(|\[REDACTED)")
_CODE_REF = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*(?:[(\[].*)?[)\]}:,]*$")
_NUMBER = re.compile(r"^[\^~<>=v]*\d+(?:\.\d+)+$|^\d{1,3}$")  # versions, decimals, small counts
_SECRET_WORD = re.compile(r"(?i)pass|pwd|secret|token|key|cred|auth")


def _tag(kind: str, secret: str) -> str:
    return f"[REDACTED {kind} #{hashlib.sha256(secret.encode()).hexdigest()[:8]}]"


def _is_value(v: str) -> bool:
    """Whether an assignment's value is a secret rather than code or a placeholder."""
    if _NOT_A_VALUE.match(v) or _NUMBER.match(v) or v.endswith("(") or TAG_RE.search(v):
        return False
    # password=password, token=self.token, api_key=get_key(), token: str): code
    return not (_CODE_REF.match(v) and (
        _SECRET_WORD.search(v) or re.search(r"[(\[):}]", v) or re.fullmatch(r"[a-z_.]+", v)
        and "." in v))


# detect-secrets' regex plugins used (module: class); its keyword and entropy plugins are
# replaced by the rules above and `_high_entropy`, which also read unquoted text and prose.
_PLUGINS = (
    "artifactory:ArtifactoryDetector aws:AWSKeyDetector azure_storage_key:AzureStorageKeyDetector "
    "basic_auth:BasicAuthDetector cloudant:CloudantDetector discord:DiscordBotTokenDetector "
    "github_token:GitHubTokenDetector gitlab_token:GitLabTokenDetector "
    "ibm_cloud_iam:IbmCloudIamDetector ibm_cos_hmac:IbmCosHmacDetector jwt:JwtTokenDetector "
    "mailchimp:MailchimpDetector npm:NpmDetector openai:OpenAIDetector "
    "pypi_token:PypiTokenDetector sendgrid:SendGridDetector slack:SlackDetector "
    "softlayer:SoftlayerDetector square_oauth:SquareOAuthDetector stripe:StripeDetector "
    "telegram_token:TelegramBotTokenDetector twilio:TwilioKeyDetector"
).split()


@lru_cache(maxsize=1)
def _detectors() -> list[tuple[str, Any]]:
    """detect-secrets' plugins, loaded on first use (no network: `verify` is never called)."""
    out = []
    for spec in _PLUGINS:
        module, cls = spec.split(":")
        plugin = getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), cls)()
        out.append((re.sub(r"[^a-z0-9]+", "-", plugin.secret_type.lower()).strip("-"), plugin))
    return out


_B64 = re.compile(r"([\"'])([A-Za-z0-9+/_=-]{24,})\1")


def _entropy(data: str) -> float:
    counts = {c: data.count(c) for c in set(data)}
    return -sum(n / len(data) * math.log2(n / len(data)) for n in counts.values())


_PUBLIC_HASH = re.compile(r"(?i)sha\d*|hash|digest|checksum|integrity|commit|etag|revision")


def _high_entropy(line: str) -> Iterator[str]:
    """Quoted base64-like strings that look random (detect-secrets' entropy limit, with upper
    and lower case and digits, longer than its default asks, to spare identifiers); not on
    lines that name a hash (checksums and lock-file integrity values are public). Hex strings
    are left to the other rules: in code they are mostly public digests."""
    if ("'" not in line and '"' not in line) or _PUBLIC_HASH.search(line):
        return
    for _, v in _B64.findall(line):
        if (re.search(r"\d", v) and re.search(r"[a-z]", v) and re.search(r"[A-Z]", v)
                and _entropy(v) > 4.5):
            yield v


def find_secrets(text: str) -> list[tuple[str, str]]:
    """Every (kind, secret) found in `text`, outermost first; redacted tags are skipped."""
    if not text:
        return []
    found: list[tuple[str, str]] = [("private-key", m.group(0))
                                    for m in _PRIVATE_KEY.finditer(text)]
    for kind, pattern in _TOKENS:
        found += [(kind, m.group(0)) for m in pattern.finditer(text)]
    for kind, pattern in _VALUES:
        found += [(kind, m.group("v").rstrip(".)")) for m in pattern.finditer(text)
                  if _is_value(m.group("v"))]
    for kind, plugin in _detectors():  # their patterns never cross a line end
        found += [(kind, v) for v in plugin.analyze_string(text) if v and len(v) >= 8]
    for line in text.splitlines():
        found += [("high-entropy", v) for v in _high_entropy(line)]
    return [(k, s) for k, s in found if len(s) >= 3 and not TAG_RE.search(s)
            and not TAG_RE.fullmatch(s)]


def redact(text: str) -> str:
    """Return `text` with secrets replaced; unchanged (the same object) when there are none."""
    if not text:
        return text
    return _redact_cached(text) if len(text) < 4096 else _redact(text)


@lru_cache(maxsize=4096)
def _redact_cached(text: str) -> str:
    return _redact(text)


def _redact(text: str) -> str:
    found = find_secrets(text)
    if not found:
        return text
    seen: dict[str, str] = {}  # secret -> the kind of its first (most specific) finding
    for kind, secret in found:
        seen.setdefault(secret, kind)
    out = text
    # longest first, so a secret that contains another is replaced whole
    for secret in sorted(seen, key=len, reverse=True):
        if secret in out:
            out = out.replace(secret, _tag(seen[secret], secret))
    return out


def contains_secret(text: str) -> bool:
    return redact(text) != text


def redact_values(values: Any, keep: Callable[[str], bool] = lambda name: False) -> Any:
    """`values` (a dict of column -> value, or a list of them) with every str redacted, except
    the columns `keep` names; lists of strings too."""
    if isinstance(values, list):
        return [redact_values(v, keep) for v in values]
    if isinstance(values, dict):
        return {k: v if keep(k) else redact_values(v) for k, v in values.items()}
    if isinstance(values, str):
        return redact(values)
    if isinstance(values, tuple):
        return tuple(redact_values(v) for v in values)
    return values
