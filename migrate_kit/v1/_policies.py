"""azure-core pipeline policies of the v1 client: one redacted log line per call, bounded retries.

Nothing here logs headers, bodies or query strings: Authorization headers carry bearer tokens and
the query of a blob URL is a SAS token. ``redact`` scrubs text (service messages, exception
text) that might echo either before it reaches a log or an error message.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy, RetryPolicy

__all__ = ["BoundedRetryPolicy", "RequestLogPolicy", "redact"]

logger = logging.getLogger(__name__)

_URL_QUERY = re.compile(r"(https?://[^\s?#'\"<>]+)\?[^\s'\"<>]*", re.IGNORECASE)
_BEARER = re.compile(r"(bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_SECRET_PAIR = re.compile(
    r"\b(sig|signature|sv|se|skoid|sktid|code|key|accountkey|access_token|token|password)"
    r"=[^&\s'\";]+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """Remove URL query strings, bearer tokens and ``key=value`` secrets from ``text``."""
    text = _URL_QUERY.sub(r"\1?<redacted>", text)
    text = _BEARER.sub(r"\1<redacted>", text)
    return _SECRET_PAIR.sub(lambda m: f"{m.group(1)}=<redacted>", text)


class RequestLogPolicy(HTTPPolicy):  # type: ignore[type-arg]
    """Log one INFO line per call: method, path (never the query), status, elapsed ms, retries.

    Sits outside the retry policy, so a call that needed retries is still one line; the retry
    count comes from the history the retry policy leaves in the pipeline context.
    """

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Send the request on and log how it went."""
        started = time.perf_counter()
        method = request.http_request.method
        try:
            response = self.next.send(request)
        except Exception as exc:
            if logger.isEnabledFor(logging.INFO):
                logger.info(
                    "%s %s -> %s (%.0f ms)",
                    method,
                    _path(request.http_request.url),
                    type(exc).__name__,
                    (time.perf_counter() - started) * 1000,
                )
            raise

        if logger.isEnabledFor(logging.INFO):
            retries = len(response.context.get("history") or ())
            logger.info(
                "%s %s -> %s (%.0f ms%s)",
                method,
                _path(request.http_request.url),
                response.http_response.status_code,
                (time.perf_counter() - started) * 1000,
                f", {retries} retries" if retries else "",
            )
        return response


class BoundedRetryPolicy(RetryPolicy):  # type: ignore[type-arg]
    """azure-core's retry policy with a ceiling on how long one ``Retry-After`` may make us wait.

    The base policy already retries 408, 429 and 5xx answers and connection errors, honours
    ``Retry-After`` and stops after ``timeout`` seconds in total; but it would sleep for any
    ``Retry-After`` a server sends (even an hour) before checking that total. Here a longer
    value is cut to ``max_retry_after`` seconds.
    """

    def __init__(self, *, max_retry_after: float = 30.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_retry_after = max_retry_after

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        """Return the server's ``Retry-After`` in seconds, capped at ``max_retry_after``."""
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.max_retry_after)


def _path(url: str) -> str:
    """Return the path of ``url``: its query (a SAS token on blob URLs) is never logged."""
    parts = urlsplit(url)
    return parts.path or "/"
