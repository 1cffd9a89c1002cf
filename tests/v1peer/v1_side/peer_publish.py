"""v1 side of the peer test: publish a new pipeline and a new endpoint version with the v1 SDK.

Runs in the v1 SDK's venv (see ``tests/v1peer/harness.py``); argument 1 is the folder of the
sample's step scripts (``data/v1_project/steps``), argument 2 the endpoint to add a version to.
The new pipeline has three PythonScriptSteps (two feeding the third through PipelineData),
DataReference inputs and one pipeline parameter of each type (str, int, float, bool). It is
added to the endpoint as a version that is not the default.

Prints, after the harness's JSON marker, what was built, described from the SDK's own in-memory
graph (not read back): step names and scripts, parameter defaults and types, node-to-node edges;
and the endpoint's versions as the SDK reports them after the update.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from azureml.core.runconfig import RunConfiguration
from azureml.data.data_reference import DataReference
from azureml.pipeline.core import Pipeline, PipelineData, PipelineEndpoint, PipelineParameter
from azureml.pipeline.steps import PythonScriptStep
from emulator_v1 import workspace_from_connection

JSON_MARKER = "=== v1peer json ==="
PIPELINE_NAME = "peer check: weekly forecast"


def build(ws, steps_dir: Path) -> tuple[Pipeline, dict]:
    """Clean sales and prepare prices, then forecast from both (a fan-in)."""
    ds = ws.get_default_datastore()
    region = PipelineParameter("region", default_value="CH-GE")
    min_units = PipelineParameter("min_units", default_value=2)
    include_promos = PipelineParameter("include_promos", default_value=False)
    smoothing = PipelineParameter("smoothing", default_value=0.75)
    sales = DataReference(ds, data_reference_name="sales_raw", path_on_datastore="retail/sales")
    stores = DataReference(ds, data_reference_name="stores", path_on_datastore="retail/stores")
    prices = DataReference(ds, data_reference_name="prices_raw", path_on_datastore="retail/prices")
    clean = PipelineData("peer_clean_sales", datastore=ds)
    weekly_prices = PipelineData("peer_prices", datastore=ds)
    forecast = PipelineData("peer_forecast", datastore=ds)
    common = {"compute_target": ("cpu-cluster", "AmlCompute"), "runconfig": RunConfiguration()}

    prep_sales = PythonScriptStep(
        name="peer_prep_sales", script_name="prep_sales.py",
        source_directory=str(steps_dir / "prep_sales"),
        arguments=["--sales_dir", sales, "--stores_dir", stores, "--region", region,
                   "--min_units", min_units, "--output_dir", clean],
        inputs=[sales, stores], outputs=[clean], **common,
    )  # fmt: skip
    prep_prices = PythonScriptStep(
        name="peer_prep_prices", script_name="prep_prices.py",
        source_directory=str(steps_dir / "prep_prices"),
        arguments=["--prices_dir", prices, "--include_promos", include_promos,
                   "--output_dir", weekly_prices],
        inputs=[prices], outputs=[weekly_prices], **common,
    )  # fmt: skip
    forecast_step = PythonScriptStep(
        name="peer_forecast", script_name="forecast.py",
        source_directory=str(steps_dir / "forecast"),
        arguments=["--sales_dir", clean, "--prices_dir", weekly_prices, "--horizon_days", "5",
                   "--smoothing", smoothing, "--output_dir", forecast],
        inputs=[clean, weekly_prices], outputs=[forecast], **common,
    )  # fmt: skip
    pipeline = Pipeline(ws, steps=[prep_sales, prep_prices, forecast_step])
    scripts = {"peer_prep_sales": "prep_sales.py", "peer_prep_prices": "prep_prices.py",
               "peer_forecast": "forecast.py"}  # fmt: skip
    return pipeline, scripts


def describe_built(pipeline: Pipeline, scripts: dict) -> dict:
    """The SDK's in-memory graph of the pipeline, before publishing."""
    graph = pipeline.graph
    return {
        "steps": {node.name: scripts[node.name] for node in graph.module_nodes},
        "data": sorted(node.name for node in graph.datasource_nodes),
        "parameters": {
            name: {"default": str(p.default_value), "type": type(p.default_value).__name__}
            for name, p in graph.params.items()
        },
        "edges": sorted(
            [e.source_port.node.name, e.source_port.name, e.dest_port.node.name, e.dest_port.name]
            for e in graph.edges
        ),
    }


def main() -> None:
    steps_dir, endpoint_name = Path(sys.argv[1]), sys.argv[2]
    ws = workspace_from_connection()
    pipeline, scripts = build(ws, steps_dir)
    built = describe_built(pipeline, scripts)
    published = pipeline.publish(
        name=PIPELINE_NAME, description="Published by the v1 peer test", version="9.9"
    )

    endpoint = PipelineEndpoint.get(ws, name=endpoint_name)
    endpoint.add(published)
    endpoint = PipelineEndpoint.get(ws, name=endpoint_name)  # read back through the SDK
    result = {
        "pipeline": {"id": published.id, "name": published.name, "version": published.version,
                     "status": published.status, **built},
        "endpoint": {"id": endpoint.id, "name": endpoint.name,
                     "default_version": endpoint.default_version,
                     "versions": {v.version: v.pipeline_id
                                  for v in endpoint.pipeline_version_list}},
    }  # fmt: skip
    sys.stdout.write(f"\n{JSON_MARKER}\n")
    json.dump(result, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
