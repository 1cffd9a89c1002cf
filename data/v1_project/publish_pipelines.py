"""Publish the demand-forecasting team's v1 pipelines and pipeline endpoints (Azure ML SDK v1).

This is the script the retail forecasting team runs to (re)publish their batch pipelines. It
uses only the public SDK v1 API (azureml-core, azureml-pipeline-core, azureml-pipeline-steps)
and the step folders under ``steps/``; the data lives in the workspace's default datastore
(``workspaceblobstore``) under ``retail/``.

What it publishes (11 published pipelines, 3 pipeline endpoints):

=============================================  =================================================
published pipeline (version)                   what it shows
=============================================  =================================================
daily_sales forecast (1.4)                     3 PythonScriptSteps, fan-in, PipelineData, all
                                               parameter types, DataReference, DataPath param
daily-sales-forecast (0.9)                     1 step; same v2 name as the one above once
                                               sanitized
zurich_store_forecast (1.0)                    2 steps; non-ASCII description; region default CH-ZH
price_elasticity_weekly_estimation_by_store    OutputFileDatasetConfig (output and as_input),
  (1.0 and 2.0)                                legacy ``$AML_PARAMETER_region`` argument,
                                               step ``params``; name longer than 32 characters
promo-uplift-legacy (0.3)                      disabled after publishing
inventory-replenishment (1.2)                  a CommandStep after a PythonScriptStep
store-batch-scoring (1.0)                      a ParallelRunStep fed by ``PipelineData.as_dataset``
weekly-demand-forecast (1.0, 1.1, 2.0)         the three versions of the endpoint below
=============================================  =================================================

Endpoints: ``weekly-demand-forecast`` (versions 0, 1, 2; default 1, not the latest),
``store_replenishment endpoint`` (a name that is not a valid v2 endpoint name) and
``price-elasticity`` (versions 0 and 1; default 1).

NOT published here: the team's ``sales-export-to-lake`` pipeline (a DataTransferStep, which needs
an Azure Data Factory compute) and ``spark-feature-engineering`` (a DatabricksStep, which needs a
Databricks compute). Neither can be published without those Azure resources, so their published
entities were written by hand from the v1 wire reference; see ``../handwritten/README.md``.

Workspace: ``Workspace.from_config()`` (a config.json as downloaded from the portal). When
``MIGRATE_KIT_V1_CONNECTION`` is set, the workspace is the migrate_kit emulator's instead: the
harness in ``tests/v1peer/`` sets it when it regenerates ``data/capture/``.

Prints a JSON summary (names, ids, versions) on stdout.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from azureml.core import Environment, Workspace
from azureml.core.conda_dependencies import CondaDependencies
from azureml.core.runconfig import RunConfiguration
from azureml.data import OutputFileDatasetConfig
from azureml.data.data_reference import DataReference
from azureml.data.datapath import DataPath, DataPathComputeBinding
from azureml.pipeline.core import (
    Pipeline,
    PipelineData,
    PipelineEndpoint,
    PipelineParameter,
)
from azureml.pipeline.steps import (
    CommandStep,
    ParallelRunConfig,
    ParallelRunStep,
    PythonScriptStep,
)

STEPS = Path(__file__).resolve().parent / "steps"
COMPUTE_NAME = "cpu-cluster"
# A (name, type) tuple: the SDK then does not look the cluster up while building the pipeline.
COMPUTE = (COMPUTE_NAME, "AmlCompute")


def get_workspace() -> Workspace:
    """The team's workspace, or the migrate_kit emulator's when the harness says so."""
    if os.environ.get("MIGRATE_KIT_V1_CONNECTION"):
        from emulator_v1 import workspace_from_connection  # on PYTHONPATH via the harness

        return workspace_from_connection()
    return Workspace.from_config()


def make_run_config() -> RunConfiguration:
    """The team's standard environment: a curated base image and a small conda spec."""
    env = Environment("retail-forecast-env")
    env.docker.base_image = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"
    env.python.conda_dependencies = CondaDependencies.create(
        python_version="3.10", pip_packages=["azureml-defaults"], pin_sdk_version=False
    )
    env.environment_variables = {"FORECAST_TEAM": "retail-demand"}
    run_config = RunConfiguration()
    run_config.environment = env
    return run_config


def script_step(folder: str, script: str, name: str, **kwargs) -> PythonScriptStep:
    """A PythonScriptStep on the team cluster with the standard environment."""
    kwargs.setdefault("compute_target", COMPUTE)
    return PythonScriptStep(
        name=name,
        script_name=script,
        source_directory=str(STEPS / folder),
        runconfig=make_run_config(),
        **kwargs,
    )


def sales_and_stores(ds) -> tuple[DataReference, DataReference]:
    """DataReferences to the raw sales folder and the store master data."""
    sales = DataReference(ds, data_reference_name="sales_raw", path_on_datastore="retail/sales")
    stores = DataReference(ds, data_reference_name="stores", path_on_datastore="retail/stores")
    return sales, stores


def daily_sales_forecast(ws, ds) -> Pipeline:
    """Three steps: clean sales and prepare prices in parallel, then forecast from both."""
    region = PipelineParameter("region", default_value="ALL")
    min_units = PipelineParameter("min_units", default_value=1)
    include_promos = PipelineParameter("include_promos", default_value=True)
    horizon_days = PipelineParameter("horizon_days", default_value=14)
    smoothing = PipelineParameter("smoothing", default_value=0.3)
    prices_path = PipelineParameter(
        "prices_path", default_value=DataPath(datastore=ds, path_on_datastore="retail/prices")
    )
    prices_input = (prices_path, DataPathComputeBinding(mode="mount"))
    sales, stores = sales_and_stores(ds)
    daily_sales = PipelineData("daily_sales", datastore=ds)
    weekly_prices = PipelineData("weekly_prices", datastore=ds)
    forecast = PipelineData("forecast", datastore=ds, pipeline_output_name="daily_forecast")

    prep_sales = script_step(
        "prep_sales", "prep_sales.py", "prep_sales",
        arguments=["--sales_dir", sales, "--stores_dir", stores, "--region", region,
                   "--min_units", min_units, "--output_dir", daily_sales],
        inputs=[sales, stores], outputs=[daily_sales],
    )  # fmt: skip
    prep_prices = script_step(
        "prep_prices", "prep_prices.py", "prep_prices",
        arguments=["--prices_dir", prices_input, "--include_promos", include_promos,
                   "--output_dir", weekly_prices],
        inputs=[prices_input], outputs=[weekly_prices],
    )  # fmt: skip
    forecast_step = script_step(
        "forecast", "forecast.py", "forecast",
        arguments=["--sales_dir", daily_sales, "--prices_dir", weekly_prices,
                   "--horizon_days", horizon_days, "--smoothing", smoothing,
                   "--output_dir", forecast],
        inputs=[daily_sales, weekly_prices], outputs=[forecast], allow_reuse=False,
    )  # fmt: skip
    return Pipeline(ws, steps=[prep_sales, prep_prices, forecast_step])


def daily_sales_forecast_lite(ws, ds) -> Pipeline:
    """One step straight from the raw sales; the BI dashboard still calls it."""
    window = PipelineParameter("window", default_value=7)
    sales, _ = sales_and_stores(ds)
    weekly = PipelineData("weekly_forecast", datastore=ds)
    step = script_step(
        "weekly_forecast", "weekly_forecast.py", "weekly_forecast",
        arguments=["--sales_dir", sales, "--method", "moving_average", "--window", window,
                   "--output_dir", weekly],
        inputs=[sales], outputs=[weekly],
    )  # fmt: skip
    return Pipeline(ws, steps=[step])


def zurich_store_forecast(ws, ds) -> Pipeline:
    """Two steps for the Zürich stores: clean their sales, then a trend forecast."""
    region = PipelineParameter("region", default_value="CH-ZH")
    window = PipelineParameter("window", default_value=7)
    sales, stores = sales_and_stores(ds)
    clean = PipelineData("zurich_sales", datastore=ds)
    weekly = PipelineData("zurich_forecast", datastore=ds)
    prep = script_step(
        "prep_sales", "prep_sales.py", "prep_zurich_sales",
        arguments=["--sales_dir", sales, "--stores_dir", stores, "--region", region,
                   "--min_units", "0", "--output_dir", clean],
        inputs=[sales, stores], outputs=[clean], compute_target=COMPUTE,
    )  # fmt: skip
    forecast = script_step(
        "weekly_forecast", "weekly_forecast.py", "forecast_zurich",
        arguments=["--sales_dir", clean, "--method", "trend", "--window", window,
                   "--output_dir", weekly],
        inputs=[clean], outputs=[weekly],
        compute_target=COMPUTE_NAME,  # by name: the SDK looks the cluster up in the workspace
    )  # fmt: skip
    return Pipeline(ws, steps=[prep, forecast])


def price_elasticity(ws, ds, min_weeks_default: int) -> Pipeline:
    """Clean sales into a dataset output, then estimate elasticities into a datastore folder.

    The elasticity step still passes the region the old way, as the literal string
    ``$AML_PARAMETER_region`` that the v1 runtime expands from the step's environment; the
    parameter reaches that environment through the step's ``params``.
    """
    region = PipelineParameter("region", default_value="ALL")
    min_weeks = PipelineParameter("min_weeks", default_value=min_weeks_default)
    sales, stores = sales_and_stores(ds)
    prices = DataReference(ds, data_reference_name="prices_raw", path_on_datastore="retail/prices")
    clean_sales = OutputFileDatasetConfig(name="clean_sales")
    report = OutputFileDatasetConfig(
        name="elasticity_report", destination=(ds, "retail/reports/elasticity/{run-id}")
    )

    prep = script_step(
        "prep_sales", "prep_sales.py", "prep_sales",
        arguments=["--sales_dir", sales, "--stores_dir", stores, "--region", region,
                   "--min_units", "0", "--output_dir", clean_sales],
        inputs=[sales, stores],
    )  # fmt: skip
    estimate = script_step(
        "elasticity", "elasticity.py", "estimate_elasticity",
        arguments=["--sales_dir", clean_sales.as_input(name="clean_sales"),
                   "--prices_dir", prices, "--region", "$AML_PARAMETER_region",
                   "--min_weeks", min_weeks, "--output_dir", report.as_upload(overwrite=True)],
        inputs=[prices], params={"region": region},
    )  # fmt: skip
    return Pipeline(ws, steps=[prep, estimate])


def promo_uplift(ws, ds) -> Pipeline:
    """Prices then uplift; published, then disabled when the promo team moved to another tool."""
    include_promos = PipelineParameter("include_promos", default_value=True)
    min_uplift = PipelineParameter("min_uplift", default_value=0.15)
    sales, _ = sales_and_stores(ds)
    prices = DataReference(ds, data_reference_name="prices_raw", path_on_datastore="retail/prices")
    weekly_prices = PipelineData("weekly_prices", datastore=ds)
    uplift = PipelineData("promo_uplift", datastore=ds)
    prep = script_step(
        "prep_prices", "prep_prices.py", "prep_prices",
        arguments=["--prices_dir", prices, "--include_promos", include_promos,
                   "--output_dir", weekly_prices],
        inputs=[prices], outputs=[weekly_prices],
    )  # fmt: skip
    measure = script_step(
        "promo_uplift", "promo_uplift.py", "promo_uplift",
        arguments=["--sales_dir", sales, "--prices_dir", weekly_prices,
                   "--min_uplift", min_uplift, "--output_dir", uplift],
        inputs=[sales, weekly_prices], outputs=[uplift],
    )  # fmt: skip
    return Pipeline(ws, steps=[prep, measure])


def inventory_replenishment(ws, ds) -> Pipeline:
    """A weekly forecast, then a CommandStep that turns it into store orders."""
    safety = PipelineParameter("safety_factor", default_value=1.15)
    pack_size = PipelineParameter("pack_size", default_value=6)
    sales, _ = sales_and_stores(ds)
    weekly = PipelineData("weekly_forecast", datastore=ds)
    orders = PipelineData("orders", datastore=ds, pipeline_output_name="store_orders")
    forecast = script_step(
        "weekly_forecast", "weekly_forecast.py", "weekly_forecast",
        arguments=["--sales_dir", sales, "--method", "trend", "--window", "7",
                   "--output_dir", weekly],
        inputs=[sales], outputs=[weekly],
    )  # fmt: skip
    replenish = CommandStep(
        name="replenish",
        command=["python", "replenish.py", "--forecast_dir", weekly, "--safety_factor", safety,
                 "--pack_size", pack_size, "--output_dir", orders],
        source_directory=str(STEPS / "replenishment"),
        compute_target=COMPUTE, runconfig=make_run_config(),
        inputs=[weekly], outputs=[orders],
    )  # fmt: skip
    return Pipeline(ws, steps=[forecast, replenish])


def store_batch_scoring(ws, ds) -> Pipeline:
    """Split sales per store, then score the store files with a ParallelRunStep."""
    since = PipelineParameter("since", default_value="2024-03-01")
    horizon_days = PipelineParameter("horizon_days", default_value=7)
    sales, _ = sales_and_stores(ds)
    store_files = PipelineData("store_files", datastore=ds).as_dataset()
    scores = PipelineData("store_scores", datastore=ds)
    split = script_step(
        "split_by_store", "split_by_store.py", "split_by_store",
        arguments=["--sales_dir", sales, "--since", since, "--output_dir", store_files],
        inputs=[sales], outputs=[store_files],
    )  # fmt: skip
    config = ParallelRunConfig(
        source_directory=str(STEPS / "batch_scoring"),
        entry_script="score_store.py",
        mini_batch_size="2",
        error_threshold=1,
        output_action="append_row",
        environment=make_run_config().environment,
        compute_target=COMPUTE_NAME,  # a name: the SDK sends it in the metadata
        node_count=1,
        process_count_per_node=2,
    )
    score = ParallelRunStep(
        name="score-stores",
        parallel_run_config=config,
        inputs=[store_files.as_named_input("store_files")],
        output=scores,
        arguments=["--horizon_days", horizon_days],
    )
    return Pipeline(ws, steps=[split, score])


def weekly_demand_forecast(ws, ds, version: str) -> Pipeline:
    """The pipeline behind the ``weekly-demand-forecast`` endpoint, as it evolved."""
    sales, stores = sales_and_stores(ds)
    weekly = PipelineData("weekly_forecast", datastore=ds, pipeline_output_name="next_week")
    if version == "1.0":  # moving average, no parameters
        step = script_step(
            "weekly_forecast", "weekly_forecast.py", "weekly_forecast",
            arguments=["--sales_dir", sales, "--method", "moving_average", "--window", "7",
                       "--output_dir", weekly],
            inputs=[sales], outputs=[weekly],
        )  # fmt: skip
        return Pipeline(ws, steps=[step])

    method = PipelineParameter("method", default_value="moving_average")
    window = PipelineParameter("window", default_value=14)
    if version == "1.1":  # method and window become parameters
        step = script_step(
            "weekly_forecast", "weekly_forecast.py", "weekly_forecast",
            arguments=["--sales_dir", sales, "--method", method, "--window", window,
                       "--output_dir", weekly],
            inputs=[sales], outputs=[weekly],
        )  # fmt: skip
        return Pipeline(ws, steps=[step])

    # 2.0: cleaned sales first; seasonal naive by default
    method = PipelineParameter("method", default_value="seasonal_naive")
    region = PipelineParameter("region", default_value="ALL")
    clean = PipelineData("clean_sales", datastore=ds)
    prep = script_step(
        "prep_sales", "prep_sales.py", "prep_sales",
        arguments=["--sales_dir", sales, "--stores_dir", stores, "--region", region,
                   "--min_units", "1", "--output_dir", clean],
        inputs=[sales, stores], outputs=[clean],
    )  # fmt: skip
    step = script_step(
        "weekly_forecast", "weekly_forecast.py", "weekly_forecast",
        arguments=["--sales_dir", clean, "--method", method, "--window", window,
                   "--output_dir", weekly],
        inputs=[clean], outputs=[weekly],
    )  # fmt: skip
    return Pipeline(ws, steps=[prep, step])


def publish_all(ws) -> dict:
    """Publish every pipeline and endpoint; return a JSON-ready summary."""
    ds = ws.get_default_datastore()
    published = {}

    def publish(key, pipeline, name, description, version, **kwargs):
        pp = pipeline.publish(name=name, description=description, version=version, **kwargs)
        published[key] = pp
        return pp

    publish("daily", daily_sales_forecast(ws, ds), "daily_sales forecast",
            "Daily unit forecast per store and product, 14 days ahead", "1.4",
            continue_on_step_failure=False)  # fmt: skip
    publish("daily_lite", daily_sales_forecast_lite(ws, ds), "daily-sales-forecast",
            "Single-step weekly forecast from raw sales (dashboard feed)", "0.9")  # fmt: skip
    publish("zurich", zurich_store_forecast(ws, ds), "zurich_store_forecast",
            "Prévisions des ventes – magasins Zürich", "1.0")  # fmt: skip
    long_name = "price_elasticity_weekly_estimation_by_store"
    publish("elasticity_1", price_elasticity(ws, ds, 3), long_name,
            "Weekly price elasticity per product", "1.0")  # fmt: skip
    publish("elasticity_2", price_elasticity(ws, ds, 4), long_name,
            "Weekly price elasticity per product; needs four weeks of history", "2.0",
            continue_on_step_failure=True)  # fmt: skip
    promo = publish("promo", promo_uplift(ws, ds), "promo-uplift-legacy",
                    "Promotion uplift per product (retired)", "0.3")  # fmt: skip
    promo.disable()
    publish("replenishment", inventory_replenishment(ws, ds), "inventory-replenishment",
            "Store orders from the weekly forecast plus safety stock", "1.2")  # fmt: skip
    publish("scoring", store_batch_scoring(ws, ds), "store-batch-scoring",
            "Per-store demand scoring with a parallel run", "1.0")  # fmt: skip
    for version in ("1.0", "1.1", "2.0"):
        publish(f"weekly_{version}", weekly_demand_forecast(ws, ds, version),
                "weekly-demand-forecast", f"Weekly demand forecast {version}", version)  # fmt: skip

    weekly = PipelineEndpoint.publish(
        ws, "weekly-demand-forecast", "Next week's demand per store and product",
        published["weekly_1.0"],
    )  # fmt: skip
    weekly.add(published["weekly_1.1"])
    weekly.add(published["weekly_2.0"])
    weekly.set_default_version("1")  # 2.0 is still being validated; callers get 1.1
    PipelineEndpoint.publish(ws, "store_replenishment endpoint",
                             "Orders for the stores, called by the ERP every Sunday",
                             published["replenishment"])  # fmt: skip
    elasticity = PipelineEndpoint.publish(ws, "price-elasticity",
                                          "Price elasticity for the pricing team",
                                          published["elasticity_1"])  # fmt: skip
    elasticity.add_default(published["elasticity_2"])
    return summary(ws)


def summary(ws) -> dict:
    """What the workspace now holds, read back through the SDK."""
    from azureml.pipeline.core import PublishedPipeline

    pipelines = PublishedPipeline.list(ws, active_only=False)
    endpoints = PipelineEndpoint.list(ws, active_only=False)
    return {
        "pipelines": sorted(
            ({"id": p.id, "name": p.name, "version": p.version, "status": p.status}
             for p in pipelines),
            key=lambda p: (p["name"], p["version"] or ""),
        ),
        "endpoints": sorted(
            ({"id": e.id, "name": e.name, "default_version": e.default_version,
              "versions": {v.version: v.pipeline_id for v in e.pipeline_version_list}}
             for e in endpoints),
            key=lambda e: e["name"],
        ),
    }  # fmt: skip


def main() -> None:
    ws = get_workspace()
    result = publish_all(ws)
    json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
