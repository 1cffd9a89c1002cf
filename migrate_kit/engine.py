"""The migration engine: applies a plan to the workspace through ``MLClient``, stage by stage.

For every deployable pipeline of a :class:`~migrate_kit.convert.model.Plan` the engine

1. makes sure its batch endpoint exists (once per endpoint; stage ``endpoint``);
2. registers its step components and its pipeline component (stage ``register``);
3. creates or updates its ``PipelineComponentBatchDeployment`` (stage ``deploy``);

and then, per endpoint, makes the v1 default version's deployment the default (stage
``default``). Blocked pipelines are recorded as skipped, with their blocking findings.

Every stage is recorded in the ledger before and after it runs (:mod:`migrate_kit.ledger`):

- **idempotent**: a stage whose last run is ``done`` with the same *fingerprint* (what it would
  apply now: the component versions, a hash of the endpoint or deployment spec) is skipped
  without a request, so a rerun after success writes nothing. A stage that must run first reads
  what is there and writes only what differs: component versions carry a content hash (an
  existing name and version is the same component), deployments carry their fingerprint in the
  ``migrate_kit_fingerprint`` tag;
- **resumable**: a process killed at any moment leaves at most a ``running`` stage, which the next
  run redoes; every name is deterministic, so redoing creates nothing twice;
- **concurrent**: endpoints first, then the pipelines on a pool of ``concurrency`` threads, then
  the defaults; one pipeline's failure never stops the others;
- **patient**: MLClient's own retry policy honours Retry-After on 429 and 5xx; on top of it each
  write is tried ``attempts`` times with backoff (a long-running operation that ends Failed is
  retried too), and ARM writes are paced by a client-side token bucket when ``writes_per_second``
  is set: every ARM write request MLClient sends (azure-ai-ml's own environment and code writes
  and its retries included) when ``ml_client`` is a factory taking keyword arguments, otherwise
  each of the engine's write calls.

The assets a migration wrote are recorded with whether it created them, before each write, so
``rollback`` can remove exactly those, even after a crash between the write and its record.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from migrate_kit._streams import quiet_colour_resets
from migrate_kit.convert.files import write_plan
from migrate_kit.convert.findings import Severity
from migrate_kit.convert.model import EndpointPlan, PipelinePlan, Plan
from migrate_kit.errors import MigrateKitError
from migrate_kit.ledger import Ledger, endpoint_subject
from migrate_kit.naming import content_hash
from migrate_kit.redact import redact

__all__ = [
    "FINGERPRINT_TAG",
    "MigrationResult",
    "PipelineOutcome",
    "Progress",
    "migrate",
]

logger = logging.getLogger(__name__)

#: Tag on endpoints and deployments: the fingerprint of the spec the engine last applied.
FINGERPRINT_TAG = "migrate_kit_fingerprint"
#: Statuses of one pipeline's outcome.
MIGRATED, UNCHANGED, FAILED, BLOCKED = "migrated", "unchanged", "failed", "blocked"
#: Progress statuses of a pipeline whose stage has started (its outcome comes later).
REGISTERING, DEPLOYING = "registering", "deploying"
WORKING = frozenset({REGISTERING, DEPLOYING})
_RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
_ARM_WRITE_METHODS = frozenset({"PUT", "POST", "PATCH", "DELETE"})

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """One progress event: ``done`` of ``total`` pipelines finished; ``message`` says what.

    ``status`` is a pipeline's outcome when it finishes (``migrated``, ``unchanged``,
    ``failed``, ``blocked``; the test stage's ``passed``, ``failed``, ``skipped``), else what
    it is doing now (:data:`WORKING`: ``registering``, ``deploying``; a job's status while it
    is tested), with ``done`` unchanged.
    """

    done: int
    total: int
    pipeline: str
    status: str
    message: str = ""


@dataclass(frozen=True)
class PipelineOutcome:
    """What the migration did with one published pipeline."""

    pipeline_id: str
    pipeline_name: str
    pipeline_version: str | None
    endpoint: str
    deployment: str | None
    status: str  # migrated (this run wrote for it) | unchanged | failed | blocked
    stage: str | None = None  # the stage that failed, or blocked the pipeline
    error: str | None = None
    writes: int = 0  # ARM writes this run made for it

    @property
    def label(self) -> str:
        """``name version``, as the progress events name the pipeline."""
        return f"{self.pipeline_name} {self.pipeline_version or ''}".strip()


@dataclass(frozen=True)
class MigrationResult:
    """The outcome of one :func:`migrate` call."""

    migration_id: str
    outcomes: tuple[PipelineOutcome, ...]
    endpoint_errors: Mapping[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed(self) -> tuple[PipelineOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == FAILED)

    @property
    def ok(self) -> bool:
        """Whether every pipeline that could be migrated was (blocked ones do not count)."""
        return not self.failed and not self.endpoint_errors

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return counts


class _TokenBucket:
    """Client-side pacing of ARM writes: at most ``rate`` a second, bursts of ``rate``."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._tokens = rate
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.rate, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self.rate
            time.sleep(wait)


class _Engine:
    """One migration run: a plan, the workspace's MLClient, the ledger and the settings."""

    def __init__(
        self,
        ml_client: Any,
        ledger: Ledger,
        migration_id: str,
        *,
        work_dir: Path,
        concurrency: int,
        attempts: int,
        backoff: float,
        writes_per_second: float | None,
        progress: Callable[[Progress], None] | None,
    ) -> None:
        self._client_source = ml_client
        self._local = threading.local()
        self._client_kwargs: dict[str, Any] = {}
        self._pace_requests = False  # True: MLClient's own policy paces every ARM write
        self.ledger = ledger
        self.migration_id = migration_id
        self.work_dir = work_dir
        self.concurrency = concurrency
        self.attempts = attempts
        self.backoff = backoff
        self.bucket = _TokenBucket(writes_per_second) if writes_per_second else None
        if self.bucket is not None and _accepts_policies(ml_client):
            # Every ARM write request MLClient sends is paced, not only the engine's calls: one
            # component registration also writes its environment and code, and retries after a
            # 429 go through the bucket again.
            self._client_kwargs["per_retry_policies"] = [_pacing_policy(self.bucket)]
            self._pace_requests = True
        # Code snapshots whose files at least one component registration has uploaded.
        self._uploaded: set[str] = set()
        self._upload_locks: dict[str, threading.Lock] = {}
        self.progress = progress
        self._writes: dict[str, int] = {}
        self._lock = threading.Lock()
        self._done = 0

    @property
    def ml(self) -> Any:
        """This thread's MLClient: one per worker thread when a factory was given (an
        MLClient costs a few milliseconds and no request to build)."""
        source = self._client_source
        if not callable(source):
            return source
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = source(**self._client_kwargs)
        return client

    # -- the run ---------------------------------------------------------------------------

    def run(self, plan: Plan) -> tuple[list[PipelineOutcome], dict[str, str]]:
        deployable = [p for p in plan.pipelines if p.deployable]
        if deployable:
            write_plan(plan, self.work_dir)
        total = len(plan.pipelines)
        outcomes: dict[str, PipelineOutcome] = {}
        for endpoint in plan.endpoints:
            for pipeline in endpoint.pipelines:
                if not pipeline.deployable:
                    outcomes[pipeline.pipeline_id] = self._blocked(endpoint, pipeline, total)
                else:
                    detail = plan_detail(endpoint, pipeline)
                    self.ledger.done(self.migration_id, pipeline.pipeline_id, "plan", detail=detail)

        endpoint_errors: dict[str, str] = {}
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="migrate") as pool:
            wanted = [e for e in plan.endpoints if e.deployments]
            for endpoint, error in zip(wanted, pool.map(self._endpoint_stage, wanted), strict=True):
                if error:
                    endpoint_errors[endpoint.name] = error
            jobs = [
                (endpoint, pipeline)
                for endpoint in wanted
                for pipeline in endpoint.pipelines
                if pipeline.deployable
            ]
            results = pool.map(
                lambda job: self._pipeline(job[0], job[1], endpoint_errors, total), jobs
            )
            for (_, pipeline), outcome in zip(jobs, results, strict=True):
                outcomes[pipeline.pipeline_id] = outcome
            defaults = [e for e in wanted if e.name not in endpoint_errors]
            for endpoint, error in zip(
                defaults,
                pool.map(lambda e: self._default_stage(e, outcomes), defaults),
                strict=True,
            ):
                if error:
                    endpoint_errors[endpoint.name] = error
        ordered = [outcomes[p.pipeline_id] for p in plan.pipelines]
        return ordered, endpoint_errors

    def _blocked(
        self, endpoint: EndpointPlan, pipeline: PipelinePlan, total: int
    ) -> PipelineOutcome:
        reasons = [f.message for f in pipeline.findings if f.severity is Severity.BLOCKING]
        reason = "; ".join(reasons) or "the plan has no deployment for it"
        detail = plan_detail(endpoint, pipeline)
        self.ledger.skipped(self.migration_id, pipeline.pipeline_id, "plan", reason, detail=detail)
        outcome = PipelineOutcome(
            pipeline.pipeline_id,
            pipeline.pipeline_name,
            pipeline.pipeline_version,
            endpoint.name,
            None,
            BLOCKED,
            stage="plan",
            error=reason,
        )
        self._report(outcome, total)
        return outcome

    def _pipeline(
        self,
        endpoint: EndpointPlan,
        pipeline: PipelinePlan,
        endpoint_errors: Mapping[str, str],
        total: int,
    ) -> PipelineOutcome:
        deployment = pipeline.deployment
        assert deployment is not None
        subject = pipeline.pipeline_id
        stage = "register"
        try:
            if endpoint.name in endpoint_errors:
                stage = "endpoint"
                raise MigrateKitError(
                    f"batch endpoint {endpoint.name!r} could not be created or updated: "
                    f"{endpoint_errors[endpoint.name]}"
                )
            register = _register_fingerprint(pipeline)
            self._stage(
                subject, stage, register, lambda: self._register(pipeline),
                started=lambda: self._announce(pipeline, REGISTERING, total),
            )  # fmt: skip
            stage = "deploy"
            deploy = _deployment_fingerprint(pipeline)
            self._stage(
                subject, stage, deploy, lambda: self._deploy(pipeline),
                started=lambda: self._announce(pipeline, DEPLOYING, total),
            )  # fmt: skip
        except Exception as exc:  # one pipeline's failure never stops the others
            error = _describe(exc)
            logger.warning("%s: %s failed: %s", pipeline.label, stage, error)
            outcome = PipelineOutcome(
                subject,
                pipeline.pipeline_name,
                pipeline.pipeline_version,
                endpoint.name,
                deployment.name,
                FAILED,
                stage=stage,
                error=error,
                writes=self._writes.get(subject, 0),
            )
        else:
            outcome = PipelineOutcome(
                subject,
                pipeline.pipeline_name,
                pipeline.pipeline_version,
                endpoint.name,
                deployment.name,
                MIGRATED if self._writes.get(subject) else UNCHANGED,
                writes=self._writes.get(subject, 0),
            )
        self._report(outcome, total)
        return outcome

    def _announce(self, pipeline: PipelinePlan, status: str, total: int) -> None:
        """A stage of ``pipeline`` starts (it was not done already)."""
        if self.progress is not None:
            with self._lock:
                done = self._done
            self.progress(Progress(done, total, pipeline.label, status))

    def _report(self, outcome: PipelineOutcome, total: int) -> None:
        with self._lock:
            self._done += 1
            done = self._done
        if self.progress is not None:
            self.progress(Progress(done, total, outcome.label, outcome.status, outcome.error or ""))

    # -- stages ----------------------------------------------------------------------------

    def _stage(
        self,
        subject: str,
        stage: str,
        fingerprint: str,
        apply: Callable[[], dict[str, Any]],
        *,
        started: Callable[[], None] | None = None,
    ) -> bool:
        """Run ``apply`` unless the ledger has this stage done with this fingerprint; whether
        it ran (``started`` is called first when it does). Failures are recorded and raised."""
        last = self.ledger.stage(subject, stage)
        if last is not None and last.done and last.fingerprint == fingerprint:
            return False
        if started is not None:
            started()
        self.ledger.begin(self.migration_id, subject, stage, fingerprint=fingerprint)
        try:
            detail = apply()
        except Exception as exc:
            self.ledger.failed(self.migration_id, subject, stage, _describe(exc))
            raise
        self.ledger.done(self.migration_id, subject, stage, fingerprint=fingerprint, detail=detail)
        return True

    def _endpoint_stage(self, endpoint: EndpointPlan) -> str | None:
        try:
            subject, fingerprint = endpoint_subject(endpoint.name), _endpoint_fingerprint(endpoint)
            self._stage(subject, "endpoint", fingerprint, lambda: self._endpoint(endpoint))
        except Exception as exc:
            logger.warning("batch endpoint %s failed: %s", endpoint.name, _describe(exc))
            return _describe(exc)
        return None

    def _default_stage(
        self, endpoint: EndpointPlan, outcomes: Mapping[str, PipelineOutcome]
    ) -> str | None:
        default = next((d for d in endpoint.deployments if d.is_default), None)
        if default is None:
            return None
        outcome = outcomes.get(default.v1_pipeline_id)
        if outcome is None or outcome.status == FAILED:
            reason = f"its deployment {default.name!r} failed"
            subject = endpoint_subject(endpoint.name)
            self.ledger.skipped(self.migration_id, subject, "default", reason)
            return f"default deployment not set: {reason}"
        try:
            subject = endpoint_subject(endpoint.name)
            self._stage(
                subject,
                "default",
                default.name,
                lambda: self._set_default(endpoint.name, default.name),
            )
        except Exception as exc:
            return f"default deployment not set: {_describe(exc)}"
        return None

    # -- what each stage does ---------------------------------------------------------------

    def _endpoint(self, endpoint: EndpointPlan) -> dict[str, Any]:
        from azure.ai.ml.entities import BatchEndpoint
        from azure.core.exceptions import ResourceNotFoundError

        subject = endpoint_subject(endpoint.name)
        fingerprint = _endpoint_fingerprint(endpoint)
        spec = endpoint.spec
        try:
            existing = self._call(lambda: self.ml.batch_endpoints.get(endpoint.name))
        except ResourceNotFoundError:
            existing = None
        if existing is not None and (existing.tags or {}).get(FINGERPRINT_TAG) == fingerprint:
            return {"id": existing.id, "scoring_uri": existing.scoring_uri, "written": False}
        tags = {**(existing.tags if existing is not None else {}), **_tags(spec)}
        tags[FINGERPRINT_TAG] = fingerprint
        wanted = BatchEndpoint(name=endpoint.name, description=spec.get("description"), tags=tags)
        if existing is not None and existing.defaults is not None:
            wanted.defaults = existing.defaults  # keep the default deployment it has
        self.ledger.record_asset(
            self.migration_id, subject, "endpoint", endpoint.name, created=existing is None
        )
        result = self._write(
            subject, lambda: self.ml.batch_endpoints.begin_create_or_update(wanted).result()
        )
        return {"id": result.id, "scoring_uri": result.scoring_uri, "written": True}

    def _register(self, pipeline: PipelinePlan) -> dict[str, Any]:
        folder = self.work_dir / pipeline.folder
        ids: dict[str, str] = {}
        assert pipeline.pipeline_component is not None
        parts = [(c.name, c.version, c.yaml_path, c.snapshot_id) for c in pipeline.components]
        top = pipeline.pipeline_component
        parts.append((top.name, top.version, top.yaml_path, None))
        for name, version, yaml_path, snapshot in parts:
            existing = self._get_component(name, version)
            if existing is None:
                self.ledger.record_asset(
                    self.migration_id, pipeline.pipeline_id, "component", name,
                    version=version, created=True,
                )  # fmt: skip
                existing = self._create_component(
                    pipeline.pipeline_id, folder / yaml_path, snapshot
                )
            ids[f"{name}:{version}"] = existing.id
        return {"components": ids}

    def _create_component(self, subject: str, yaml_path: Path, snapshot: str | None) -> Any:
        """Register the component of ``yaml_path``; its code comes from ``snapshot``.

        Components of several pipeline versions often share a code snapshot, and azure-ai-ml
        uploads code only when no code asset has its hash yet. Registered at the same time on
        several threads, each would upload it: so the first registration of a snapshot's code
        runs alone, and the others wait for it, then find the upload done.
        """
        from azure.ai.ml import load_component

        component = load_component(source=yaml_path)

        def create() -> Any:
            return self._write(subject, lambda: self.ml.components.create_or_update(component))

        if snapshot is None or snapshot in self._uploaded:
            return create()
        with self._lock:
            lock = self._upload_locks.setdefault(snapshot, threading.Lock())
        with lock:
            if snapshot not in self._uploaded:
                created = create()
                self._uploaded.add(snapshot)
                return created
        return create()

    def _get_component(self, name: str, version: str) -> Any:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._call(lambda: self.ml.components.get(name=name, version=version))
        except ResourceNotFoundError:
            return None

    def _deploy(self, pipeline: PipelinePlan) -> dict[str, Any]:
        from azure.ai.ml.entities import PipelineComponentBatchDeployment
        from azure.core.exceptions import ResourceNotFoundError

        plan = pipeline.deployment
        assert plan is not None
        fingerprint = _deployment_fingerprint(pipeline)
        try:
            existing = self._call(
                lambda: self.ml.batch_deployments.get(
                    name=plan.name, endpoint_name=plan.endpoint_name
                )
            )
        except ResourceNotFoundError:
            existing = None
        if existing is not None and (existing.tags or {}).get(FINGERPRINT_TAG) == fingerprint:
            return {"id": existing.id, "written": False}
        tags = {**_tags(plan.spec), FINGERPRINT_TAG: fingerprint}
        deployment = PipelineComponentBatchDeployment(
            name=plan.name,
            endpoint_name=plan.endpoint_name,
            component=f"azureml:{plan.component_name}:{plan.component_version}",
            settings=dict(plan.settings),
            description=plan.spec.get("description"),
            tags=tags,
        )
        self.ledger.record_asset(
            self.migration_id, pipeline.pipeline_id, "deployment", plan.name,
            endpoint=plan.endpoint_name, created=existing is None,
        )  # fmt: skip
        deployments = self.ml.batch_deployments
        result = self._write(
            pipeline.pipeline_id,
            lambda: deployments.begin_create_or_update(deployment).result(),
        )
        return {"id": result.id, "component": f"{plan.component_name}:{plan.component_version}"}

    def _set_default(self, endpoint_name: str, deployment_name: str) -> dict[str, Any]:
        subject = endpoint_subject(endpoint_name)
        endpoint = self._call(lambda: self.ml.batch_endpoints.get(endpoint_name))
        current = default_deployment(endpoint)
        if current == deployment_name:
            return {"default": deployment_name, "written": False}
        endpoint.defaults = {"deployment_name": deployment_name}
        self._write(
            subject, lambda: self.ml.batch_endpoints.begin_create_or_update(endpoint).result()
        )
        return {"default": deployment_name, "previous": current, "written": True}

    # -- calls ------------------------------------------------------------------------------

    def _write(self, subject: str, call: Callable[[], T]) -> T:
        """An ARM write: paced by the token bucket, retried, and counted for ``subject``."""

        def paced() -> T:
            if self.bucket is not None and not self._pace_requests:
                self.bucket.take()
            with self._lock:
                self._writes[subject] = self._writes.get(subject, 0) + 1
            return call()

        return self._call(paced)

    def _call(self, call: Callable[[], T]) -> T:
        """``call()``, retried with jittered backoff on throttling, 5xx, network errors and
        long-running operations that ended Failed; other errors are raised at once."""
        from azure.core.exceptions import ResourceNotFoundError

        for attempt in range(1, self.attempts + 1):
            try:
                return call()
            except ResourceNotFoundError:
                raise
            except Exception as exc:
                wait = _retry_wait(exc, attempt, self.backoff)
                if wait is None or attempt == self.attempts:
                    raise
                logger.info("retrying in %.1f s after: %s", wait, _describe(exc))
                time.sleep(wait)
        raise AssertionError("unreachable")


def migrate(
    plan: Plan,
    ml_client: Any,
    ledger: Ledger,
    *,
    work_dir: Path,
    workspace: str = "",
    concurrency: int = 4,
    attempts: int = 4,
    backoff: float = 1.0,
    writes_per_second: float | None = None,
    progress: Callable[[Progress], None] | None = None,
    options: Mapping[str, Any] | None = None,
) -> MigrationResult:
    """Apply ``plan`` to the workspace of ``ml_client``, recording every stage in ``ledger``.

    ``ml_client`` is an azure-ai-ml ``MLClient``, or a function that makes one (then each
    worker thread gets its own, e.g. ``connection.ml_client``).

    ``work_dir`` receives the plan's files (YAML and code folders), which components are
    registered from. ``concurrency`` pipelines are migrated at once (at least 1). Each call is
    tried up to ``attempts`` times, waiting ``backoff`` seconds, doubled per attempt, between
    tries; ``writes_per_second`` paces ARM writes. Returns one outcome per planned pipeline;
    nothing is raised for a pipeline that fails.

    With ``writes_per_second``, a factory that takes keyword arguments (``**kwargs`` or
    ``per_retry_policies``) is called with ``per_retry_policies=[<pacing policy>]``, which
    MLClient hands to azure-core, so each ARM write request takes a token, retries included.
    A ready-made MLClient cannot be given the policy: then only the engine's own write calls
    are paced, one token each, although registering a component can also write its
    environment and code, so a workspace throttle at the same rate still answers some 429s.
    """
    if concurrency < 1:
        raise MigrateKitError(f"concurrency must be at least 1, not {concurrency}")
    started = time.perf_counter()
    settings = {**(options or {}), "concurrency": concurrency}
    migration_id = ledger.start("migrate", workspace, settings)
    engine = _Engine(
        ml_client,
        ledger,
        migration_id,
        work_dir=work_dir,
        concurrency=concurrency,
        attempts=attempts,
        backoff=backoff,
        writes_per_second=writes_per_second,
        progress=progress,
    )
    status = "failed"
    try:
        with quiet_colour_resets():  # azure-ai-ml's blank line after each code upload
            outcomes, endpoint_errors = engine.run(plan)
        result = MigrationResult(
            migration_id, tuple(outcomes), endpoint_errors, time.perf_counter() - started
        )
        status = "succeeded" if result.ok else "failed"
        return result
    except BaseException:
        status = "interrupted"
        raise
    finally:
        ledger.finish(migration_id, status)


# -- fingerprints and helpers ----------------------------------------------------------------


def plan_detail(endpoint: EndpointPlan, pipeline: PipelinePlan) -> dict[str, Any]:
    """What the ledger keeps of a pipeline's plan (its ``plan`` stage), for reports."""
    deployment = pipeline.deployment
    component = pipeline.pipeline_component
    return {
        "pipeline_name": pipeline.pipeline_name,
        "v1_version": pipeline.pipeline_version,
        "v1_endpoint": endpoint.v1_name if endpoint.v1_endpoint_id else None,
        "v1_endpoint_version": pipeline.v1_endpoint_version,
        "v2_endpoint": endpoint.name,
        "deployment": deployment.name if deployment else None,
        "is_default": bool(deployment and deployment.is_default),
        "component": component.name if component else None,
        "component_version": component.version if component else None,
        "verdict": pipeline.verdict,
        "blocking_reason": "; ".join(
            f.code for f in pipeline.findings if f.severity is Severity.BLOCKING
        ),
        # What v1 callers sent, and what v2 callers pass: the callers' snippets are built from
        # these (:func:`migrate_kit.snippets.endpoint_calls`).
        "v1_url": endpoint.v1_url if endpoint.v1_endpoint_id else pipeline.v1_url,
        "inputs": [dataclasses.asdict(i) for i in pipeline.invoke_inputs],
    }


def _register_fingerprint(pipeline: PipelinePlan) -> str:
    assert pipeline.pipeline_component is not None
    parts = [f"{c.name}:{c.version}" for c in pipeline.components]
    parts.append(f"{pipeline.pipeline_component.name}:{pipeline.pipeline_component.version}")
    return content_hash(parts)


def _deployment_fingerprint(pipeline: PipelinePlan) -> str:
    assert pipeline.deployment is not None
    return content_hash(dict(pipeline.deployment.spec))


def _endpoint_fingerprint(endpoint: EndpointPlan) -> str:
    return content_hash(dict(endpoint.spec))


def default_deployment(endpoint: Any) -> str | None:
    """The default deployment of an azure-ai-ml ``BatchEndpoint`` (its ``defaults`` is a dict
    when built locally, a REST model after ``get``, or None)."""
    defaults = endpoint.defaults
    if defaults is None:
        return None
    name = (
        defaults.get("deployment_name")
        if isinstance(defaults, dict)
        else getattr(defaults, "deployment_name", None)
    )
    return str(name) if name else None


def _tags(spec: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (spec.get("tags") or {}).items()}


def _accepts_policies(ml_client: Any) -> bool:
    """Whether ``ml_client`` is a factory that takes azure-core's ``per_retry_policies``
    (such as ``Connection.ml_client``, which passes keyword arguments on to ``MLClient``)."""
    if not callable(ml_client):
        return False
    try:
        parameters = inspect.signature(ml_client).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        p.kind is inspect.Parameter.VAR_KEYWORD or p.name == "per_retry_policies"
        for p in parameters
    )


def _pacing_policy(bucket: _TokenBucket) -> Any:
    """An azure-core policy that takes a token from ``bucket`` before each ARM write request
    (PUT, POST, PATCH or DELETE of a path under ``/subscriptions/``), retries included.

    A SansIO policy, because MLClient puts the same policy objects in the pipelines of all its
    service clients, and a plain ``HTTPPolicy`` is chained (``next``) into one pipeline only.
    """
    from urllib.parse import urlsplit

    from azure.core.pipeline import PipelineRequest
    from azure.core.pipeline.policies import SansIOHTTPPolicy
    from azure.core.rest import HttpRequest, HttpResponse

    class WritePacing(SansIOHTTPPolicy[HttpRequest, HttpResponse]):
        def on_request(self, request: PipelineRequest[HttpRequest]) -> None:
            http = request.http_request
            path = urlsplit(http.url).path
            if http.method in _ARM_WRITE_METHODS and path.startswith("/subscriptions/"):
                bucket.take()

    return WritePacing()


def _retry_wait(exc: BaseException, attempt: int, base: float) -> float | None:
    """Seconds to wait before retrying after ``exc`` (``base`` doubled per attempt, with
    jitter, or the service's Retry-After if longer), or None when it is not worth a retry."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    backoff = min(30.0, base * 2.0 ** (attempt - 1)) * (0.5 + random.random() / 2)
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return backoff
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        if status in _RETRYABLE_STATUS:
            headers = getattr(exc.response, "headers", None) or {}
            try:
                return max(backoff, float(headers.get("Retry-After", 0)))
            except ValueError:
                return backoff
        if status is None or status == 200:
            # The status poll of a long-running operation answered 200 with "Failed": the
            # operation failed, not the request, and a new attempt may well succeed.
            return backoff
    return None


def _describe(exc: BaseException) -> str:
    """One redacted line for a person: the exception type and its first message line."""
    text = str(exc).strip().splitlines()
    first = next((line.strip() for line in text if line.strip()), "")
    return redact(f"{type(exc).__name__}: {first}" if first else type(exc).__name__)


def pipelines_of(plan: Plan, keys: Iterable[str]) -> Sequence[PipelinePlan]:
    """The planned pipelines named by ``keys`` (ids or ``name version``), in plan order."""
    wanted = set(keys)
    return [
        p
        for p in plan.pipelines
        if p.pipeline_id in wanted or f"{p.pipeline_name} {p.pipeline_version}" in wanted
    ]
