"""azure-core pipeline policies of the v1 clients: one redacted log line per call, bounded retries.

Each policy comes in a sync form (``PipelinesClient``) and an asyncio form
(``AsyncPipelinesClient``); the two share their logic and differ only in awaiting the next one.

Nothing here logs headers, bodies or query strings: Authorization headers carry bearer tokens and
the query of a blob URL is a SAS token. ``redact`` (from ``migrate_kit.redact``, re-exported
here for the v1 error code) scrubs text (service messages, exception text) that might echo
either before it reaches a log or an error message.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import (
    AsyncHTTPPolicy,
    AsyncRetryPolicy,
    HTTPPolicy,
    RetryPolicy,
    UserAgentPolicy,
)

from migrate_kit.redact import redact

if TYPE_CHECKING:
    from migrate_kit.v1._calls import ClientSettings

__all__ = [
    "AsyncBoundedRetryPolicy",
    "AsyncRequestLogPolicy",
    "BoundedRetryPolicy",
    "RequestLogPolicy",
    "async_policies",
    "redact",
    "sync_policies",
]

logger = logging.getLogger(__name__)

USER_AGENT = "migrate-kit/0.1"


def sync_policies(settings: ClientSettings, *extra: Any) -> list[Any]:
    """Fresh policy objects, outermost first: user agent, log line, retries, then ``extra``.

    azure-core's policies are typed for its legacy request class, so the list is typed loosely.
    """
    retry = BoundedRetryPolicy(**_retry_options(settings))
    return [UserAgentPolicy(sdk_moniker=USER_AGENT), RequestLogPolicy(), retry, *extra]


def async_policies(settings: ClientSettings, *extra: Any) -> list[Any]:
    """The asyncio counterpart of ``sync_policies`` (same order, same settings)."""
    retry = AsyncBoundedRetryPolicy(**_retry_options(settings))
    return [UserAgentPolicy(sdk_moniker=USER_AGENT), AsyncRequestLogPolicy(), retry, *extra]


def _retry_options(settings: ClientSettings) -> dict[str, Any]:
    return {
        "retry_total": settings.retry_total,
        "retry_backoff_factor": 0.5,
        "timeout": settings.retry_timeout,
        "max_retry_after": settings.max_retry_after,
    }


class RequestLogPolicy(HTTPPolicy):  # type: ignore[type-arg]
    """Log one INFO line per call: method, path (never the query), status, elapsed ms, retries.

    Sits outside the retry policy, so a call that needed retries is still one line; the retry
    count comes from the history the retry policy leaves in the pipeline context.
    """

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Send the request on and log how it went."""
        started = time.perf_counter()
        try:
            response = self.next.send(request)
        except Exception as exc:
            _log_call(request, started, exc=exc)
            raise
        _log_call(request, started, response=response)
        return response


class AsyncRequestLogPolicy(AsyncHTTPPolicy):  # type: ignore[type-arg]
    """``RequestLogPolicy`` for azure-core's ``AsyncPipeline``."""

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Send the request on and log how it went."""
        started = time.perf_counter()
        try:
            response = await self.next.send(request)
        except Exception as exc:
            _log_call(request, started, exc=exc)
            raise
        _log_call(request, started, response=response)
        return response


def _log_call(
    request: PipelineRequest[Any],
    started: float,
    *,
    response: PipelineResponse[Any, Any] | None = None,
    exc: Exception | None = None,
) -> None:
    """The one INFO line of a call: the status (or exception type), time and retries."""
    if not logger.isEnabledFor(logging.INFO):
        return
    retries = len(response.context.get("history") or ()) if response is not None else 0
    logger.info(
        "%s %s -> %s (%.0f ms%s)",
        request.http_request.method,
        _path(request.http_request.url),
        type(exc).__name__ if response is None else response.http_response.status_code,
        (time.perf_counter() - started) * 1000,
        f", {retries} retries" if retries else "",
    )


class _CappedRetryAfter:
    """Mixin for azure-core's retry policies: a ceiling on how long one ``Retry-After`` may be.

    The base policies already retry 408, 429 and 5xx answers and connection errors, honour
    ``Retry-After`` and stop after ``timeout`` seconds in total; but they would sleep for any
    ``Retry-After`` a server sends (even an hour) before checking that total. Here a longer
    value is cut to ``max_retry_after`` seconds.
    """

    def __init__(self, *, max_retry_after: float = 30.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_retry_after = max_retry_after

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        """Return the server's ``Retry-After`` in seconds, capped at ``max_retry_after``."""
        value: float | None = super().get_retry_after(response)  # type: ignore[misc]
        return None if value is None else min(value, self.max_retry_after)


class BoundedRetryPolicy(_CappedRetryAfter, RetryPolicy):  # type: ignore[type-arg]
    """azure-core's ``RetryPolicy`` with ``Retry-After`` capped (see ``_CappedRetryAfter``)."""


class AsyncBoundedRetryPolicy(_CappedRetryAfter, AsyncRetryPolicy):  # type: ignore[type-arg]
    """azure-core's ``AsyncRetryPolicy`` with ``Retry-After`` capped (see ``_CappedRetryAfter``)."""


def _path(url: str) -> str:
    """Return the path of ``url``: its query (a SAS token on blob URLs) is never logged."""
    parts = urlsplit(url)
    return parts.path or "/"
