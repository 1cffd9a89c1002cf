"""State and rules of the v2 job side (see ``JobsBackend``)."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from migrate_kit.emulator.arm.errors import (
    ResourceGroupNotFound,
    ResourceNotFound,
    SubscriptionNotFound,
)
from migrate_kit.emulator.config import Context
from migrate_kit.emulator.jobs.errors import (
    DeploymentNotFound,
    EndpointNotFound,
    InvalidInvokeInput,
    InvalidPipeline,
    JobNotFound,
    NoDeployment,
    RunNotFound,
)
from migrate_kit.emulator.jobs.invoke_body import parse_invoke_body
from migrate_kit.emulator.jobs.render import (
    child_stub,
    history_run,
    job_resource,
    parse_asset_id,
    ref_of,
    resolved_uri,
    run_details,
)
from migrate_kit.emulator.jobs.translate import JobPlan, PipelineTranslator
from migrate_kit.emulator.jobs.uris import asset_key
from migrate_kit.emulator.runner.backend import runner_for
from migrate_kit.emulator.runner.model import DataRef

__all__ = ["JOB_KIND", "JobsBackend", "backend_for"]

logger = logging.getLogger(__name__)

#: Store kind of the jobs this family created, key = job name.
JOB_KIND = "jobs.job"
_ENDPOINT_KIND = "arm.batch_endpoint"
_DEPLOYMENT_KIND = "arm.batch_deployment"
_COMPONENT_KIND = "arm.component"

_backends: weakref.WeakKeyDictionary[Context, JobsBackend] = weakref.WeakKeyDictionary()
_backends_lock = threading.Lock()


def backend_for(ctx: Context) -> JobsBackend:
    """The one backend of ``ctx`` (made on first use), so tests can change its settings."""
    with _backends_lock:
        backend = _backends.get(ctx)
        if backend is None:
            backend = _backends[ctx] = JobsBackend(ctx)
        return backend


class JobsBackend:
    """Batch endpoint invoke, pipeline job resources and their run history.

    An invoke resolves the endpoint's deployment, its pipeline component and the components
    and code of its steps from the ``arm.*`` entities, builds a ``PipelineSpec``
    (``translate.py``) and submits it to the runner; the job is kept as a ``jobs.job`` entity
    and read back merged with the runner's records.

    ``page_size`` (default 50) is the number of jobs per page of the job lists, which
    continue with a ``nextLink`` carrying ``$skipToken``.

    Not emulated: invoke inputs other than literals and paths of the default datastore
      (``azureml://datastores/<default>/paths/...``): data assets, public ``https://`` URLs and
      other datastores are answered with 400.
    Not emulated: the invoke's ``compute``, ``retrySettings``, ``errorThreshold``,
      ``miniBatchSize``, ``outputFileName`` and ``outputDataset`` fields (model deployment
      settings); they are ignored.
    Not emulated: nested pipeline components (a pipeline step inside the deployed pipeline)
      and step types other than command and parallel: such a step fails its job with a message.
    Not emulated: archiving; ``listViewType=ArchivedOnly`` lists nothing, the others list all.
    Not emulated: job creation through ``PUT {ws}/jobs/{name}`` (``jobs.create_or_update``);
      only batch endpoint invokes create jobs.
    Not emulated: metrics, and the runtime's own logs in a job's ``default`` output (its
      ``ExperimentRun/dcid.<run id>/`` folder in the artifact store, which ``jobs.download``
      fetches): logs are the steps' ``user_logs/std_log.txt``, ``stdout.txt``, ``stderr.txt``
      and the pipeline's ``logs/azureml/executionlogs.txt`` (written by the runner as steps
      start and end).
    Not emulated: run history's experiments, metrics, tags and properties updates; runs are
      read-only, and a run's ``experimentId`` is a uuid derived from the experiment's name.
    Not emulated: the cancel's own long-running operation: ``POST {ws}/jobs/{name}/cancel``
      returns once the job is canceled, 202 with a ``Location`` of the job resource itself.
    Not emulated: the invoke reply's exact shape (unconfirmed for the live service): it is the
      new pipeline job's ARM resource; azure-ai-ml reads only ``id``, ``name``, ``type`` and
      ``properties.status`` from it.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.page_size = 50
        self.translator = PipelineTranslator(ctx.store, ctx.config, ctx.new_id)

    # -- workspace ---------------------------------------------------------------------------

    def check_workspace(self, subscription_id: str, resource_group: str, workspace: str) -> None:
        """ARM's 404 unless the ids name the emulated workspace."""
        cfg = self.ctx.config
        if subscription_id.lower() != cfg.subscription_id.lower():
            raise SubscriptionNotFound(subscription_id)
        if resource_group.lower() != cfg.resource_group.lower():
            raise ResourceGroupNotFound(resource_group)
        if workspace.lower() != cfg.workspace_name.lower():
            raise ResourceNotFound(
                "Microsoft.MachineLearningServices/workspaces", workspace, resource_group
            )

    # -- invoke ------------------------------------------------------------------------------

    def invoke(self, endpoint: str, deployment: str | None, body: Any) -> dict[str, Any]:
        """Start a pipeline job on a batch endpoint's deployment (``POST {scoringUri}``).

        ``deployment`` is the ``azureml-model-deployment`` header; without it the endpoint's
        default deployment runs. Returns the new job's resource.
        """
        request = parse_invoke_body(body, self.ctx.config)
        endpoint_body = self._live(_ENDPOINT_KIND, endpoint.lower())
        if endpoint_body is None:
            raise EndpointNotFound(endpoint)
        endpoint_name = str(endpoint_body.get("name") or endpoint)
        defaults = endpoint_body.get("properties", {}).get("defaults") or {}
        deployment = deployment or defaults.get("deploymentName")
        if not deployment:
            raise NoDeployment(endpoint_name)
        deployment_body = self._live(_DEPLOYMENT_KIND, f"{endpoint}/{deployment}".lower())
        if deployment_body is None:
            raise DeploymentNotFound(endpoint_name, deployment)

        config = deployment_body.get("properties", {}).get("deploymentConfiguration") or {}
        component_id = str((config.get("componentId") or {}).get("assetId") or "")
        pipeline = self._component_spec(component_id, deployment)
        settings = {**(config.get("settings") or {}), **request.settings}

        job_name = request.job_name or f"batchjob-{self.ctx.new_id()}"
        if self.ctx.store.get(JOB_KIND, job_name) is not None:
            raise InvalidInvokeInput(
                f"A job named '{job_name}' already exists; invoke with another job name."
            )
        experiment = request.experiment_name or endpoint_name
        plan = self.translator.plan(
            job_name, pipeline, request, experiment_name=experiment, settings=settings
        )
        job = self._job_entity(plan, endpoint_name, deployment, component_id, pipeline)
        self.ctx.store.put(JOB_KIND, job_name, job)
        try:
            record = runner_for(self.ctx).submit(plan.spec)
        except ValueError as exc:
            self.ctx.store.delete(JOB_KIND, job_name)
            raise InvalidPipeline(f"The pipeline of deployment '{deployment}': {exc}") from exc
        logger.info("Invoked %s/%s as job %s", endpoint_name, deployment, job_name)
        return job_resource(job, record, self.ctx.config)

    def _live(self, kind: str, key: str) -> dict[str, Any] | None:
        """An endpoint or deployment that exists and is not being deleted."""
        body = self.ctx.store.get(kind, key)
        state = (body or {}).get("properties", {}).get("provisioningState")
        return None if body is None or state == "Deleting" else body

    def _component_spec(self, component_id: str, deployment: str) -> dict[str, Any]:
        try:
            key = asset_key(component_id, "components")
        except ValueError as exc:
            raise InvalidPipeline(f"Deployment '{deployment}': {exc}.") from exc
        body = self.ctx.store.get(_COMPONENT_KIND, key)
        spec = (body or {}).get("properties", {}).get("componentSpec")
        if not isinstance(spec, dict):
            raise InvalidPipeline(
                f"Deployment '{deployment}' references component '{component_id}', which does "
                "not exist in the workspace."
            )
        return spec

    def _job_entity(
        self,
        plan: JobPlan,
        endpoint: str,
        deployment: str,
        component_id: str,
        pipeline: dict[str, Any],
    ) -> dict[str, Any]:
        spec = plan.spec
        return {
            "name": spec.run_id,
            "endpoint": endpoint,
            "endpointKey": endpoint.lower(),
            "deployment": deployment,
            "componentId": component_id.removeprefix("azureml:"),
            "experimentName": spec.experiment_name,
            "displayName": spec.display_name,
            "description": pipeline.get("description"),
            "createdAt": self.ctx.now_iso(),
            "inputs": {
                name: {"data": _ref_json(v)} if isinstance(v, DataRef) else {"literal": v}
                for name, v in plan.inputs.items()
            },
            "outputs": {name: _ref_json(ref) for name, ref in plan.outputs.items()},
            "settings": {
                "continue_on_step_failure": spec.continue_on_step_failure,
                "default_compute": spec.default_compute,
            },
            "properties": {
                **spec.properties,
                "azureml.endpointName": endpoint,
                "azureml.deploymentName": deployment,
            },
            "tags": {
                "azureml.batchrun": "true",
                "azureml.jobtype": "azureml.pipelinejob",
                "azureml.deploymentname": deployment,
            },
            "jobs": pipeline.get("jobs") or {},
            "children": {step.name: step.run_id for step in spec.steps},
        }

    # -- job resources -----------------------------------------------------------------------

    def get_job(self, name: str) -> dict[str, Any]:
        """``GET {ws}/jobs/{name}``: a pipeline job, or a child run's ``properties: null``."""
        job = self.ctx.store.get(JOB_KIND, name)
        runner = runner_for(self.ctx)
        if job is not None:
            return job_resource(job, runner.get(name), self.ctx.config)
        if runner.get(name) is not None:
            return child_stub(name, self.ctx.config)
        raise JobNotFound(name)

    def list_jobs(self, list_view_type: str, skip: int, url: str) -> dict[str, Any]:
        """``GET {ws}/jobs``: the pipeline jobs, newest first, one page."""
        if list_view_type.lower() == "archivedonly":
            return {"value": [], "nextLink": None}
        jobs = list(reversed(self.ctx.store.list(JOB_KIND)))
        return self._page(jobs, skip, url)

    def cancel_job(self, name: str) -> None:
        """``POST {ws}/jobs/{name}/cancel``: cancel the pipeline (and its running steps)."""
        runner = runner_for(self.ctx)
        if runner.get(name) is None:
            raise JobNotFound(name)
        runner.cancel(name)

    def list_endpoint_jobs(self, endpoint: str, skip: int, url: str) -> dict[str, Any]:
        """The jobs of one batch endpoint, newest first (``batch_endpoints.list_jobs``)."""
        if self._live(_ENDPOINT_KIND, endpoint.lower()) is None:
            raise EndpointNotFound(endpoint)
        jobs = self.ctx.store.find(JOB_KIND, "endpointKey", endpoint.lower())
        return self._page(list(reversed(jobs)), skip, url)

    def _page(self, jobs: list[dict[str, Any]], skip: int, url: str) -> dict[str, Any]:
        runner = runner_for(self.ctx)
        window = jobs[skip : skip + self.page_size]
        value = [job_resource(j, runner.get(j["name"]), self.ctx.config) for j in window]
        more = skip + self.page_size < len(jobs)
        return {
            "value": value,
            "nextLink": _with_skip(url, skip + self.page_size) if more else None,
        }

    # -- run history -------------------------------------------------------------------------

    def _record(self, run_id: str) -> dict[str, Any]:
        record = runner_for(self.ctx).get(run_id)
        if record is None:
            raise RunNotFound(run_id)
        return record

    def _outputs_of(self, run_id: str, record: dict[str, Any]) -> dict[str, Any]:
        job = self.ctx.store.get(JOB_KIND, run_id)
        outputs: dict[str, Any] = (job or record).get("outputs") or {}
        return outputs

    def get_run(self, run_id: str) -> dict[str, Any]:
        """Run history's ``Run`` of a pipeline job or a step."""
        record = self._record(run_id)
        children = runner_for(self.ctx).children(run_id)
        return history_run(record, self.ctx.config, self._outputs_of(run_id, record), children)

    def get_run_details(self, run_id: str) -> dict[str, Any]:
        """Run history's ``RunDetails``, with SAS URLs of the run's logs."""
        record = self._record(run_id)
        children = runner_for(self.ctx).children(run_id)
        logs: dict[str, Any] = record.get("logs") or {}
        urls = {name: self._blob_url(where) for name, where in sorted(logs.items())}
        return run_details(record, urls, children)

    def list_children(self, run_id: str, top: int | None) -> dict[str, Any]:
        """The steps of a pipeline run, in graph order."""
        self._record(run_id)
        children = runner_for(self.ctx).children(run_id)
        if top is not None:
            children = children[: max(0, top)]
        runs = [history_run(child, self.ctx.config) for child in children]
        return {"value": runs, "continuationToken": None, "nextLink": None}

    def get_run_data(self, body: Any) -> dict[str, Any]:
        """``POST .../rundata``: the run's metadata (outputs as data asset ids)."""
        run_id = body.get("runId") if isinstance(body, dict) else None
        if not isinstance(run_id, str) or not run_id:
            raise InvalidInvokeInput('The body must name the run: {"runId": "<id>"}.')
        return {"runMetadata": self.get_run(run_id), "runDefinition": {}, "jobSpecification": {}}

    def resolve_data_uris(self, body: Any) -> dict[str, Any]:
        """``POST .../dataversion/batchGetResolvedUris``: datastore URIs of output assets."""
        ids = body.get("values") if isinstance(body, dict) else None
        if not isinstance(ids, list):
            raise InvalidInvokeInput('The body must list asset ids: {"values": ["<id>", ...]}.')
        resolved: dict[str, Any] = {}
        for value in ids:
            parsed = parse_asset_id(str(value))
            record = runner_for(self.ctx).get(parsed[0]) if parsed else None
            if parsed is None or record is None:
                continue
            stored = self._outputs_of(parsed[0], record).get(parsed[1])
            if stored is not None:
                resolved[str(value)] = resolved_uri(ref_of(stored), self.ctx.config)
        return {"values": resolved}

    # -- logs --------------------------------------------------------------------------------

    def _blob_url(self, where: Mapping[str, str]) -> str:
        sas = f"sv=2021-08-06&sr=b&sp=r&se=2099-01-01T00%3A00%3A00Z&sig={self.ctx.new_id()}"
        return f"{self.ctx.base_url}/{where['account']}/{where['container']}/{where['path']}?{sas}"


def _ref_json(ref: DataRef) -> dict[str, str]:
    return {key: str(value) for key, value in asdict(ref).items()}


def _with_skip(url: str, skip: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "$skipToken"]
    query.append(("$skipToken", str(skip)))
    return urlunsplit(parts._replace(query=urlencode(query)))
