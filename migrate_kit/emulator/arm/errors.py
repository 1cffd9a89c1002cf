"""Azure Resource Manager errors, in ARM's body shape ``{"error": {"code", "message"}}``.

Codes and messages follow what ARM returns for a missing subscription, resource group or
resource. The messages of the live service are copied in substance (names quoted the same way);
the trailing "For more details" links are left out.

The v2 asset and endpoint routes (served by the Azure ML resource provider, "MFE") answer with
the same outer shape; their top-level code is ``UserError`` for every client mistake and the
precise reason is in ``innerError.code`` (``NotFound``, ``BadArgument``, ``Conflict``)::

    ArmError
    ├── InvalidRequestContent   400  body is not JSON, or not the object the route expects
    └── MfeError                     {"error": {"code": "UserError", "innerError": {...}}}
        ├── BadArgument         400  invalid name, version, reference or input type
        ├── NotFound            404  unknown asset, endpoint, deployment or operation
        └── Conflict            409  a registered environment version changed

The MFE messages are written in the service's style; their exact wording is unconfirmed.
"""

from __future__ import annotations

from typing import Any

from migrate_kit.emulator.errors import ServiceError

__all__ = [
    "ArmError",
    "AuthenticationFailed",
    "BadArgument",
    "Conflict",
    "IdentityHeaderMismatch",
    "InvalidRequestContent",
    "MfeError",
    "NotFound",
    "ResourceGroupNotFound",
    "ResourceNotFound",
    "SubscriptionNotFound",
    "service_error",
]


class ArmError(ServiceError):
    """Base of the ARM family's errors."""


class SubscriptionNotFound(ArmError):
    status = 404
    code = "SubscriptionNotFound"

    def __init__(self, subscription_id: str) -> None:
        super().__init__(f"The subscription '{subscription_id}' could not be found.")


class ResourceGroupNotFound(ArmError):
    status = 404
    code = "ResourceGroupNotFound"

    def __init__(self, resource_group: str) -> None:
        super().__init__(f"Resource group '{resource_group}' could not be found.")


class ResourceNotFound(ArmError):
    status = 404
    code = "ResourceNotFound"

    def __init__(self, resource_type: str, name: str, resource_group: str) -> None:
        super().__init__(
            f"The Resource '{resource_type}/{name}' under resource group '{resource_group}' "
            "was not found."
        )


class DatastoreNotFound(ArmError):
    """404 of the v1 datastore service for an unknown datastore name.

    That service answers in the Azure ML data-plane shape, whose ``error.code`` / ``message``
    keys are the ones ARM's shape has; its exact inner codes are unconfirmed.
    """

    status = 404
    code = "UserError"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"Datastore '{name}' was not found in the workspace; only the default datastore "
            "is emulated."
        )


class AuthenticationFailed(ArmError):
    """401 for a request without a bearer token, with ARM's ``WWW-Authenticate`` challenge."""

    status = 401
    code = "AuthenticationFailed"

    def __init__(self, tenant_id: str) -> None:
        super().__init__("Authentication failed. The 'Authorization' header is missing.")
        self.tenant_id = tenant_id

    def headers(self) -> dict[str, str]:
        return {
            "WWW-Authenticate": (
                f'Bearer authorization_uri="https://login.windows.net/{self.tenant_id}", '
                'error="invalid_token", error_description="The authentication failed because '
                "of missing 'Authorization' header.\""
            )
        }


class IdentityHeaderMismatch(ArmError):
    """The managed-identity endpoint got no (or the wrong) identity secret header.

    The live endpoint's exact status and body for this case are unconfirmed; 401 with an ARM
    body makes azure-identity and msrestazure report a failed token request, which is what
    matters.
    """

    status = 401
    code = "Unauthorized"

    def __init__(self, header: str) -> None:
        super().__init__(
            f"The managed identity request lacks the '{header}' header or its value is wrong; "
            "export the IDENTITY_HEADER (or MSI_SECRET) value from the emulator's connection file"
        )


class InvalidRequestContent(ArmError):
    """ARM's answer to a body it cannot parse (also used for a body of the wrong JSON type)."""

    status = 400
    code = "InvalidRequestContent"


class MfeError(ArmError):
    """An Azure ML resource-provider error: ``UserError`` outside, the reason inside."""

    status = 400
    code = "UserError"
    inner_code = "BadArgument"

    def body(self) -> dict[str, Any]:
        body = super().body()
        body["error"]["innerError"] = {"code": self.inner_code}
        return body


class BadArgument(MfeError):
    status = 400
    inner_code = "BadArgument"


class NotFound(MfeError):
    status = 404
    inner_code = "NotFound"


class Conflict(MfeError):
    status = 409
    inner_code = "Conflict"


def service_error(status: int, code: str, message: str) -> ServiceError:
    """An ARM-shaped error for the server's generic answers (401 without token, 500)."""
    return ArmError(message).with_status(status, code)
