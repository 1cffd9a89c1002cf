"""Step-level reads of a v1 pipeline run: node statuses, outputs, logs, cancel (§2.1 #19–#26).

A node is addressed by a JSON array body, the path of node ids from the root graph to the
node (the SDK sends ``["<nodeId>"]``; the node statuses of a whole graph take ``[]``). Only
flat graphs exist here, so the last id of the path names the node. Each node's state is its
step's run record in the runner (``stepName`` = node id).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from migrate_kit.emulator.pipelines.base import GRAPH
from migrate_kit.emulator.pipelines.errors import BadRequest, NotFound
from migrate_kit.emulator.pipelines.runs import _LOGS, _TASK_STATUS, RUN, RunOperations

__all__ = ["NodeOperations"]

logger = logging.getLogger(__name__)


class NodeOperations(RunOperations):
    """Node routes of ``/PipelineRuns/{id}``; mixed into ``PipelinesBackend``."""

    def get_node_statuses(self, run_id: str, node_path: Any) -> dict[str, dict[str, Any]]:
        """``POST .../Graph/AllNodes/Status``: ``{nodeId: TaskStatus}`` of every module node."""
        self._node_path(node_path, allow_empty=True)
        return {str(step["stepName"]): _task_status(step) for step in self._steps(run_id).values()}

    def get_node_status_codes(self, run_id: str, node_path: Any) -> dict[str, str]:
        """``POST .../Graph/AllNodes/StatusCode``: ``{nodeId: status code}``."""
        statuses = self.get_node_statuses(run_id, node_path)
        return {node: status["StatusCode"] for node, status in statuses.items()}

    def get_node_status(self, run_id: str, node_path: Any) -> dict[str, Any]:
        """``POST .../Graph/Node/Status`` with ``["<nodeId>"]``: the node's ``TaskStatus``."""
        return _task_status(self._step(run_id, node_path))

    def get_node_status_code(self, run_id: str, node_path: Any) -> str:
        """``POST .../Graph/Node/StatusCode``: the node's status code, a JSON string."""
        return str(self.get_node_status(run_id, node_path)["StatusCode"])

    def get_node_outputs(self, run_id: str, node_path: Any) -> dict[str, dict[str, Any]]:
        """``POST .../Outputs`` with ``["<nodeId>"]``: ``{port: NodeOutput}``.

        Outputs are listed once the step has finished; before that the answer is ``{}``.
        """
        step = self._step(run_id, node_path)
        if step.get("status") != "Completed":
            return {}
        return {
            name: self._node_output(location)
            for name, location in (step.get("outputs") or {}).items()
        }

    def get_pipeline_run_output(self, run_id: str, name: str) -> dict[str, Any]:
        """``GET .../PipelineRunOutputs/{name}``: a pipeline output (a graph port) as NodeOutput."""
        entity = self._require(RUN, run_id, "PipelineRun")
        graph = self._require(GRAPH, str(entity.get("GraphId")), "Graph")
        ports = {}
        for edge in graph.get("Edges") or []:
            destination = edge.get("DestinationInputPort") or {}
            if destination.get("GraphPortName") and not destination.get("NodeId"):
                ports[str(destination["GraphPortName"])] = edge.get("SourceOutputPort") or {}
        if name not in ports:
            raise NotFound(
                f"Pipeline run '{run_id}' has no pipeline output named '{name}' "
                f"(outputs: {sorted(ports)}).",
                target="pipelineRunOutputName",
            )
        source = ports[name]
        outputs = self.get_node_outputs(run_id, [source.get("NodeId")])
        port = str(source.get("PortName"))
        if port not in outputs:
            raise NotFound(
                f"Pipeline output '{name}' of run '{run_id}' is not available yet: its step "
                "has not finished.",
                target="pipelineRunOutputName",
            )
        return outputs[port]

    def get_node_log(self, run_id: str, node_path: Any, kind: str) -> str:
        """``POST .../Graph/Shareable/{JobLog|STDOUT|STDERR}``: the step's log as text."""
        log = _LOGS.get(kind.lower())
        if log is None:
            raise NotFound(
                f"Unknown log type '{kind}'; use JobLog, STDOUT or STDERR.", target="logType"
            )
        step = self._step(run_id, node_path)
        return self.runner.read_log(str(step["runId"]), log)

    def cancel_pipeline_run(self, run_id: str) -> None:
        """``DELETE .../Execution``: cancel the run (a finished run stays as it is)."""
        self._require(RUN, run_id, "PipelineRun")
        self.runner.cancel(run_id)

    # -- helpers -------------------------------------------------------------------------

    def _steps(self, run_id: str) -> dict[str, dict[str, Any]]:
        """The run's step records by node id (404 for an unknown run)."""
        self._require(RUN, run_id, "PipelineRun")
        return {str(child.get("stepName")): child for child in self.runner.children(run_id)}

    def _step(self, run_id: str, node_path: Any) -> dict[str, Any]:
        node_id = self._node_path(node_path, allow_empty=False)
        steps = self._steps(run_id)
        if node_id not in steps:
            raise NotFound(
                f"Pipeline run '{run_id}' has no module node '{node_id}' (nodes: {sorted(steps)}).",
                target="nodeId",
            )
        return steps[node_id]

    @staticmethod
    def _node_path(node_path: Any, *, allow_empty: bool) -> str:
        """The node id at the end of a node-id path (a JSON array of strings)."""
        if not isinstance(node_path, list) or not all(isinstance(n, str) for n in node_path):
            raise BadRequest(
                f"The body must be a JSON array of node ids, got {node_path!r}.",
                target="nodeIdPath",
            )
        if not node_path and not allow_empty:
            raise BadRequest('The node id path is empty; send ["<nodeId>"].', target="nodeIdPath")
        return node_path[-1] if node_path else ""

    def _node_output(self, location: Mapping[str, Any]) -> dict[str, Any]:
        """A ``NodeOutput`` for a blob folder of the default datastore."""
        account, container = str(location.get("account")), str(location.get("container"))
        path = str(location.get("path")).strip("/")
        size = 0
        for name in self.store.list_blobs(account, container, path + "/"):
            blob = self.store.get_blob(account, container, name)
            size += len(blob[0]) if blob is not None else 0
        uri = f"{self.ctx.blob_base_url}/{container}/{path}"
        reference = {
            "Account": account,
            "Container": container,
            "RelativePath": path,
            "AmlDataStoreName": self.ctx.config.default_datastore,
            "Uri": uri,
        }
        return {
            "DataTypeId": "AnyDirectory",
            "LogicalSizeInBytes": size,
            "PhysicalSizeInBytes": size,
            "Hash": None,
            "DataLocation": {
                "StorageType": "AzureBlob",
                "StorageId": None,
                "Uri": uri,
                "DataReference": {"Type": "AzureBlob", "AzureBlobReference": reference},
            },
        }


def _task_status(step: Mapping[str, Any]) -> dict[str, Any]:
    """A step's run record as a v1 ``TaskStatus``."""
    error = step.get("error") or {}
    return {
        "StatusCode": _TASK_STATUS.get(str(step.get("status")), "NotStarted"),
        "StatusDetail": error.get("message") if error else None,
        "CreationTime": step.get("createdUtc"),
        "ScheduleTime": step.get("createdUtc"),
        "StartTime": step.get("startTimeUtc"),
        "EndTime": step.get("endTimeUtc"),
        "RequestId": None,
        "RunId": step.get("runId"),
        "RealTimeLogPath": None,
        "HasWarnings": False,
        "ReuseInfo": None,
    }
