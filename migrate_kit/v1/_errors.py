"""Turn failed v1 service calls into ``migrate_kit.errors`` exceptions with one-line messages.

Status mapping: 401/403 → ``AuthenticationError``, 404 → ``NotFoundError``, 5xx (after the
retries) and network failures → ``ServiceUnavailableError``, anything else → ``ServiceCallError``.
Two error body shapes are read: the Azure ML data-plane ``{"error": {"code", "message",
"innerError": {"code"}}}`` and the PascalCase ``{"Error": {"Code", "Message"}}`` of the v1
client model (the live casing is unconfirmed). Every message and stored service message passes
through ``redact``: no token or SAS query string ends up in an exception.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import AzureError

from migrate_kit.errors import (
    AuthenticationError,
    NotFoundError,
    ServiceCallError,
    ServiceUnavailableError,
)
from migrate_kit.v1._policies import redact

__all__ = [
    "credential_error",
    "error_from_exception",
    "error_from_response",
    "malformed_error",
    "poll_timeout_error",
]

_MAX_SERVICE_MESSAGE = 300


def error_from_response(
    workspace: str, what: str, url: str, status: int, body: bytes, retries: int
) -> ServiceCallError:
    """Build the error for an HTTP answer with an unexpected status.

    ``workspace`` is the ``Workspace 'ws' in resource group ...`` phrase; ``what`` names the
    resource asked for (``graph 'abc'``).
    """
    code, service_message = _error_details(body)
    label = f"{status} {code}" if code else str(status)
    fields: dict[str, Any] = {
        "status": status,
        "code": code,
        "service_message": service_message,
        "url": url,
    }
    if status == 401:
        return AuthenticationError(
            f"{workspace} refused the credential ({label}) when reading {what}. Check that you "
            "are signed in (az login) and have access to the workspace.",
            **fields,
        )
    if status == 403:
        return AuthenticationError(
            f"{workspace} denied access to {what} ({label}). Check that your identity has a role "
            "on the workspace that may read pipelines (e.g. AzureML Data Scientist).",
            **fields,
        )
    if status == 404 and what.startswith("the "):  # a list: the workspace itself is unknown
        return NotFoundError(
            f"{workspace} was not found when reading {what} ({label}). Check the subscription, "
            "resource group and workspace name, and the service URL.",
            **fields,
        )
    if status == 404:
        return NotFoundError(
            f"{workspace} has no {what} ({label}). Check the id, and that the subscription, "
            "resource group and workspace name are right.",
            **fields,
        )
    if status >= 500 or status in (408, 429):
        tries = f" after {retries} retries" if retries else ""
        return ServiceUnavailableError(
            f"{workspace}: the service kept failing to return {what} ({label}){tries}. Try again "
            "later; if it persists, check the Azure status page.",
            **fields,
        )
    detail = f": {service_message}" if service_message else ""
    return ServiceCallError(
        f"{workspace}: the service rejected the request for {what} ({label}{detail}). Check the "
        "value named in the service's message.",
        **fields,
    )


def error_from_exception(workspace: str, what: str, url: str, exc: AzureError) -> ServiceCallError:
    """Build the error for a call that got no usable answer (network failure, timeout)."""
    host = urlsplit(url).netloc
    reason = redact(_first_line(str(exc.message if exc.message else exc)))
    return ServiceUnavailableError(
        f"{workspace}: could not reach {host} to read {what} ({type(exc).__name__}: {reason}). "
        "Check the network, proxy settings and the service URL.",
        service_message=reason,
        url=url,
    )


def credential_error(workspace: str, what: str, scope: str, exc: Exception) -> AuthenticationError:
    """Build the error for a credential that could not produce a token."""
    reason = redact(_first_line(str(exc)))
    return AuthenticationError(
        f"{workspace}: no token for {scope} to read {what} ({reason}). Sign in with az login, "
        "or configure a credential that azure-identity can find.",
        service_message=reason,
    )


def malformed_error(workspace: str, what: str, url: str, detail: str) -> ServiceCallError:
    """Build the error for a 200 answer whose body is not the JSON we expect."""
    return ServiceCallError(
        f"{workspace}: the answer for {what} is not valid JSON of the expected shape "
        f"({redact(_first_line(detail))}). The service or a proxy in between sent something "
        "else; retry, and check any proxy.",
        status=200,
        code="MalformedResponse",
        url=url,
    )


def poll_timeout_error(workspace: str, what: str, seconds: float) -> ServiceUnavailableError:
    """Build the error for a 202 long-running answer that did not finish in time."""
    return ServiceUnavailableError(
        f"{workspace}: {what} was not ready within {seconds:.0f} s. Try again later.",
        status=202,
    )


def _error_details(body: bytes) -> tuple[str | None, str | None]:
    """Return ``(code, message)`` from either error body shape (innermost code wins)."""
    try:
        decoded = json.loads(body) if body else None
    except ValueError:
        decoded = None
    if not isinstance(decoded, Mapping):
        text = body.decode("utf-8", "replace").strip() if body else ""
        return None, _clean(text) or None

    error = decoded.get("error") or decoded.get("Error")
    if not isinstance(error, Mapping):
        return None, _clean(_text(decoded.get("message") or decoded.get("Message")))
    code = _text(error.get("code") or error.get("Code"))
    inner = error.get("innerError") or error.get("InnerError")
    while isinstance(inner, Mapping):
        code = _text(inner.get("code") or inner.get("Code")) or code
        inner = inner.get("innerError") or inner.get("InnerError")
    return code, _clean(_text(error.get("message") or error.get("Message")))


def _text(value: Any) -> str | None:
    """Return ``value`` if it is a non-empty string."""
    return value if isinstance(value, str) and value else None


def _clean(text: str | None) -> str | None:
    """Make a service message safe and short: one line, redacted, at most 300 characters."""
    if not text:
        return None
    line = redact(" ".join(text.split()))
    return line if len(line) <= _MAX_SERVICE_MESSAGE else line[: _MAX_SERVICE_MESSAGE - 1] + "…"


def _first_line(text: str) -> str:
    """Return the first non-empty line of ``text``."""
    return next((line.strip() for line in text.splitlines() if line.strip()), text)
