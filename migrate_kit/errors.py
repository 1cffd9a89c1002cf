"""Errors raised by migrate_kit.

::

    MigrateKitError                 every error of ours; str() is one line meant for a person
    ├── ConfigurationError          bad or missing workspace settings (config.json, ids, files)
    └── ServiceCallError            a remote call failed (status, code, message, url)
        ├── AuthenticationError     401 / 403: the credential or its permissions
        ├── NotFoundError           404: the resource (or the whole workspace) does not exist
        └── ServiceUnavailableError network failure or 5xx after the retries

"Your input is wrong" (``ConfigurationError``) is kept apart from "the service failed"
(``ServiceCallError``). Messages never contain tokens, keys or SAS query strings: URLs are
stored without their query.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "MigrateKitError",
    "NotFoundError",
    "ServiceCallError",
    "ServiceUnavailableError",
    "describe",
    "strip_query",
]


def describe(exc: BaseException) -> str:
    """One redacted line for a person: the exception's type and the first line of its message
    (SDK errors run to many lines of advice; the first says what happened)."""
    from migrate_kit.redact import redact

    lines = str(exc).strip().splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    return redact(f"{type(exc).__name__}: {first}" if first else type(exc).__name__)


def strip_query(url: str) -> str:
    """Return ``url`` without its query string and fragment (where SAS tokens live)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class MigrateKitError(Exception):
    """Base class of every migrate_kit error."""


class ConfigurationError(MigrateKitError):
    """The workspace settings are missing or wrong; the message says which and how to fix it."""


class ServiceCallError(MigrateKitError):
    """A call to Azure ML (or the emulator) failed.

    Attributes: ``status`` (HTTP status, or ``None`` when no response came), ``code`` (the
    service's error code when it sent one), ``service_message`` (its message) and ``url`` (the
    request URL without its query string).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        service_message: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.service_message = service_message
        self.url = strip_query(url) if url else None


class AuthenticationError(ServiceCallError):
    """The service refused the credential (401) or its permissions (403)."""


class NotFoundError(ServiceCallError):
    """The service answered 404 for the resource."""


class ServiceUnavailableError(ServiceCallError):
    """No usable answer: the network failed, or the service kept answering 5xx."""
