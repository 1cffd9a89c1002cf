"""Errors of the content (snapshot) service and of blob storage.

::

    ServiceError (emulator.errors)
    ├── PipelinesError (pipelines.errors)   data-plane JSON, reused by the snapshot routes:
    │                                       BadRequest 400, NotFound 404, Conflict 409
    └── StorageError                        storage XML <Error><Code/><Message/></Error>
        ├── InvalidHeaderValue             400  e.g. x-ms-blob-type other than BlockBlob
        ├── InvalidQueryParameterValue     400  e.g. an unknown comp=, a foreign marker
        ├── OutOfRangeQueryParameterValue  400  e.g. maxresults=0
        ├── Md5Mismatch                    400  Content-MD5 does not match the body
        ├── InvalidBlockList               400  Put Block List names a block never staged
        ├── AuthenticationFailed           403  no SAS signature (sig) in the query
        ├── BlobNotFound                   404
        ├── BlobAlreadyExists              409  If-None-Match: * on an existing blob
        ├── ConditionNotMet                412  If-Match / If-None-Match etag precondition
        ├── InvalidRange                   416
        └── NotImplementedByEmulator       501  a blob operation the emulator does not serve

Storage errors carry the code twice, as Azure Storage does: in the XML body and in the
``x-ms-error-code`` header (azure-storage clients read the header first). Messages never
contain the SAS query string.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from xml.sax.saxutils import escape

from starlette.responses import Response

from migrate_kit.emulator.errors import ServiceError
from migrate_kit.emulator.pipelines.errors import BadRequest, Conflict, NotFound, service_error

__all__ = [
    "AuthenticationFailed",
    "BadRequest",
    "BlobAlreadyExists",
    "BlobNotFound",
    "ConditionNotMet",
    "Conflict",
    "InvalidBlockList",
    "InvalidHeaderValue",
    "InvalidQueryParameterValue",
    "InvalidRange",
    "Md5Mismatch",
    "NotFound",
    "NotImplementedByEmulator",
    "OutOfRangeQueryParameterValue",
    "StorageError",
    "service_error",
    "storage_service_error",
]


class StorageError(ServiceError):
    """A blob storage error: XML body plus ``x-ms-error-code`` / ``x-ms-request-id`` headers."""

    status = 400
    code = "InvalidInput"

    def __init__(self, message: str, *, target: str | None = None) -> None:
        super().__init__(message, target=target)
        self.request_id = str(uuid.uuid4())

    def headers(self) -> dict[str, str]:
        """The storage error headers."""
        return {
            "x-ms-error-code": self.code,
            "x-ms-request-id": self.request_id,
            "x-ms-version": "2021-08-06",
        }

    def xml(self) -> str:
        """The XML body Azure Storage sends."""
        time = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
        message = f"{self.message}\nRequestId:{self.request_id}\nTime:{time}"
        return (
            '<?xml version="1.0" encoding="utf-8"?><Error>'
            f"<Code>{escape(self.code)}</Code><Message>{escape(message)}</Message></Error>"
        )

    def to_response(self) -> Response:
        """Render as Azure Storage does."""
        return Response(
            self.xml(),
            status_code=self.status,
            headers=self.headers(),
            media_type="application/xml",
        )


class InvalidHeaderValue(StorageError):
    status = 400
    code = "InvalidHeaderValue"


class InvalidQueryParameterValue(StorageError):
    status = 400
    code = "InvalidQueryParameterValue"


class OutOfRangeQueryParameterValue(StorageError):
    status = 400
    code = "OutOfRangeQueryParameterValue"


class Md5Mismatch(StorageError):
    status = 400
    code = "Md5Mismatch"


class InvalidBlockList(StorageError):
    status = 400
    code = "InvalidBlockList"


class AuthenticationFailed(StorageError):
    status = 403
    code = "AuthenticationFailed"


class BlobNotFound(StorageError):
    status = 404
    code = "BlobNotFound"


class BlobAlreadyExists(StorageError):
    status = 409
    code = "BlobAlreadyExists"


class ConditionNotMet(StorageError):
    status = 412
    code = "ConditionNotMet"


class InvalidRange(StorageError):
    status = 416
    code = "InvalidRange"


class NotImplementedByEmulator(StorageError):
    """Azure Storage supports the operation; the emulator does not (code ``NotImplemented``)."""

    status = 501
    code = "NotImplemented"


def storage_service_error(status: int, code: str, message: str) -> ServiceError:
    """The server's own 401 / 500 answers for blob requests, in storage XML."""
    error = StorageError(message)
    error.status = status
    error.code = code
    return error
