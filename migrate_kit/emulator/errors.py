"""The error every emulator backend raises, and how it becomes an HTTP response.

::

    ServiceError                 status + code + message, rendered as the service renders it
    ├── arm.errors.ArmError      Azure Resource Manager shape {"error": {"code", "message"}}
    └── <family>.errors.*        each service family overrides ``to_response`` with its own body

Backends raise a ``ServiceError`` subclass named after the real service's error code; the server
turns it into a response with :meth:`ServiceError.to_response`. Anything else a handler raises
becomes a 500 in the same family's shape (see ``server.py``).

A family that wants its own shape for the server's 401 and 500 answers exposes, in its
``errors.py``, a function ``service_error(status: int, code: str, message: str) -> ServiceError``.
Without it the base shape below is used.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

__all__ = ["ServiceError"]


class ServiceError(Exception):
    """A failure the emulated service reports to its client.

    ``status`` and ``code`` are class attributes so that one subclass stands for one service
    error code; an instance may override them (the server does so for generic 401/500 answers).
    The base body is the OData/ARM shape ``{"error": {"code", "message", "target"?}}``, which
    azure-core parses into ``HttpResponseError.error``.
    """

    status: int = 400
    code: str = "BadRequest"

    def __init__(self, message: str, *, target: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.target = target

    def headers(self) -> dict[str, str]:
        """Extra response headers (none by default)."""
        return {}

    def body(self) -> dict[str, Any]:
        """The JSON body of the error response."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            error["target"] = self.target
        return {"error": error}

    def to_response(self) -> Response:
        """Render the error as the service would send it."""
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers())

    def with_status(self, status: int, code: str) -> ServiceError:
        """Return this error with another status and code (for the server's generic answers)."""
        self.status = status
        self.code = code
        return self
