"""Errors of the v1 pipelines service, in the Azure ML data-plane shape.

::

    ServiceError (emulator.errors)
    └── PipelinesError          {"error": {"code", "message", "innerError"}, "correlation", ...}
        ├── BadRequest          400  UserError / BadArgument
        ├── NotFound            404  UserError / NotFoundError
        ├── Conflict            409  UserError / Conflict
        └── InternalError       500  SystemError / InternalServerError

The body is ``{"error": {"code": <category>, "message": ..., "innerError": {"code": <detail>}},
"correlation": {"operation": ..., "request": ...}, "environment": <region>, "location":
<region>, "time": <iso>}``, the shape Azure ML data-plane services answer with. The v1 SDK's
msrest model ``ErrorResponse`` names the keys in PascalCase (``Error``, ``Correlation``,
``Code``, ``Message``, ``InnerError``); which casing the live pipelines service sends is
unconfirmed. We send camelCase: azure-core's ``HttpResponseError`` reads ``error.code`` /
``error.message`` from it, and msrest's ``ErrorResponseException`` only needs the status code.
The inner codes are inferred from other Azure ML services, not observed on this one.

The content service (``emulator/content``) answers in the same shape and reuses these classes.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from migrate_kit.emulator.errors import ServiceError

__all__ = [
    "BadRequest",
    "Conflict",
    "InternalError",
    "NotFound",
    "PipelinesError",
    "service_error",
]


class PipelinesError(ServiceError):
    """Base of the data-plane errors: ``code`` is the category, ``inner_code`` the detail.

    ``region`` fills the ``environment`` / ``location`` keys; the handlers set it from the
    emulated workspace before the error is rendered (the keys are left out while it is unset).
    """

    status = 400
    code = "UserError"
    inner_code = "BadArgument"

    def __init__(self, message: str, *, target: str | None = None) -> None:
        super().__init__(message, target=target)
        self.region: str | None = None

    def body(self) -> dict[str, Any]:
        """The data-plane error body (see the module docstring)."""
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "innerError": {"code": self.inner_code},
        }
        if self.target is not None:
            error["target"] = self.target
        body: dict[str, Any] = {
            "error": error,
            "correlation": {"operation": uuid.uuid4().hex, "request": uuid.uuid4().hex[:16]},
        }
        if self.region:
            body["environment"] = self.region
            body["location"] = self.region
        body["time"] = datetime.now(timezone.utc).isoformat()
        return body


class BadRequest(PipelinesError):
    """The request body or a parameter is invalid (400)."""

    status = 400
    inner_code = "BadArgument"


class NotFound(PipelinesError):
    """The entity (or the whole workspace) does not exist (404)."""

    status = 404
    inner_code = "NotFoundError"


class Conflict(PipelinesError):
    """The entity already exists, e.g. a pipeline endpoint name is taken (409)."""

    status = 409
    inner_code = "Conflict"


class InternalError(PipelinesError):
    """The emulator failed unexpectedly (500)."""

    status = 500
    code = "SystemError"
    inner_code = "InternalServerError"


def service_error(status: int, code: str, message: str) -> ServiceError:
    """Build the error the server sends for its own 401 / 500 answers, in this family's shape."""
    error = PipelinesError(message)
    error.status = status
    error.code = "SystemError" if status >= 500 else "UserError"
    error.inner_code = code
    return error
