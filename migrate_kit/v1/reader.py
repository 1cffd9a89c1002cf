"""Read a workspace's v1 published pipelines and pipeline endpoints into typed models.

``V1Reader.published_pipelines()`` lists the pipelines, then reads every graph and graph
interface concurrently (a thread pool of ``max_workers``), fetching each distinct module and
data source only once per call. Any failure while reading one pipeline's graph, module or data
source becomes ``problems`` on that pipeline, step or data input; every other pipeline stays
complete. Only a failure of the list call itself raises (there is nothing to show then).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Generic, TypeVar

from migrate_kit.errors import ServiceCallError
from migrate_kit.v1.client import PipelinesClient
from migrate_kit.v1.models import Graph, PipelineEndpoint, PublishedPipeline
from migrate_kit.v1.parse import (
    Unavailable,
    data_source_ids,
    module_ids,
    parse_endpoint,
    parse_graph,
    parse_pipeline,
    uses_parameters,
)

__all__ = ["V1Reader"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class _FetchOnce(Generic[T]):
    """A thread-safe cache that runs ``load(key)`` at most once per key.

    A second thread asking for a key that is being loaded waits for the first one's result.
    Failures are cached too (as ``Unavailable``), so a broken module is asked for only once.
    """

    def __init__(self, load: Callable[[str], T], what: str) -> None:
        self._load = load
        self._what = what
        self._lock = threading.Lock()
        self._futures: dict[str, Future[T | Unavailable]] = {}

    def get(self, key: str) -> T | Unavailable:
        """Return the loaded value of ``key`` or an ``Unavailable`` saying why it is missing."""
        with self._lock:
            future = self._futures.get(key)
            owner = future is None
            if future is None:
                future = self._futures[key] = Future()
        if owner:
            try:
                future.set_result(_attempt(self._load, key, f"{self._what} {key!r}"))
            except BaseException as exc:  # e.g. KeyboardInterrupt: waiting threads must not hang
                future.set_exception(exc)
                raise
        return future.result()


class V1Reader:
    """Builds ``PublishedPipeline`` and ``PipelineEndpoint`` models from a ``PipelinesClient``."""

    def __init__(self, client: PipelinesClient, *, max_workers: int = 16) -> None:
        self.client = client
        self.max_workers = max(1, max_workers)

    def published_pipelines(
        self, *, include_graphs: bool = True, active_only: bool = False
    ) -> list[PublishedPipeline]:
        """Return every published pipeline, with its graph unless ``include_graphs`` is False.

        ``active_only=False`` (the default) also returns disabled and deprecated pipelines, so
        an inventory shows them. The order is the service's.
        """
        rows = self.client.list_pipelines(active_only=active_only)
        pipelines = [parse_pipeline(row) for row in rows]
        if not include_graphs or not pipelines:
            return pipelines

        fetchers = self._fetchers()
        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="v1-reader") as pool:
            return list(pool.map(lambda p: self._with_graph(p, *fetchers), pipelines))

    def published_pipeline(self, pipeline_id: str) -> PublishedPipeline:
        """Return one published pipeline with its graph; raises if the pipeline is missing."""
        pipeline = parse_pipeline(self.client.get_pipeline(pipeline_id))
        return self._with_graph(pipeline, *self._fetchers())

    def endpoints(self, *, active_only: bool = False) -> list[PipelineEndpoint]:
        """Return every pipeline endpoint with its versions and default version.

        The versions come inside each endpoint entity; the published pipelines they point at
        are read by ``published_pipelines``.
        """
        return [parse_endpoint(row) for row in self.client.list_endpoints(active_only=active_only)]

    def _fetchers(self) -> tuple[_FetchOnce[Any], _FetchOnce[Any]]:
        """Fresh per-call caches of modules and data sources."""
        return (
            _FetchOnce(self.client.get_module, "module"),
            _FetchOnce(self.client.get_data_source, "data source"),
        )

    def _with_graph(
        self,
        pipeline: PublishedPipeline,
        modules: _FetchOnce[Any],
        data_sources: _FetchOnce[Any],
    ) -> PublishedPipeline:
        """Attach the graph of ``pipeline``; never raises (failures become ``problems``)."""
        if not pipeline.graph_id:
            return _with_problem(pipeline, "the pipeline names no GraphId; its graph was not read")
        try:
            graph = self._read_graph(pipeline, pipeline.graph_id, modules, data_sources)
        except ServiceCallError as exc:
            return _with_problem(pipeline, f"its graph could not be read: {exc}")
        except Exception as exc:  # a parser bug must not take the whole inventory down
            logger.exception("Reading the graph of pipeline %s failed", pipeline.id)
            return _with_problem(pipeline, f"its graph could not be read ({type(exc).__name__})")
        return replace(pipeline, graph=graph)

    def _read_graph(
        self,
        pipeline: PublishedPipeline,
        graph_id: str,
        modules: _FetchOnce[Any],
        data_sources: _FetchOnce[Any],
    ) -> Graph:
        """Fetch a graph, its interface, modules and data sources, then parse them together.

        The interface is skipped when neither the pipeline nor any node mentions a pipeline
        parameter (see ``parse.uses_parameters``).
        """
        body = self.client.get_graph(graph_id)
        interface: Any = {}
        if pipeline.parameter_defaults or uses_parameters(body):
            interface = _attempt(self.client.get_graph_interface, graph_id, "the graph interface")
        module_map = {key: modules.get(key) for key in module_ids(body)}
        source_map = {key: data_sources.get(key) for key in data_source_ids(body)}
        return parse_graph(body, interface, module_map, source_map)


def _attempt(load: Callable[[str], T], key: str, what: str) -> T | Unavailable:
    """Call ``load(key)``; a service error (or a bad body) gives an ``Unavailable`` instead."""
    try:
        return load(key)
    except ServiceCallError as exc:
        logger.debug("Could not read %s: %s", what, exc)
        return Unavailable(str(exc))
    except Exception as exc:
        logger.exception("Reading %s failed unexpectedly", what)
        return Unavailable(f"unexpected {type(exc).__name__} while reading it")


def _with_problem(pipeline: PublishedPipeline, problem: str) -> PublishedPipeline:
    """Return ``pipeline`` with one more problem."""
    return replace(pipeline, problems=(*pipeline.problems, problem))
