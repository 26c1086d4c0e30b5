"""Talking to AWS: one long-lived async client per source, and what its errors mean.

The client comes from a session that is kept for the whole run, so credentials
that expire (assume-role profiles, SSO) are refreshed by botocore. botocore's
own retries are off: the readers retry with their own backoff so that health
shows every throttle and every network fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import botocore.exceptions as bx

from flowtui.errors import SourceError
from flowtui.sources.region import REGION_SOURCES, region_for
from flowtui.sources.spec import AwsTarget

# What an error means to a reader.
THROTTLED = "throttled"  # back off and retry
NETWORK = "network"  # back off and retry
TRANSIENT = "transient"  # an AWS-side fault: back off and retry
EXPIRED_ITERATOR = "expired-iterator"  # get a new iterator from the last position
DENIED = "denied"  # access denied: report, retry slowly
CREDENTIALS = "credentials"  # none, expired or rejected: report, rebuild the session, retry slowly
NOT_FOUND = "not-found"  # no such stream, shard or log group
INVALID = "invalid"  # a request AWS refuses (e.g. a sequence number past retention)

_THROTTLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "LimitExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
    "KMSThrottlingException",
    "RequestThrottled",
    "RequestThrottledException",
}
_DENIED_CODES = {
    "AccessDeniedException",
    "AccessDenied",
    "UnauthorizedOperation",
    "AuthorizationError",
    "KMSAccessDeniedException",
    "KMSDisabledException",
    "KMSInvalidStateException",
    "KMSNotFoundException",
    "KMSOptInRequired",
    "AllAccessDisabled",
}
_CREDENTIAL_CODES = {
    "ExpiredTokenException",
    "ExpiredToken",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "RequestExpired",
    "InvalidAccessKeyId",
    "IncompleteSignature",
    "MissingAuthenticationToken",
}
_NOT_FOUND_CODES = {"ResourceNotFoundException", "NoSuchBucket", "NoSuchKey", "NotFound", "NoSuchEntity"}
_INVALID_CODES = {"InvalidArgumentException", "InvalidParameterException", "ValidationException"}
_CREDENTIAL_ERRORS = (
    bx.NoCredentialsError,
    bx.PartialCredentialsError,
    bx.CredentialRetrievalError,
    bx.NoAuthTokenError,
    bx.TokenRetrievalError,
    bx.SSOTokenLoadError,
    bx.UnauthorizedSSOTokenError,
)


def error_code(exc: BaseException) -> str | None:
    if isinstance(exc, bx.ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "") or None
    return None


def classify(exc: BaseException) -> str | None:
    """What ``exc`` means to a reader, or None when it is not an AWS or network error (a bug)."""
    if isinstance(exc, bx.ClientError):
        code = error_code(exc) or ""
        if code == "ExpiredIteratorException":
            return EXPIRED_ITERATOR
        if code in _THROTTLE_CODES:
            return THROTTLED
        if code in _DENIED_CODES:
            return DENIED
        if code in _CREDENTIAL_CODES:
            return CREDENTIALS
        if code in _NOT_FOUND_CODES:
            return NOT_FOUND
        if code in _INVALID_CODES:
            return INVALID
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 403:
            return DENIED
        if status == 429:
            return THROTTLED
        return TRANSIENT  # 5xx and codes we do not know: retrying is the safe answer
    if isinstance(exc, _CREDENTIAL_ERRORS):
        return CREDENTIALS
    if isinstance(exc, (bx.HTTPClientError, bx.ConnectionError)):
        return NETWORK
    if isinstance(exc, (OSError, asyncio.TimeoutError, TimeoutError, EOFError)):
        return NETWORK
    try:
        import aiohttp

        if isinstance(exc, aiohttp.ClientError):
            return NETWORK
    except ImportError:  # pragma: no cover - aiobotocore depends on it
        pass
    return None


def describe(exc: BaseException) -> str:
    """A short, one-line description of an AWS or network error for logs and the status bar."""
    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error", {})
        message = str(err.get("Message") or "").strip()
        code = err.get("Code") or "error"
        return f"{code}: {message}" if message else str(code)
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def user_error(exc: BaseException, what: str, target: AwsTarget, permissions: str = "") -> SourceError:
    """The one sentence a user needs when ``what`` (e.g. "Kinesis stream 'x'") cannot be used."""
    kind = classify(exc)
    where = f" in {target.region}" if target.region else ""
    if isinstance(exc, bx.NoRegionError):
        return SourceError(f"no AWS region for {what}: pass --region, set region in the source, or set {REGION_SOURCES}")
    if isinstance(exc, bx.ProfileNotFound):
        return SourceError(f"AWS profile {target.profile!r} is not in your AWS config files")
    if kind == NOT_FOUND:
        return SourceError(f"{what} does not exist{where} (check the name and --region)")
    if kind == DENIED:
        need = f"; it needs {permissions}" if permissions else ""
        return SourceError(f"access denied to {what}{where} for these credentials ({describe(exc)}){need}")
    if kind == CREDENTIALS:
        return SourceError(
            f"no usable AWS credentials for {what} ({describe(exc)}): set a profile with --profile or AWS_PROFILE,"
            " or log in again (aws sso login)"
        )
    if kind == NETWORK:
        url = target.endpoint_url or f"the AWS endpoint{where}"
        return SourceError(f"cannot reach {url} for {what}: {describe(exc)}")
    if kind == INVALID:
        return SourceError(f"AWS refused a request for {what}: {describe(exc)}")
    return SourceError(f"cannot read {what}: {describe(exc)}")


ClientWrapper = Callable[[Any], Any]


class ClientHolder:
    """One async client for one service, rebuilt from a fresh session when credentials go bad.

    Every reader of a source shares it. A rebuild does not close the old client
    under the calls still running on it: that happens a minute later.
    """

    RENEW_AT_MOST_EVERY = 5.0  # seconds: many readers see the same bad credentials at once
    RETIRE_AFTER = 60.0  # seconds before a replaced client is closed (longer than a read timeout)

    def __init__(self, service: str, target: AwsTarget, wrapper: ClientWrapper | None = None) -> None:
        self.service = service
        self.target = target
        self.wrapper = wrapper
        self._cm: Any = None
        self._client: Any = None
        self._opened_at = 0.0
        self._lock: asyncio.Lock | None = None
        self._retired: set[asyncio.Task[None]] = set()

    async def get(self) -> Any:
        if self._client is None:
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:
                if self._client is None:
                    await self._open()
        return self._client

    async def _open(self) -> None:
        from aiobotocore.config import AioConfig
        from aiobotocore.session import AioSession

        try:
            session = AioSession(profile=self.target.profile)
            config = AioConfig(
                retries={"total_max_attempts": 1, "mode": "standard"},
                connect_timeout=10,
                read_timeout=40,
                max_pool_connections=64,
            )
            cm = session.create_client(
                self.service, region_name=region_for(self.target.region), endpoint_url=self.target.endpoint_url, config=config
            )
            client = await cm.__aenter__()
        except (bx.NoRegionError, bx.ProfileNotFound) as exc:
            raise user_error(exc, f"{self.service}", self.target) from None
        self._cm = cm
        self._client = self.wrapper(client) if self.wrapper is not None else client
        self._opened_at = time.monotonic()

    async def reset(self) -> None:
        """The next call builds a new session (re-reads credentials); calls in flight finish on the old one."""
        if self._cm is None or time.monotonic() - self._opened_at < self.RENEW_AT_MOST_EVERY:
            return
        cm, self._cm, self._client = self._cm, None, None
        task = asyncio.get_running_loop().create_task(self._close_later(cm))
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    async def _close_later(self, cm: Any) -> None:
        try:
            await asyncio.sleep(self.RETIRE_AFTER)
        finally:
            await _close(cm)

    async def close(self) -> None:
        cm, self._cm, self._client = self._cm, None, None
        for task in list(self._retired):
            task.cancel()  # closes its client now
        if self._retired:
            await asyncio.gather(*self._retired, return_exceptions=True)
        if cm is not None:
            await _close(cm)


async def _close(cm: Any) -> None:
    with contextlib.suppress(Exception):  # closing a broken connection must not mask why
        await cm.__aexit__(None, None, None)


@asynccontextmanager
async def client_holder(
    service: str, target: AwsTarget, wrapper: ClientWrapper | None = None
) -> AsyncIterator[ClientHolder]:
    holder = ClientHolder(service, target, wrapper)
    try:
        yield holder
    finally:
        await holder.close()
