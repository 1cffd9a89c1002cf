"""URL table of the v1 pipelines service (reference §2.1).

All paths sit under ``WORKSPACE_PREFIX``; the handlers check that the subscription, resource
group and workspace in the path are the emulated workspace's. The single-entity reads the
inventory makes by the thousand are ``JsonGetRoute`` routes (``emulator/fastget.py``).
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Route

from migrate_kit.emulator.config import Context
from migrate_kit.emulator.fastget import JsonGetRoute
from migrate_kit.emulator.pipelines.backend import backend_for
from migrate_kit.emulator.pipelines.handlers import PipelinesHandlers

__all__ = ["WORKSPACE_PREFIX", "routes"]

WORKSPACE_PREFIX = (
    "/pipelines/v1.0/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
    "/providers/Microsoft.MachineLearningServices/workspaces/{workspace}"
)

_RUN = "/PipelineRuns/{run_id}"
_ENDPOINT_SUBMIT = "/PipelineRuns/PipelineEndpointSubmit/Id"


def routes(ctx: Context) -> list[BaseRoute]:
    """The pipelines service's routes, bound to the backend of ``ctx``."""
    h = PipelinesHandlers(backend_for(ctx))
    # "JSON": a GET whose handler returns the answer's JSON bytes (a JsonGetRoute).
    table: list[tuple[str, str, Any]] = [
        ("GET", "/DataTypes", h.list_data_types),
        ("POST", "/DataTypes", h.create_data_type),
        ("GET", "/Pipelines", h.list_pipelines),
        ("POST", "/Pipelines/Create", h.create_pipeline),
        ("GET", "/Pipelines/{pipeline_id}", h.get_pipeline),
        ("PUT", "/Pipelines/{pipeline_id}/status", h.update_pipeline_status),
        ("GET", "/PipelineEndpoints", h.list_pipeline_endpoints),
        ("POST", "/PipelineEndpoints/Create", h.create_pipeline_endpoint),
        ("GET", "/PipelineEndpoints/Id/{endpoint_id}", h.get_pipeline_endpoint_by_id),
        ("GET", "/PipelineEndpoints/Name", h.get_pipeline_endpoint_by_name),
        ("GET", "/PipelineEndpoints/{endpoint_id}/pipelines", h.list_pipeline_endpoint_pipelines),
        ("PUT", "/PipelineEndpoints/{endpoint_id}", h.update_pipeline_endpoint),
        ("JSON", "/Graphs/{graph_id}", h.get_graph),
        ("JSON", "/Graphs/{graph_id}/Interface", h.get_graph_interface),
        ("GET", "/Modules/Hash/{identifier_hash}", h.get_module_by_hash),
        ("POST", "/Modules", h.create_module),
        ("JSON", "/Modules/{module_id}", h.get_module),
        ("POST", "/DataSources", h.create_data_source),
        ("JSON", "/DataSources/{data_source_id}", h.get_data_source),
        # pipeline runs (runs.py, nodes.py)
        ("POST", "/PipelineRuns/PipelineSubmit/{pipeline_id}", h.submit_pipeline),
        ("POST", f"{_ENDPOINT_SUBMIT}/{{endpoint_id}}", h.submit_pipeline_endpoint),
        (
            "POST",
            f"{_ENDPOINT_SUBMIT}/{{endpoint_id}}/{{pipeline_version}}",
            h.submit_pipeline_endpoint,
        ),
        ("GET", "/PipelineRuns/Pipeline/{pipeline_id}", h.list_pipeline_runs),
        ("GET", "/PipelineRuns/{run_id}", h.get_pipeline_run),
        ("POST", f"{_RUN}/Graph/AllNodes/Status", h.get_node_statuses),
        ("POST", f"{_RUN}/Graph/AllNodes/StatusCode", h.get_node_status_codes),
        ("POST", f"{_RUN}/Graph/Node/Status", h.get_node_status),
        ("POST", f"{_RUN}/Graph/Node/StatusCode", h.get_node_status_code),
        ("POST", f"{_RUN}/Outputs", h.get_node_outputs),
        ("GET", f"{_RUN}/PipelineRunOutputs/{{output_name}}", h.get_pipeline_run_output),
        ("POST", f"{_RUN}/Graph/Shareable/{{log_type}}", h.get_node_log),
        ("DELETE", f"{_RUN}/Execution", h.cancel_pipeline_run),
    ]
    return [
        JsonGetRoute(WORKSPACE_PREFIX + path, handler, name=handler.__name__)
        if method == "JSON"
        else Route(WORKSPACE_PREFIX + path, handler, methods=[method], name=handler.__name__)
        for method, path, handler in table
    ]
