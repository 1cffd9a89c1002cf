"""Long-running ARM operations: the ``Azure-AsyncOperation`` protocol of the Azure ML provider.

A PUT or DELETE of a batch endpoint or deployment starts an operation (kind ``arm.operation``,
key = operation id) and answers 201/202 with the headers ``Azure-AsyncOperation``
(``{base}{loc}/mfeOperationsStatus/{op}``), ``Location`` (``.../mfeOperationResults/{op}``) and
``Retry-After``. The operation is a small state machine moved forward by reads, like the service's
operations seen from a client:

    InProgress ──(first poll of its status, or any read of its resource)──► Succeeded | Failed

When it starts, ``ctx.faults.lro_failure(resource path)`` decides whether it will fail (code
and message from the fault); otherwise it succeeds. The resource then gets ``provisioningState``
``Succeeded`` or ``Failed``; a deletion removes it on success.

Not emulated: operations that take time; each settles on its first read.
Not emulated: cancelling an operation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from migrate_kit.emulator.arm.errors import NotFound
from migrate_kit.emulator.config import Context

__all__ = ["OPERATION_KIND", "Operations"]

logger = logging.getLogger(__name__)

OPERATION_KIND = "arm.operation"

#: Seconds a client should wait before polling (sent as ``Retry-After``).
RETRY_AFTER_S = 0

#: Finishes an operation's resource: (resource key, action, outcome) -> None, where action is
#: "create" or "delete" and outcome "Succeeded" or "Failed".
Finisher = Callable[[str, str, str], None]


class Operations:
    """Starts, settles and reports long-running operations (see the module docstring)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._finishers: dict[str, Finisher] = {}

    def register(self, resource_kind: str, finisher: Finisher) -> None:
        """How to finish operations on resources of ``resource_kind``."""
        self._finishers[resource_kind] = finisher

    def start(self, resource_kind: str, key: str, resource_path: str, action: str) -> str:
        """Record a new InProgress ``action`` on the resource ``(resource_kind, key)`` whose ARM
        path is ``resource_path``; returns the operation id."""
        op_id = self.ctx.new_id()
        # Decided now, once per operation, so that a seeded fault set fails the same operations
        # whatever order clients poll them in.
        failure = None
        if self.ctx.faults is not None:
            failure = self.ctx.faults.lro_failure(resource_path)
        self.ctx.store.put(
            OPERATION_KIND,
            op_id,
            {
                "id": op_id,
                "name": op_id,
                "status": "InProgress",
                "startTime": self.ctx.now_iso(),
                "resource": f"{resource_kind}:{key}",
                "resourceKind": resource_kind,
                "resourceKey": key,
                "resourcePath": resource_path,
                "action": action,
                "failure": list(failure) if failure is not None else None,
            },
        )
        logger.debug("Operation %s started: %s %s", op_id, action, resource_path)
        return op_id

    def headers(self, op_id: str, api_version: str) -> dict[str, str]:
        """The async-operation headers of a write that started ``op_id``."""
        cfg = self.ctx.config
        location = (
            f"{self.ctx.base_url}/subscriptions/{cfg.subscription_id}/providers/"
            f"Microsoft.MachineLearningServices/locations/{cfg.region}"
        )
        query = f"?api-version={api_version}" if api_version else ""
        return {
            "Azure-AsyncOperation": f"{location}/mfeOperationsStatus/{op_id}{query}",
            "Location": f"{location}/mfeOperationResults/{op_id}{query}",
            "Retry-After": str(RETRY_AFTER_S),
        }

    def settle_resource(self, resource_kind: str, key: str) -> None:
        """Settle every InProgress operation on a resource (called before it is read)."""
        pending = self.ctx.store.find(OPERATION_KIND, "resource", f"{resource_kind}:{key}")
        for op in pending:
            if op["status"] == "InProgress":
                self._settle(op)

    def status(self, op_id: str) -> dict[str, Any]:
        """The operation status document (settling the operation first)."""
        op = self.ctx.store.get(OPERATION_KIND, op_id)
        if op is None:
            raise NotFound(f"Operation '{op_id}' was not found.")
        if op["status"] == "InProgress":
            op = self._settle(op)
        document: dict[str, Any] = {
            k: op[k] for k in ("id", "name", "status", "startTime") if k in op
        }
        for key in ("endTime", "error"):
            if key in op:
                document[key] = op[key]
        document["percentComplete"] = 1.0 if op["status"] != "InProgress" else 0.0
        return document

    def record(self, op_id: str) -> dict[str, Any]:
        """The settled operation record (for ``mfeOperationResults``)."""
        self.status(op_id)
        op = self.ctx.store.get(OPERATION_KIND, op_id)
        if op is None:
            raise NotFound(f"Operation '{op_id}' was not found.")
        return op

    def _settle(self, op: dict[str, Any]) -> dict[str, Any]:
        with self.ctx.store.transaction():
            current = self.ctx.store.get(OPERATION_KIND, op["id"])
            if current is None or current["status"] != "InProgress":
                return current or op
            failure = current.get("failure")
            outcome = "Failed" if failure is not None else "Succeeded"
            current["status"] = outcome
            current["endTime"] = self.ctx.now_iso()
            if failure is not None:
                current["error"] = {"code": failure[0], "message": failure[1]}
            self.ctx.store.put(OPERATION_KIND, current["id"], current)
            finisher = self._finishers.get(current["resourceKind"])
            if finisher is not None:
                finisher(current["resourceKey"], current["action"], outcome)
        logger.debug("Operation %s settled: %s", current["id"], outcome)
        return current
