"""Secrets never reach memory in clear: every text written to the store passes `redact()`.

Detection is Yelp's detect-secrets (its regex plugins, offline: verification is never called),
plus rules for what it does not know or only finds in quoted code: provider token prefixes,
`Authorization:` headers, `password=`-style assignments (JSON, YAML, .env, quoted phrases,
values starting with `$`), command-line passwords (`mysql -p...`) and AWS secrets in prose.
The guarantee is the store's write path (redacting_table.py): every text column of every row
written passes `redact()`. Writers that hand back or embed what they store (blocks, messages,
archival) and the mirror's files call it too, so what they return, embed or show is what was
stored. A redacted secret becomes `[REDACTED <kind> #<8 hex of its sha256>]`, so two mentions
of the same key can still be told apart without storing it. Redacted text is left as it is.
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
_KEY = (r"(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|"
        r"account[_-]?key|private[_-]?key|client[_-]?secret|shared[_-]?access[_-]?key|"
        r"auth[_-]?key|credentials?)(?:[_-]?(?:access[_-]?)?(?:key|id|value|string|str|b64|"
        r"base64|hex|plain|raw|secret|token))?(?![A-Za-z0-9_])")
_KEY_WORDS = ("pass", "pwd", "secret", "token", "key", "cred")
# (compiled for lowercased text, which is ~10x faster than IGNORECASE; that one as fallback)
_VALUES: list[tuple[str, re.Pattern[str], re.Pattern[str], tuple[str, ...]]] = [
    (k, re.compile(p), re.compile(p, re.IGNORECASE), needs) for k, p, needs in [
    # Authorization: Bearer <token> / Basic <base64> (headers, curl -H, prose)
    ("auth-header", r"\bauthorization\b[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|token|digest|"
                    r"apikey|sso-key)?\s*(?P<v>[A-Za-z0-9._~+/=:-]{8,})", ("authorization",)),
    ("bearer-token", r"\bbearer\s+(?P<v>[A-Za-z0-9._~+/-]*\d[A-Za-z0-9._~+/-]*=*)(?=[\s\"',;]|$)",
     ("bearer",)),
    ("url-credentials", r"://[^/\s:@]*:(?P<v>[^/\s@]{3,})@", ("://",)),
    # key: "a quoted phrase", a password is '...', "password": "..."
    ("secret", _KEY + r"[\"']?\s*(?:[:=]|\s+(?:is|was|of))\s*(?P<q>[\"'])"
               r"(?P<v>[^\"'\n]{3,200})(?P=q)", _KEY_WORDS),
    # key=value unquoted (.env, INI, shell)
    ("secret", _KEY + r"[\"']?[ \t]*=[ \t]*(?P<v>[^\s\"'`,;]{3,})", _KEY_WORDS),
    # after a colon (YAML, prose) a bare word is no secret: the value needs a digit or sign
    ("secret", _KEY + r"[\"']?[ \t]*:[ \t]*(?P<v>(?=[^\s\"'`,;]*[^a-z\s\"'`,;])[^\s\"'`,;]{3,})",
     _KEY_WORDS),
    # mysql -pSECRET, --password=SECRET, --token SECRET
    ("cli-password", r"\b(?:mysql\w*|mariadb\w*|pg_\w+|mongo\w*|redis-cli|sshpass)\b[^\n]*?"
                     r"\s-p(?P<v>[^\s-][^\s]{2,})",
     ("mysql", "mariadb", "pg_", "mongo", "redis-cli", "sshpass")),
    ("cli-password", r"(?:^|\s)--?(?:password|passwd|pass|token|api-key|secret)[ =]"
                     r"(?P<v>[^\s\"'-][^\s\"']{2,})", ("-pass", "-token", "-api-key", "-secret")),
    ("netrc-password", r"\bmachine\s+\S+\s+login\s+\S+\s+password\s+(?P<v>\S+)", ("machine",)),
    ("aws-secret-key", r"\b(?:aws|secret)\b[^\n]{0,60}?(?<![A-Za-z0-9/+=])"
                       r"(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])", ("aws", "secret")),
]]
# Values after a secret-sounding name that are not secrets: code, references, placeholders.
_NOT_A_VALUE = re.compile(
    r"(?i)^(?:none|null|nil|true|false|undefined|required|optional|str|string|bytes|int|"
    r"empty|redacted|changeme|example|xxx+|\*+|\.\.\.|-+|n/a|os\.|self\.|settings\.|config\.|"
    r"env\.|process\.env|getenv|environ|\$\{|\$\(|\{|\[|(?-i:\$[A-Z_][A-Z0-9_]*$)|<|%\()")
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


# detect-secrets' regex plugins used (module: class). Its keyword and entropy plugins are
# replaced by the rules above and `_high_entropy`, which also read unquoted text and prose;
# its IBM Cloud IAM, IBM COS HMAC, Cloudant and SoftLayer plugins (`<name> key = <value>`
# forms, which the assignment rules catch) are left out: they cost most of a code scan.
_PLUGINS = (
    "artifactory:ArtifactoryDetector aws:AWSKeyDetector azure_storage_key:AzureStorageKeyDetector "
    "basic_auth:BasicAuthDetector discord:DiscordBotTokenDetector "
    "github_token:GitHubTokenDetector gitlab_token:GitLabTokenDetector jwt:JwtTokenDetector "
    "mailchimp:MailchimpDetector npm:NpmDetector openai:OpenAIDetector "
    "pypi_token:PypiTokenDetector sendgrid:SendGridDetector slack:SlackDetector "
    "square_oauth:SquareOAuthDetector stripe:StripeDetector "
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


def _high_entropy(text: str) -> Iterator[str]:
    """Quoted base64-like strings that look random (detect-secrets' entropy limit, with upper
    and lower case and digits, longer than its default asks, to spare identifiers); not on
    lines that name a hash (checksums and lock-file integrity values are public). Hex strings
    are left to the other rules: in code they are mostly public digests."""
    if "'" not in text and '"' not in text:
        return
    for m in _B64.finditer(text):
        v = m.group(2)
        if not (re.search(r"\d", v) and re.search(r"[a-z]", v) and re.search(r"[A-Z]", v)
                and _entropy(v) > 4.5):
            continue
        start, end = text.rfind("\n", 0, m.start()) + 1, text.find("\n", m.end())
        if not _PUBLIC_HASH.search(text[start:end if end >= 0 else len(text)]):
            yield v


# Literal words without which a token rule or a detect-secrets plugin cannot match (by kind),
# checked first: a substring search is far cheaper than a regex pass. Lowercase ones are
# looked for in the lowercased text.
_NEEDS: dict[str, tuple[str, ...]] = {
    "aws-access-key": ("A3T", "ABIA", "ACCA", "AKIA", "ASIA"),
    "github-token": ("gho_", "ghp_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "gitlab-token": ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "glcbt-", "glimt-",
                     "glptt-", "gloas-", "glagent-", "GR1348941"),
    "openai-key": ("sk-",), "huggingface-token": ("hf_",), "npm-token": ("npm_",),
    "pypi-token": ("pypi-",), "sendgrid-key": ("SG.",), "slack-token": ("xox",),
    "slack-webhook": ("hooks.slack.com",), "google-api-key": ("AIza",),
    "google-oauth-secret": ("GOCSPX-",), "stripe-key": ("k_live_", "k_test_"), "jwt": ("eyJ",),
    "digitalocean-token": ("dop_v1_", "doo_v1_", "dor_v1_"),
    "shopify-token": ("shpat_", "shpss_", "shpca_", "shppa_"),
    "doppler-token": ("dp.st.", "dp.ct.", "dp.sa.", "dp.scim.", "dp.audit."),
    "age-secret-key": ("AGE-SECRET-KEY-1",), "vault-token": ("hvs.", "hvb.", "hvr."),
    "grafana-token": ("glc_", "glsa_"), "databricks-token": ("dapi",), "linear-key": ("lin_api_",),
    "notion-token": ("ntn_", "secret_"), "postman-key": ("PMAK-",), "anthropic-key": ("sk-ant-",),
    # detect-secrets plugins (kinds made of their secret_type)
    "artifactory-credentials": ("AKC", "AP"),
    "azure-storage-account-access-key": ("accountkey",), "basic-auth-credentials": ("://",),
    "json-web-token": ("eyJ",), "mailchimp-access-key": ("-us",), "npm-tokens": ("_authtoken",),
    "openai-token": ("t3blbkfj",), "sendgrid-api-key": ("sg.",),
    "square-oauth-secret": ("sq0csp",), "stripe-access-key": ("k_live_",),
    "telegram-bot-token": (":",), "twilio-api-key": ("AC", "SK"), "discord-bot-token": (".",),
}
_MAX_SPANS = 2000  # past this many lines holding a needed word, a rule reads the whole text


def _lines_with(text: str, low: str, needs: tuple[str, ...] | None,
                present: frozenset[str]) -> str | None:
    """The lines of `text` holding one of `needs` (lowercase ones searched in `low`), joined;
    the whole text when it is short or most lines qualify; None when no line does.
    `present`: the needs found anywhere in the text (searched once for all rules)."""
    if not needs:
        return text
    here = [n for n in needs if n in present]
    if not here:
        return None
    if len(text) < 4096 or len(low) != len(text):
        return text
    spans: set[tuple[int, int]] = set()
    for need in here:
        src = low if need.islower() else text
        i = src.find(need)
        while i >= 0:
            start = text.rfind("\n", 0, i) + 1
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            spans.add((start, end))
            if len(spans) > _MAX_SPANS:
                return text
            i = src.find(need, end)
    return "\n".join(text[a:b] for a, b in sorted(spans))


@lru_cache(maxsize=1)
def _all_needs() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Every needed word of every rule: (lowercase ones, others)."""
    words = {n for needs in _NEEDS.values() for n in needs}
    words |= {n for *_, needs in _VALUES for n in needs}
    return tuple(w for w in words if w.islower()), tuple(w for w in words if not w.islower())


def find_secrets(text: str) -> list[tuple[str, str]]:
    """Every (kind, secret) found in `text`, outermost first; redacted tags are skipped."""
    if not text:
        return []
    low = text.lower()
    lower_needs, other_needs = _all_needs()
    present = frozenset([n for n in lower_needs if n in low]
                        + [n for n in other_needs if n in text])
    found: list[tuple[str, str]] = [("private-key", m.group(0))
                                    for m in _PRIVATE_KEY.finditer(text)]
    for kind, pattern in _TOKENS:
        part = _lines_with(text, low, _NEEDS.get(kind), present)
        if part is not None:
            found += [(kind, m.group(0)) for m in pattern.finditer(part)]
    for kind, lowered, anycase, needs in _VALUES:
        part = _lines_with(text, low, needs, present)
        if part is None:
            continue
        part_low = part.lower()
        if len(part_low) == len(part):  # spans in the lowercased text are spans in `part`
            values = [part[slice(*m.span("v"))] for m in lowered.finditer(part_low)]
        else:
            values = [m.group("v") for m in anycase.finditer(part)]
        found += [(kind, v.rstrip(".)")) for v in values if _is_value(v)]
    for kind, plugin in _detectors():  # their patterns never cross a line end
        part = _lines_with(text, low, _NEEDS.get(kind), present)
        if part is not None:
            found += [(kind, v) for v in plugin.analyze_string(part) if v and len(v) >= 8]
    found += [("high-entropy", v) for v in _high_entropy(text)]
    return [(k, s) for k, s in found if len(s) >= 3 and not TAG_RE.search(s)
            and not TAG_RE.fullmatch(s)]


def redact(text: str) -> str:
    """Return `text` with secrets replaced; unchanged (the same object) when there are none."""
    if not text:
        return text
    return _redact_cached(text) if len(text) <= 16384 else _redact(text)


@lru_cache(maxsize=4096)
def _redact_cached(text: str) -> str:
    return _redact(text)


_ESCAPES = {"\\n": "\n", "\\t": "\t", '\\"': '"', "\\r": "\r", "\\/": "/"}


def _unescaped(text: str) -> str:
    """JSON-escaped text (tool calls) as written, so `\\nAuthorization: ...` is seen as a line."""
    for escaped, char in _ESCAPES.items():
        text = text.replace(escaped, char)
    return text


def _redact(text: str) -> str:
    found = find_secrets(text)
    if "\\" in text:
        found += find_secrets(_unescaped(text))
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
