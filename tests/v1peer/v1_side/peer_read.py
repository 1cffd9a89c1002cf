"""v1 side of the peer test: read every published pipeline and endpoint with the v1 SDK.

Runs in the v1 SDK's venv (see ``tests/v1peer/harness.py``). Prints, after the harness's JSON
marker, what the unmodified SDK sees: each published pipeline's fields and, through the SDK's own
graph reader (``PublishedPipeline.get_graph``), its steps, parameter defaults and edges; and each
endpoint's versions and default. A graph the SDK cannot read is reported as ``graph_error``.
"""

from __future__ import annotations

import json
import sys

from azureml.pipeline.core import PipelineEndpoint, PublishedPipeline
from emulator_v1 import workspace_from_connection

JSON_MARKER = "=== v1peer json ==="


def describe_graph(graph) -> dict:
    """Step names, parameter defaults (as strings) and node-to-node edges of an SDK graph."""
    return {
        "steps": sorted(node.name for node in graph.module_nodes),
        "data": sorted(node.name for node in graph.datasource_nodes),
        "parameters": {name: str(p.default_value) for name, p in graph.params.items()},
        "edges": sorted(
            [e.source_port.node.name, e.source_port.name, e.dest_port.node.name, e.dest_port.name]
            for e in graph.edges
        ),
    }


def describe_pipeline(pipeline) -> dict:
    item = {
        "id": pipeline.id,
        "name": pipeline.name,
        "description": pipeline.description,
        "version": pipeline.version,
        "status": pipeline.status,
        "graph_id": pipeline.graph_id,
        "total_run_steps": pipeline.total_run_steps,
    }
    try:
        item["graph"] = describe_graph(pipeline.get_graph())
    except Exception as error:  # the SDK's own reader has known gaps; report, do not stop
        item["graph_error"] = f"{type(error).__name__}: {error}"[:500]
    return item


def describe_endpoint(endpoint) -> dict:
    return {
        "id": endpoint.id,
        "name": endpoint.name,
        "description": endpoint.description,
        "status": endpoint.status,
        "default_version": endpoint.default_version,
        "versions": {v.version: v.pipeline_id for v in endpoint.pipeline_version_list},
        "default_pipeline_id": endpoint.get_pipeline().id,
    }


def main() -> None:
    ws = workspace_from_connection()
    pipelines = PublishedPipeline.list(ws, active_only=False)
    active = PublishedPipeline.list(ws)
    endpoints = PipelineEndpoint.list(ws, active_only=False)
    result = {
        "pipelines": [describe_pipeline(p) for p in pipelines],
        "active_pipeline_ids": sorted(p.id for p in active),
        "endpoints": [describe_endpoint(e) for e in endpoints],
    }
    sys.stdout.write(f"\n{JSON_MARKER}\n")
    json.dump(result, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
