"""The ``test`` and ``parity`` stages: run each migrated deployment, and compare it with v1.

:func:`test_deployments` takes every selected pipeline of a plan whose ``deploy`` stage is done
in the ledger and

1. builds its invoke inputs from the plan's ``invoke_inputs``: v1's defaults, overlaid with the
   caller's ``assignments`` by v1 name, as v1's ``ParameterAssignments`` takes them
   (``values.py``);
2. invokes the deployment, always naming it, and waits for the job; stage ``test`` records the
   job name, status, duration, logs location and studio URL, and a failed job's error;
3. with ``parity=True``, also submits the v1 published pipeline (or the endpoint version it
   was) with the same values, waits for both runs, downloads every step output of each and
   compares file names and SHA-256 digests (``outputs.py``); stage ``parity`` is ``done`` for a
   match, ``failed`` for a mismatch (a short diff: which files differ, the first differing line
   of small text files) or when a run did not finish; its detail's ``result`` says which.

The same code serves the local emulator and a real workspace. A rerun tests again: a test is
never skipped because an earlier one passed.

Modules: ``model`` (outcomes), ``values`` (selection, invoke values), ``runs`` (one pipeline's
runs and its ledger stages), ``outputs`` (downloading and comparing outputs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrate_kit.engine import Progress
from migrate_kit.errors import ConfigurationError, MigrateKitError
from migrate_kit.ledger import V1_DISABLED, Ledger
from migrate_kit.verify.model import (
    ERROR,
    FAILED,
    MATCH,
    MISMATCH,
    PASSED,
    SKIPPED,
    ParityResult,
    TestOutcome,
)
from migrate_kit.verify.runs import Tester
from migrate_kit.verify.values import resolve_values, select_planned

if TYPE_CHECKING:
    from migrate_kit.convert.model import Plan
    from migrate_kit.v1.client import PipelinesClient

__all__ = [
    "DEFAULT_EXPERIMENT",
    "DEFAULT_TIMEOUT_S",
    "ERROR",
    "FAILED",
    "MATCH",
    "MISMATCH",
    "PASSED",
    "SKIPPED",
    "V1_DISABLED",
    "ParityResult",
    "TestOutcome",
    "test_deployments",
]

logger = logging.getLogger(__name__)

#: Seconds one pipeline's runs may take, from its invoke to the end of both runs.
DEFAULT_TIMEOUT_S = 3600.0
#: The experiment the test jobs, and v1's parity runs, are filed under.
DEFAULT_EXPERIMENT = "migrate-kit-test"


def test_deployments(
    plan: Plan,
    ml_client: Any,
    ledger: Ledger,
    *,
    select: Iterable[str] | None = None,
    assignments: Mapping[str, Any] | None = None,
    parity: bool = False,
    v1_client: PipelinesClient | None = None,
    v1_assignments: Mapping[str, Any] | None = None,
    concurrency: int = 4,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    poll_s: float = 10.0,
    experiment_name: str = DEFAULT_EXPERIMENT,
    work_dir: Path | None = None,
    workspace: str = "",
    progress: Callable[[Progress], None] | None = None,
    disable_v1_after_verify: bool = False,
) -> list[TestOutcome]:
    """Invoke every selected, deployed pipeline of ``plan`` and wait for its job; one outcome
    per selected pipeline, in plan order. Nothing is raised for a pipeline that fails.

    ``ml_client`` is an azure-ai-ml ``MLClient`` or a function that makes one (then each worker
    thread gets its own). ``select`` narrows the plan: v1 ids, or globs on the pipeline's name,
    its ``name version``, or its v1 or v2 endpoint name. ``assignments`` are by v1 name, as v1's
    ``ParameterAssignments`` (``{"window": "5"}``; a DataPath as ``{"DataStoreName",
    "RelativePath"}``, ``"<datastore>/<path>"`` or an ``azureml://`` URI); each must name an
    input of every selected pipeline, else a :class:`ConfigurationError` names them and the
    known ones before anything runs.

    ``parity=True`` also runs each v1 pipeline through ``v1_client``
    (``connection.v1_client()``) with ``v1_assignments`` (default: ``assignments``) and
    compares the outputs. ``work_dir`` keeps the downloaded outputs
    (``<pipeline folder>/parity/<v2 job>/{v1,v2}/<node>/...``); without it they go to a
    temporary folder. At most ``concurrency`` pipelines run at once, each for at most
    ``timeout_s`` seconds; statuses are read every ``poll_s`` seconds at most (more often at
    first). ``progress`` gets an ``engine.Progress`` whenever a run's status changes (``done``
    unchanged) and when a pipeline ends (``status``: passed, failed or skipped).

    ``disable_v1_after_verify=True`` (with ``parity=True`` only) disables each v1 published
    pipeline whose v2 job matched it output for output, so v1 callers stop using it; a v1
    pipeline that was already disabled is left alone. Each one disabled is recorded in the
    ledger (kind ``v1_pipeline_disabled``), and :func:`~migrate_kit.rollback.rollback` enables
    it again. Nothing else ever disables or deletes a v1 asset.
    """
    if concurrency < 1:
        raise MigrateKitError(f"concurrency must be at least 1, not {concurrency}")
    if parity and v1_client is None:
        raise ConfigurationError(
            "parity=True runs the v1 pipelines too: pass v1_client=connection.v1_client()"
        )
    if disable_v1_after_verify and not parity:
        raise ConfigurationError(
            "disable_v1_after_verify disables a v1 pipeline only once its outputs are verified: "
            "it needs parity=True (on the command line: --parity --disable-v1-after-verify)"
        )
    patterns = list(select or ())
    chosen = select_planned(plan, patterns)
    v2_given = dict(assignments or {})
    v1_given = dict(v1_assignments if v1_assignments is not None else v2_given)
    values = resolve_values([p for _, p in chosen], v2_given, v1_given if parity else None)

    options = {
        "parity": parity,
        "select": patterns,
        "assignments": sorted(v2_given),
        "v1_assignments": sorted(v1_given) if parity else [],
        "concurrency": concurrency,
        "timeout_s": timeout_s,
        "disable_v1_after_verify": disable_v1_after_verify,
    }
    migration_id = ledger.start("test", workspace, options)
    tester = Tester(
        ml_client,
        v1_client if parity else None,
        ledger,
        migration_id,
        total=len(chosen),
        timeout_s=timeout_s,
        poll_s=poll_s,
        experiment_name=experiment_name,
        work_dir=work_dir,
        progress=progress,
    )
    status = "interrupted"
    try:
        with ThreadPoolExecutor(concurrency, thread_name_prefix="test") as pool:
            runs = [
                pool.submit(tester.pipeline, endpoint, pipeline, values.get(pipeline.pipeline_id))
                for endpoint, pipeline in chosen
            ]
            outcomes = [run.result() for run in runs]
        if disable_v1_after_verify:
            assert v1_client is not None
            for outcome in outcomes:
                if outcome.ok and outcome.parity is not None:
                    _disable_v1(v1_client, ledger, migration_id, outcome)
        status = "succeeded" if all(o.ok or o.status == SKIPPED for o in outcomes) else "failed"
        return outcomes
    finally:
        ledger.finish(migration_id, status)


def _disable_v1(
    v1_client: PipelinesClient, ledger: Ledger, migration_id: str, outcome: TestOutcome
) -> None:
    """Disable the verified v1 pipeline of ``outcome`` (if it is active), recorded before the
    write so that a crash between the two still leaves rollback something to enable."""
    from migrate_kit.v1.models import EntityStatus
    from migrate_kit.v1.parse import parse_entity_status

    pipeline_id = outcome.pipeline_id
    try:
        wire = v1_client.get_pipeline(pipeline_id).get("EntityStatus")
        status = parse_entity_status(wire, [])
        if status is not EntityStatus.ACTIVE:
            logger.info("v1 pipeline %s is %s already: left as it is", outcome.label, status.value)
            return
        ledger.record_asset(
            migration_id, pipeline_id, V1_DISABLED, pipeline_id,
            version=outcome.pipeline_version, created=True,
        )  # fmt: skip
        v1_client.set_pipeline_status(pipeline_id, "Disabled")
        logger.info("disabled v1 pipeline %s after its outputs matched", outcome.label)
    except MigrateKitError as exc:
        logger.warning("could not disable v1 pipeline %s: %s", outcome.label, exc)


# A library function named like a test: pytest must not collect it where it is imported.
test_deployments.__test__ = False  # type: ignore[attr-defined]
