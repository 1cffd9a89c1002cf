"""Runs in the v1 SDK's own venv (see benchmarks/inventory_scale.py): time the two list calls.

Prints a JSON document after the harness marker: pipelines and endpoints counted, seconds for
the two list calls, and seconds including imports and the workspace lookup.
"""

import json
import time

started = time.perf_counter()

from azureml.pipeline.core import PipelineEndpoint, PublishedPipeline  # noqa: E402
from emulator_v1 import workspace_from_connection  # noqa: E402

workspace = workspace_from_connection()
listing = time.perf_counter()
pipelines = PublishedPipeline.list(workspace, active_only=False)
endpoints = PipelineEndpoint.list(workspace, active_only=False, max_results=100000)
done = time.perf_counter()

print("=== v1peer json ===")
print(
    json.dumps(
        {
            "pipelines": len(pipelines),
            "endpoints": len(endpoints),
            "list_seconds": done - listing,
            "total_seconds": done - started,
        }
    )
)
