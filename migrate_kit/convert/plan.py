"""``plan()``: read the selected v1 pipelines and turn them into a migration plan.

The only remote calls are reads of the v1 workspace (the listing, each selected pipeline's
graph) and the download of each step's code snapshot; nothing is written to the workspace. The
conversion itself is :func:`migrate_kit.convert.build.build_plan`, a pure function.

Selection (the same rules as ``migrate-kit plan --select``): a pattern selects the published
pipelines whose id equals it, or whose name, ``name version`` (``"weekly-demand-forecast 1.1"``)
or v1 endpoint's name matches it as a shell-style glob (``daily*``, ``*forecast``;
case-sensitive). A v1 endpoint selected by name brings all its versions.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from migrate_kit.convert.build import build_plan
from migrate_kit.convert.model import Plan
from migrate_kit.errors import ConfigurationError, MigrateKitError
from migrate_kit.v1.models import PipelineEndpoint, PublishedPipeline

if TYPE_CHECKING:
    from migrate_kit.connection import Connection
    from migrate_kit.v1.reader import V1Reader

__all__ = ["plan", "select_pipelines", "selects"]

logger = logging.getLogger(__name__)


def plan(
    source: Connection | V1Reader | None = None,
    *,
    select: Sequence[str] = (),
    all: bool = False,  # the option's name on the command line too
    names: Mapping[str, str] | None = None,
    active_only: bool = False,
    out: Path | str | None = None,
    cache: Path | str | None = None,
) -> Plan:
    """Plan the migration of the selected published pipelines.

    ``source`` is a :class:`~migrate_kit.connection.Connection`, a
    :class:`~migrate_kit.v1.reader.V1Reader`, or None to resolve the workspace as the command
    line does. Give ``select`` patterns (module docstring) or ``all=True``. ``names`` overrides
    target names; each key says what it renames:

    - ``endpoint:<v1 endpoint name, standalone pipeline name or planned endpoint name>``;
    - ``deployment:<v1 pipeline id>`` or ``deployment:<endpoint>/<planned deployment>``;
    - ``component:<planned component name>`` (a pipeline or a step component).

    A step component's planned name derives from its pipeline component's, so renaming a
    pipeline component renames its steps too. ``out`` also writes the plan's files there
    (:func:`~migrate_kit.convert.files.write_plan`). ``cache`` names a SQLite file that keeps
    the v1 entities that never change (graphs, modules, code snapshots) between runs
    (:mod:`migrate_kit.v1.cache`; the command line keeps it beside the ledger), so a plan after
    the first reads only the lists and what is new.

    Raises :class:`~migrate_kit.errors.ConfigurationError` when nothing is selected or an
    override is invalid; a pipeline that cannot be converted is not an error, it comes back with
    blocking findings.
    """
    reader = _reader(source, cache)
    try:
        return _plan(reader, select, all, names, active_only, out)
    finally:
        if cache is not None and reader.cache is not None:
            reader.cache.close()


def _plan(
    reader: V1Reader,
    select: Sequence[str],
    all: bool,
    names: Mapping[str, str] | None,
    active_only: bool,
    out: Path | str | None,
) -> Plan:
    if not select and not all:
        raise ConfigurationError(
            "Say which pipelines to plan: give one or more --select NAME|ID|GLOB, or --all."
        )
    endpoints = reader.endpoints(active_only=active_only)
    if all:
        # Every graph is needed: the bulk read fetches them concurrently, with their types.
        listing = reader.published_pipelines(active_only=active_only, parameter_types=True)
    else:
        listing = reader.published_pipelines(include_graphs=False, active_only=active_only)
    chosen, unmatched = select_pipelines(listing, endpoints, () if all else select)
    if not chosen:
        patterns = ", ".join(repr(p) for p in unmatched) or "the selection"
        raise ConfigurationError(
            f"{patterns} matched no published pipeline; `migrate-kit inventory` lists their "
            "names and ids."
        )
    logger.info("Planning %d of %d published pipelines", len(chosen), len(listing))

    full = chosen if all else reader.with_graphs(chosen)
    snapshots, problems = _download_snapshots(reader, full)
    result = build_plan(
        full,
        endpoints,
        listing=listing,
        snapshots=snapshots,
        snapshot_problems=problems,
        names=names,
    )
    if unmatched:
        result = Plan(
            endpoints=result.endpoints,
            problems=tuple(f"{pattern!r} matched no published pipeline" for pattern in unmatched),
        )
    if out is not None:
        from migrate_kit.convert.files import write_plan

        write_plan(result, Path(out))
    return result


def select_pipelines(
    pipelines: Sequence[PublishedPipeline],
    endpoints: Sequence[PipelineEndpoint],
    patterns: Iterable[str],
) -> tuple[list[PublishedPipeline], list[str]]:
    """The pipelines the patterns select (all when there are none), and the unmatched patterns.

    The order is the listing's.
    """
    patterns = list(patterns)
    if not patterns:
        return list(pipelines), []
    endpoint_names: dict[str, list[str]] = {}
    for endpoint in endpoints:
        for version in endpoint.versions:
            endpoint_names.setdefault(version.pipeline_id, []).append(endpoint.name)
    chosen: set[str] = set()
    unmatched: list[str] = []
    for pattern in patterns:
        hits = {
            p.id
            for p in pipelines
            if selects(pattern, p.id, p.name, p.version, endpoint_names.get(p.id, ()))
        }
        if not hits:
            unmatched.append(pattern)
        chosen |= hits
    return [p for p in pipelines if p.id in chosen], unmatched


def selects(
    pattern: str, pipeline_id: str, name: str, version: str | None, endpoints: Iterable[str] = ()
) -> bool:
    """Whether a ``--select`` pattern selects a pipeline: its id, or a shell-style glob on its
    name, its ``name version`` or the name of a v1 endpoint it is a version of."""
    return (
        pipeline_id == pattern
        or fnmatch.fnmatchcase(name, pattern)
        or fnmatch.fnmatchcase(f"{name} {version}", pattern)
        or any(fnmatch.fnmatchcase(endpoint, pattern) for endpoint in endpoints)
    )


def _reader(source: Connection | V1Reader | None, cache: Path | str | None) -> V1Reader:
    from migrate_kit.connection import Connection, connect
    from migrate_kit.v1.cache import EntityCache
    from migrate_kit.v1.reader import V1Reader

    if source is None:
        source = connect()
    reader = V1Reader(source.v1_client()) if isinstance(source, Connection) else source
    if cache is None:
        return reader
    settings = reader.client.settings
    workspace = (
        f"{settings.base_url}|{settings.subscription_id}/{settings.resource_group}/"
        f"{settings.workspace_name}"
    )
    cached = EntityCache(cache, workspace)
    return V1Reader(reader.client, max_workers=reader.max_workers, cache=cached)


def _download_snapshots(
    reader: V1Reader, pipelines: Sequence[PublishedPipeline]
) -> tuple[dict[str, bytes], dict[str, str]]:
    """Every code snapshot the pipelines' steps name, each once; failures become problems.

    Downloads run on a few threads (the client is thread-safe and pools its connections).
    """
    wanted: dict[str, str] = {}  # snapshot id -> the first step naming it, for the log
    for pipeline in pipelines:
        for step in pipeline.graph.steps if pipeline.graph else ():
            if step.snapshot is not None:
                wanted.setdefault(step.snapshot.snapshot_id, step.name)

    from migrate_kit.v1.cache import SNAPSHOT

    def fetch(snapshot_id: str) -> bytes | str:
        if reader.cache is not None:
            kept = reader.cache.get_bytes(SNAPSHOT, snapshot_id)
            if kept is not None:
                return kept
        try:
            data = reader.client.download_snapshot(snapshot_id)
        except MigrateKitError as exc:
            logger.warning("Code snapshot %s of step %r: %s", snapshot_id, wanted[snapshot_id], exc)
            return str(exc)
        if reader.cache is not None:
            reader.cache.put_bytes(SNAPSHOT, snapshot_id, data)
        return data

    snapshots: dict[str, bytes] = {}
    problems: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(16, reader.in_flight))) as pool:
        for snapshot_id, result in zip(wanted, pool.map(fetch, wanted), strict=True):
            if isinstance(result, bytes):
                snapshots[snapshot_id] = result
            else:
                problems[snapshot_id] = result
    return snapshots, problems
