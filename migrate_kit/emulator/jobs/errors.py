"""Errors of the v2 job side: batch endpoint invoke, job resources and run history.

::

    ServiceError (emulator.errors)
    └── JobsError                 {"error": {"code", "message", "innerError": {"code"}}}
        ├── InvalidInvokeInput    400  UserError / BadArgument (invoke inputs and outputs)
        ├── InvalidPipeline       400  UserError / BadArgument (a deployment that cannot run)
        ├── NoDeployment          400  UserError / BadArgument (no header, no default)
        ├── JobNotFound           404  UserError / NotFound (ARM job resource)
        ├── RunNotFound           404  UserError / NotFound (run history)
        ├── EndpointNotFound      404  UserError / NotFound
        ├── DeploymentNotFound    404  UserError / NotFound
        └── WorkspaceNotFound     404  UserError / NotFound

The body is Azure ML's management-front-end shape: ARM's ``{"error": {"code", "message"}}``
with an ``innerError`` naming the detail, which azure-core parses into ``HttpResponseError``
(the SDK raises ``ResourceNotFoundError`` for the 404s and ``HttpResponseError`` for the 400s,
as against Azure). Known shortcoming: the live service's exact messages for invoke input
errors were not found in public material; the wording here is ours and names the bad value,
what was expected and the fix. The codes (``UserError`` with a 400) are the ones Azure ML
answers user mistakes with.
"""

from __future__ import annotations

from typing import Any

from migrate_kit.emulator.errors import ServiceError

__all__ = [
    "DeploymentNotFound",
    "EndpointNotFound",
    "InvalidInvokeInput",
    "InvalidPipeline",
    "JobNotFound",
    "JobsError",
    "NoDeployment",
    "RunNotFound",
    "WorkspaceNotFound",
    "service_error",
]


class JobsError(ServiceError):
    """Base of the job side's errors: ``code`` is the category, ``inner_code`` the detail."""

    status = 400
    code = "UserError"
    inner_code = "BadArgument"

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "innerError": {"code": self.inner_code},
        }
        if self.target is not None:
            error["target"] = self.target
        return {"error": error}


class InvalidInvokeInput(JobsError):
    """An invoke input or output the deployment's pipeline cannot take (400)."""


class InvalidPipeline(JobsError):
    """The deployment's pipeline component cannot be turned into a job (400)."""


class NoDeployment(JobsError):
    """Invoke without ``azureml-model-deployment`` on an endpoint without a default (400)."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(
            f"No deployment was given for batch endpoint '{endpoint}' and the endpoint has no "
            "default deployment. Pass deployment_name, or set the endpoint's "
            "defaults.deployment_name."
        )


class _NotFound(JobsError):
    status = 404
    inner_code = "NotFound"


class JobNotFound(_NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"Could not find job '{name}' in the workspace.")


class RunNotFound(_NotFound):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"Run {run_id} was not found.")


class EndpointNotFound(_NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"Batch endpoint '{name}' was not found in the workspace.")


class DeploymentNotFound(_NotFound):
    def __init__(self, endpoint: str, deployment: str) -> None:
        super().__init__(
            f"Deployment '{deployment}' was not found under batch endpoint '{endpoint}'."
        )


class WorkspaceNotFound(_NotFound):
    def __init__(self, workspace: str) -> None:
        super().__init__(f"Workspace '{workspace}' was not found.")


def service_error(status: int, code: str, message: str) -> ServiceError:
    """A job-shaped error for the server's generic answers (401 without token, 500)."""
    return JobsError(message).with_status(status, code)
