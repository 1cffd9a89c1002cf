"""Read a workspace's v1 published pipelines and pipeline endpoints into typed models.

``V1Reader.published_pipelines()`` lists the pipelines, then reads every graph, graph
interface, module and data source with the asyncio client (``_aio.AsyncPipelinesClient``) on a
private event loop in a worker thread (``_loop.run_private``), so the public methods stay
synchronous and also work where an event loop already runs (Jupyter). At most ``max_workers``
requests are in flight (capped at ``MAX_IN_FLIGHT``); each distinct module and data source is
fetched once per call, however many graphs name it (concurrent askers share the one request).
Each pipeline is parsed as soon as its graph and the entities it needs have arrived.

Any failure while reading one pipeline's graph, module or data source becomes ``problems`` on
that pipeline, step or data input; every other pipeline stays complete. Only a failure of the
list call itself raises (there is nothing to show then).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, cast

from azure.core.credentials import AccessToken

from migrate_kit.errors import ServiceCallError
from migrate_kit.v1._aio import AsyncPipelinesClient
from migrate_kit.v1._calls import ClientSettings
from migrate_kit.v1._loop import relaxed_gc, run_private
from migrate_kit.v1._worker import GraphWorker, share_with_child, token_for_child
from migrate_kit.v1.cache import DATA_SOURCE, GRAPH, INTERFACE, MODULE, EntityCache
from migrate_kit.v1.client import PipelinesClient
from migrate_kit.v1.models import (
    Graph,
    GraphParameter,
    ParameterType,
    PipelineEndpoint,
    PublishedPipeline,
)
from migrate_kit.v1.parse import (
    Unavailable,
    data_source_ids,
    module_ids,
    parse_endpoint,
    parse_graph,
    parse_pipeline,
    uses_parameters,
)

__all__ = ["CHILD_MIN_PIPELINES", "MAX_IN_FLIGHT", "GraphSession", "V1Reader"]

logger = logging.getLogger(__name__)

#: Requests in flight at most, whatever ``max_workers`` says. A plan of a few hundred pipelines
#: makes about three reads per pipeline (graph, interface, modules), each a round trip of 50 to
#: 150 ms to Azure: 32 at once keep that under a few seconds, while one event loop thread still
#: parses what arrives, and a service sees a modest burst from one reader.
MAX_IN_FLIGHT = 32

#: From this many pipelines on, a bulk read shares the work with a helper process (``_worker``):
#: below it, starting one (about half a second of imports) would not pay off.
CHILD_MIN_PIPELINES = 300

#: Pipelines being read at once, per request in flight: enough to keep every connection busy
#: while some pipelines wait for a shared module, few enough to parse graphs as they arrive.
_PIPELINES_PER_REQUEST = 4


class _FetchOnce:
    """Per-call cache of one entity kind: ``load(key)`` runs at most once per key.

    ``get`` hands every asker of a key the same task, so a second asker of a key that is being
    loaded awaits the first request instead of sending another. Failures are cached too (as
    ``Unavailable``), so a broken module is asked for only once.
    """

    def __init__(self, load: Callable[[str], Awaitable[Any]], what: str) -> None:
        self._load = load
        self._what = what
        self._tasks: dict[str, asyncio.Future[Any]] = {}

    def get(self, key: str) -> asyncio.Future[Any]:
        """The task loading ``key``: its result is the value, or an ``Unavailable``."""
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(_attempt(self._load, key, f"{self._what} {key!r}"))
            self._tasks[key] = task
        return task


class _GraphReader:
    """Reads graphs (and what they name) for one call of the reader, on one async client;
    with a ``cache``, immutable entities come from it when it has them (``cache.py``)."""

    def __init__(
        self,
        client: AsyncPipelinesClient,
        *,
        parameter_types: bool = True,
        cache: EntityCache | None = None,
    ) -> None:
        self.client = client
        self.parameter_types = parameter_types
        self.get_graph = _cached(cache, GRAPH, client.get_graph)
        self.get_graph_interface = _cached(cache, INTERFACE, client.get_graph_interface)
        self.modules = _FetchOnce(_cached(cache, MODULE, client.get_module), "module")
        self.data_sources = _FetchOnce(
            _cached(cache, DATA_SOURCE, client.get_data_source), "data source"
        )

    async def with_graph(self, pipeline: PublishedPipeline) -> PublishedPipeline:
        """``pipeline`` with its graph attached; never raises (failures become ``problems``)."""
        if not pipeline.graph_id:
            return _with_problem(pipeline, "the pipeline names no GraphId; its graph was not read")
        try:
            graph = await self.read_graph(pipeline, pipeline.graph_id)
        except ServiceCallError as exc:
            return _with_problem(pipeline, f"its graph could not be read: {exc}")
        except Exception as exc:  # a parser bug must not take the whole inventory down
            logger.exception("Reading the graph of pipeline %s failed", pipeline.id)
            return _with_problem(pipeline, f"its graph could not be read ({type(exc).__name__})")
        return replace(pipeline, graph=graph)

    async def read_graph(self, pipeline: PublishedPipeline, graph_id: str) -> Graph:
        """Fetch a graph, then its interface, modules and data sources together, and parse.

        The interface is skipped when neither the pipeline nor any node mentions a pipeline
        parameter (see ``parse.uses_parameters``). Without ``parameter_types`` it is also
        skipped when the pipeline lists its parameter defaults: the parameters then come from
        those, typed ``UNKNOWN`` (one request less per pipeline, a third of an inventory's).
        """
        body = await self.get_graph(graph_id)

        uses = uses_parameters(body)
        defaults = pipeline.parameter_defaults
        if not self.parameter_types and defaults:
            wanted_interface = False
        else:
            wanted_interface = bool(defaults) or uses
        modules = module_ids(body)
        sources = data_source_ids(body)
        fetched = await asyncio.gather(
            _attempt(self.get_graph_interface, graph_id, "the graph interface")
            if wanted_interface
            else _nothing(),
            *(self.modules.get(key) for key in modules),
            *(self.data_sources.get(key) for key in sources),
        )

        interface, found = fetched[0], iter(fetched[1:])
        module_map = {key: next(found) for key in modules}
        source_map = {key: next(found) for key in sources}
        if wanted_interface or not defaults:
            return parse_graph(body, interface, module_map, source_map)
        return _graph_from_defaults(body, defaults, module_map, source_map)


class V1Reader:
    """Builds ``PublishedPipeline`` and ``PipelineEndpoint`` models from a ``PipelinesClient``.

    ``max_workers`` bounds the requests in flight during bulk reads (at most ``MAX_IN_FLIGHT``).
    ``cache`` keeps the immutable entities (graphs, interfaces, modules, data sources and code
    snapshots) between runs (:class:`~migrate_kit.v1.cache.EntityCache`); the lists are always
    read from the service.
    """

    def __init__(
        self, client: PipelinesClient, *, max_workers: int = 32, cache: EntityCache | None = None
    ) -> None:
        self.client = client
        self.max_workers = max(1, max_workers)
        self.cache = cache

    def published_pipelines(
        self,
        *,
        include_graphs: bool = True,
        active_only: bool = False,
        parameter_types: bool = True,
        processes: int | None = None,
    ) -> list[PublishedPipeline]:
        """Return every published pipeline, with its graph unless ``include_graphs`` is False.

        ``active_only=False`` (the default) also returns disabled and deprecated pipelines, so
        an inventory shows them. ``parameter_types=False`` skips the graph interface of every
        pipeline that lists its parameter defaults: parameters then have type ``UNKNOWN``
        (``published_pipeline`` always reads the types). ``processes=2`` shares the graph
        reads with a helper process (``_worker.py``), 1 reads in this process only; None
        decides by size (a helper from ``CHILD_MIN_PIPELINES`` pipelines on a multi-core
        machine). The order is the service's.
        """
        if not include_graphs:
            rows = self.client.list_pipelines(active_only=active_only)
            return [parse_pipeline(row) for row in rows]
        with relaxed_gc():
            return run_private(lambda: self._read_all(active_only, parameter_types, processes))

    def with_graphs(self, pipelines: Sequence[PublishedPipeline]) -> list[PublishedPipeline]:
        """``pipelines`` (as listed) with their graphs and parameter types, read concurrently."""

        async def read() -> list[PublishedPipeline]:
            settings = self.client.settings
            async with GraphSession(settings, self.in_flight, True, self.cache) as session:
                return await session.read_all(list(pipelines))

        with relaxed_gc():
            return run_private(read)

    def published_pipeline(self, pipeline_id: str) -> PublishedPipeline:
        """Return one published pipeline with its graph; raises if the pipeline is missing."""
        return run_private(lambda: self._read_one(pipeline_id))

    def endpoints(self, *, active_only: bool = False) -> list[PipelineEndpoint]:
        """Return every pipeline endpoint with its versions and default version.

        The versions come inside each endpoint entity; the published pipelines they point at
        are read by ``published_pipelines``.
        """
        return [parse_endpoint(row) for row in self.client.list_endpoints(active_only=active_only)]

    @property
    def in_flight(self) -> int:
        """Requests in flight at most during bulk reads."""
        return min(self.max_workers, MAX_IN_FLIGHT)

    async def _read_all(
        self, active_only: bool, parameter_types: bool, processes: int | None
    ) -> list[PublishedPipeline]:
        """List the pipelines, then read their graphs with a bounded set of workers (and, for
        a large workspace, a second process: ``_worker.py``)."""
        settings = self.client.settings
        async with GraphSession(settings, self.in_flight, parameter_types, self.cache) as session:
            rows = await session.client.list_pipelines(active_only=active_only)
            pipelines = [parse_pipeline(row) for row in rows]
            pending: Iterator[int] = iter(range(len(pipelines)))

            def take(count: int) -> list[int]:
                return list(itertools.islice(pending, count))

            helpers = []
            # The helper process reads without the cache (one process writes it): with a cache,
            # the parent reads alone, which a rerun, mostly served by the cache, does not notice.
            if self.cache is None and _use_child(processes, len(pipelines)):
                token = await _token(settings)
                if token is not None:
                    helpers.append(
                        share_with_child(
                            lambda: GraphWorker.start(
                                settings,
                                token,
                                parameter_types=parameter_types,
                                in_flight=self.in_flight,
                            ),
                            take,
                            pipelines,
                        )
                    )
            left = await _all_or_none(session.read_from(pending, pipelines), helpers)
            for chunk in left:  # what a failed child did not finish
                if chunk:
                    await session.read_from(iter(chunk), pipelines)
            return pipelines

    async def _read_one(self, pipeline_id: str) -> PublishedPipeline:
        """Read one pipeline (raising if it is missing), then its graph."""
        async with GraphSession(self.client.settings, self.in_flight, True, self.cache) as session:
            pipeline = parse_pipeline(await session.client.get_pipeline(pipeline_id))
            return await session.graphs.with_graph(pipeline)


class GraphSession:
    """An async client plus a graph reader (with its module cache), for one bulk read.

    Used by ``V1Reader`` and by the reader's helper process (``_worker.py``).
    """

    def __init__(
        self,
        settings: ClientSettings,
        in_flight: int,
        parameter_types: bool,
        cache: EntityCache | None = None,
    ) -> None:
        self.client = AsyncPipelinesClient(settings, limit=in_flight)
        self.graphs = _GraphReader(self.client, parameter_types=parameter_types, cache=cache)
        self.in_flight = in_flight

    async def __aenter__(self) -> GraphSession:
        await self.client.__aenter__()
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.client.close()

    async def read_from(self, pending: Iterator[int], pipelines: list[PublishedPipeline]) -> None:
        """Attach graphs to ``pipelines[i]`` for every index ``pending`` yields (shared with
        other readers of the same iterator)."""

        async def work() -> None:
            for index in pending:  # shared iterator: each pipeline goes to one worker
                pipelines[index] = await self.graphs.with_graph(pipelines[index])

        workers = min(len(pipelines), self.in_flight * _PIPELINES_PER_REQUEST)
        await asyncio.gather(*(work() for _ in range(workers)))

    async def read_all(self, pipelines: list[PublishedPipeline]) -> list[PublishedPipeline]:
        """``pipelines`` with their graphs."""
        result = list(pipelines)
        await self.read_from(iter(range(len(result))), result)
        return result


async def _all_or_none(
    own: Coroutine[Any, Any, None], helpers: list[Coroutine[Any, Any, list[int]]]
) -> list[list[int]]:
    """Run the parent's reads and the helpers' together; if one fails, cancel the others
    (they share one client, which is closed right after) and re-raise."""
    tasks = [asyncio.ensure_future(own), *(asyncio.ensure_future(h) for h in helpers)]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return [cast(list[int], task.result()) for task in tasks[1:]]


def _use_child(processes: int | None, count: int) -> bool:
    """Whether to read with a helper process (``processes``: None = decide by size)."""
    if processes is not None:
        return processes > 1 and count > 0
    return count >= CHILD_MIN_PIPELINES and (os.cpu_count() or 1) > 1


async def _token(settings: ClientSettings) -> AccessToken | None:
    """An access token for the child process, or None when the credential gives none that
    lives long enough (the parent then reads alone)."""
    credential: Any = settings.credential
    try:
        if asyncio.iscoroutinefunction(credential.get_token):
            token = await credential.get_token(settings.scope)
        else:
            token = await asyncio.to_thread(credential.get_token, settings.scope)
    except Exception as exc:  # the parent's own requests will report a credential problem
        logger.debug("No token for the reader process: %s", type(exc).__name__)
        return None
    if not isinstance(token, AccessToken) or not token_for_child(token):
        return None
    return token


def _cached(
    cache: EntityCache | None, kind: str, load: Callable[[str], Awaitable[Any]]
) -> Callable[[str], Awaitable[Any]]:
    """``load``, answered from ``cache`` when it holds ``(kind, key)``; what it loads is kept."""
    if cache is None:
        return load

    async def get(key: str) -> Any:
        value = cache.get(kind, key)
        if value is None:
            value = await load(key)
            cache.put(kind, key, value)
        return value

    return get


async def _attempt(load: Callable[[str], Awaitable[Any]], key: str, what: str) -> Any:
    """Await ``load(key)``; a service error (or a bad body) gives an ``Unavailable`` instead."""
    try:
        return await load(key)
    except ServiceCallError as exc:
        logger.debug("Could not read %s: %s", what, exc)
        return Unavailable(str(exc))
    except Exception as exc:
        logger.exception("Reading %s failed unexpectedly", what)
        return Unavailable(f"unexpected {type(exc).__name__} while reading it")


def _graph_from_defaults(
    body: Any,
    defaults: Mapping[str, str],
    modules: Mapping[str, Any],
    data_sources: Mapping[str, Any],
) -> Graph:
    """Parse a graph whose parameters come from the pipeline's ``ParameterAssignments``.

    Data path parameters are assigned as ``"<datastore>/<path>"`` there (inferred from the
    service's behaviour, unconfirmed), which is turned back into their interface default; the
    other parameters become ``UNKNOWN``-typed graph parameters with their defaults.
    """
    datapath_names = {
        str(node.get("DataPathParameterName"))
        for node in (body.get("DatasetNodes") or [])
        if isinstance(node, Mapping) and node.get("DataPathParameterName")
    }
    interface = {
        "DataPathParameters": [
            {"Name": name, "DefaultValue": _datapath_default(defaults[name])}
            for name in datapath_names
            if name in defaults
        ]
    }
    graph = parse_graph(body, interface, modules, data_sources)
    parameters = tuple(
        GraphParameter(name=name, type=ParameterType.UNKNOWN, default=value)
        for name, value in defaults.items()
        if name not in datapath_names
    )
    return replace(graph, parameters=parameters)


def _datapath_default(assigned: str) -> dict[str, str]:
    datastore, _, path = assigned.partition("/")
    return {"DataStoreName": datastore, "RelativePath": path}


async def _nothing() -> Any:
    """Stands in for the interface when it is not needed: an empty interface."""
    return {}


def _with_problem(pipeline: PublishedPipeline, problem: str) -> PublishedPipeline:
    """Return ``pipeline`` with one more problem."""
    return replace(pipeline, problems=(*pipeline.problems, problem))
