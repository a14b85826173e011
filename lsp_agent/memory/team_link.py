"""The connection to a team store on object storage: fast failure, offline state, clear errors.

LanceDB retries an unreachable endpoint for minutes by default. A team store must fail in
seconds so the agent keeps working from its cache: every call runs in a daemon thread with a
deadline, and after a failure the store counts as unavailable (calls fail at once) until a
retry time that backs off. Errors become one sentence naming the setting to fix, with no key
or URI secret in it.

Credentials come the usual way: LanceDB (object_store and the AWS SDK chain) reads
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE with ~/.aws/credentials, AWS_ENDPOINT_URL
for MinIO, Ceph or R2, and the GCS and Azure variables for gs:// and az:// URIs. Nothing here
reads or stores a key.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from lsp_agent.errors import LspAgentError
from lsp_agent.memory.secrets import redact
from lsp_agent.memory.store import MemoryStore, StoreError
from lsp_agent.paths import display_uri, is_local_uri

log = logging.getLogger(__name__)
T = TypeVar("T")
_USERINFO = re.compile(r"([a-z][a-z0-9+.-]*://)[^/@\s]*@", re.IGNORECASE)  # user:key@ in URIs

ENV_TIMEOUT = "LSP_AGENT_TEAM_TIMEOUT"
DEFAULT_DEADLINE = 8.0  # seconds a call may take before the store counts as unreachable
BACKOFF = (5.0, 10.0, 20.0, 40.0, 60.0)  # seconds before trying an unavailable store again


class TeamStoreUnavailable(LspAgentError):
    """The team store cannot be used right now; the message says why and what to do."""

    def __init__(self, message: str, reason: str = "unreachable") -> None:
        super().__init__(message)
        self.reason = reason


def deadline() -> float:
    try:
        return max(1.0, float(os.environ.get(ENV_TIMEOUT, "") or DEFAULT_DEADLINE))
    except ValueError:
        return DEFAULT_DEADLINE


def open_deadline() -> float:
    """Opening checks every table of the store: more round trips than one call."""
    return 3 * deadline()


def storage_options(uri: str) -> dict[str, str]:
    """LanceDB options that make a remote store fail in seconds instead of minutes."""
    if is_local_uri(uri):
        return {}
    return {"timeout": "5s", "connect_timeout": "3s", "client_max_retries": "1",
            "client_retry_timeout": "10"}


class TeamStore(MemoryStore):
    """A MemoryStore opened with short network timeouts, whose failures TeamLink explains."""

    def __init__(self, uri: str, **kwargs: Any) -> None:
        super().__init__(uri, storage_options=storage_options(uri), **kwargs)

    def open_failed(self, exc: Exception) -> StoreError:
        return StoreError(str(exc))


_AZURE = ("az", "abfss")  # LanceDB's Azure schemes (it refuses abfs://, adl://, azure://)
# What to set, by provider: the credentials, and the credentials that may write.
_HINTS = {
    "aws": ("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE", "AWS_PROFILE"),
    "azure": ("AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY, or "
              "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_SAS_TOKEN with write permission"),
    "gcs": ("GOOGLE_SERVICE_ACCOUNT (or GOOGLE_APPLICATION_CREDENTIALS) to a service account's "
            "JSON file", "GOOGLE_SERVICE_ACCOUNT"),
}


def _provider(uri: str) -> str:
    scheme = uri.split("://", 1)[0].lower()
    return "azure" if scheme in _AZURE else "gcs" if scheme == "gs" else "aws"


def _endpoint(provider: str) -> tuple[str, str]:
    """The endpoint the store is reached at (safe to show) and the variable that sets it."""
    env = os.environ.get
    if provider == "azure" and (env("AZURE_STORAGE_USE_EMULATOR") or "").lower() == "true":
        return env("AZURITE_BLOB_STORAGE_URL") or "http://127.0.0.1:10000", \
            "AZURITE_BLOB_STORAGE_URL"
    if provider == "azure":
        account = env("AZURE_STORAGE_ACCOUNT_NAME")
        default = f"https://{account}.blob.core.windows.net" if account else "default"
        return env("AZURE_STORAGE_ENDPOINT") or default, "AZURE_STORAGE_ENDPOINT"
    if provider == "gcs":
        return "default", ""
    return env("AWS_ENDPOINT_URL") or "default", "AWS_ENDPOINT_URL"


def explain(exc: BaseException, uri: str) -> TeamStoreUnavailable:
    """One sentence for a failure of the team store, naming the setting to check (the
    variables of the store's provider: AWS, Azure or GCS)."""
    shown = display_uri(uri)
    provider = _provider(uri)
    creds, writer = _HINTS[provider]
    bucket = "container" if provider == "azure" else "bucket"
    text = str(exc)
    low = text.lower().replace("retry_timeout", "")  # in every retried error's text
    if any(w in low for w in ("credential", "invalidaccesskeyid", "signaturedoesnotmatch",
                              "failed to authenticate", "authenticationfailed",
                              "invalid access key", "noauthenticationinformation")):
        return TeamStoreUnavailable(
            f"No usable credentials for the team store {shown} (teamStore): set {creds} in the "
            "environment of lsp-agent. Team writes are kept in the local queue meanwhile.",
            "credentials")
    if any(w in low for w in ("nosuchbucket", "bucket does not exist", "containernotfound")) \
            or (provider == "azure" and "resourcenotfound" in low):  # Azurite: no such account
        what = "container (or storage account)" if provider == "azure" else bucket
        return TeamStoreUnavailable(
            f"The {what} of the team store {shown} does not exist (teamStore): create it or "
            "correct the setting. Team writes are kept in the local queue meanwhile.",
            f"no {bucket}")
    if any(w in low for w in ("accessdenied", "access denied", "forbidden", " 403",
                              "necessary privileges", "permission denied",
                              "authorizationfailure", "authorizationpermissionmismatch")):
        return TeamStoreUnavailable(
            f"Access to the team store {shown} was denied (teamStore): its credentials may read "
            f"but not write there, or not use that {bucket} at all. Ask for write access or use "
            f"other credentials ({writer}). Team writes are kept in the local queue meanwhile.",
            "denied")
    if isinstance(exc, TimeoutError) or any(w in low for w in (
            "error sending request", "connection refused", "timed out", "timeout", "dns error",
            "connect error", "tcp connect", "connection reset", "broken pipe")):
        endpoint, var = _endpoint(provider)
        check = f"the network and {var}" if var else "the network"
        return TeamStoreUnavailable(
            f"The team store {shown} is unreachable (teamStore; endpoint "
            f"{display_uri(endpoint)}): working from the local cache, and team writes are "
            f"queued until it is back. Check {check}.", "unreachable")
    from lsp_agent.memory.damage import clean

    detail = _USERINFO.sub(r"\1", redact(clean(exc)))[:300]
    return TeamStoreUnavailable(
        f"The team store {shown} failed (teamStore): {detail}. Team writes are kept in the "
        "local queue meanwhile.", "failed")


class TeamLink:
    """Runs calls against the team store with a deadline, and remembers when it is down."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.reachable: bool | None = None  # None: not tried yet
        self.error: TeamStoreUnavailable | None = None
        self.retry_at = 0.0
        self._failures = 0
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        """Worth trying now (up, unknown, or its retry time has come)."""
        return self.reachable is not False or time.monotonic() >= self.retry_at

    def run(self, fn: Callable[[], T], timeout: float | None = None) -> T:
        """`fn()` in a daemon thread; TeamStoreUnavailable when the store is down (at once
        while backing off) or the call fails or overruns. Errors of the caller's own making
        (LspAgentError other than a StoreError, ValueError) pass through unchanged."""
        if not self.available and self.error is not None:
            raise self.error
        box: dict[str, Any] = {}
        done = threading.Event()

        def call() -> None:
            try:
                box["value"] = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=call, name="lsp-agent-team", daemon=True).start()
        if not done.wait(timeout or deadline()):
            raise self._down(TimeoutError(f"no answer within {timeout or deadline():.0f} s"))
        exc = box.get("error")
        if exc is None:
            self._up()
            return box["value"]  # type: ignore[no-any-return]
        if isinstance(exc, LspAgentError) and not isinstance(exc, StoreError):
            self._up()
            raise exc
        if isinstance(exc, (KeyError, ValueError)) and "lance" not in str(exc).lower():
            self._up()
            raise exc
        raise self._down(exc) from exc

    def _up(self) -> None:
        with self._lock:
            if self.reachable is False:
                log.info("team store %s is reachable again", display_uri(self.uri))
            self.reachable, self.error, self._failures = True, None, 0

    def _down(self, exc: BaseException) -> TeamStoreUnavailable:
        err = explain(exc, self.uri)
        with self._lock:
            self.reachable, self.error = False, err
            self.retry_at = time.monotonic() + BACKOFF[min(self._failures, len(BACKOFF) - 1)]
            self._failures += 1
        log.info("%s", err)
        return err
