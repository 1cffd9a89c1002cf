"""The asyncio path of the v1 reader over real HTTPS: AsyncPipelinesClient, faults, private loop."""

from __future__ import annotations

import asyncio
import copy
import gc
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest
from azure.core.credentials import AccessToken
from azure.identity import ManagedIdentityCredential
from v1_samples import GRAPH, GRAPH_ID, INTERFACE, PIPELINE, PIPELINE_ID, PREP_MODULE, PREP_NODE

from migrate_kit.emulator import Emulator
from migrate_kit.emulator.pipelines.backend import backend_for
from migrate_kit.errors import AuthenticationError, ServiceCallError, ServiceUnavailableError
from migrate_kit.v1._aio import AsyncPipelinesClient
from migrate_kit.v1.client import PipelinesClient
from migrate_kit.v1.models import PublishedPipeline
from migrate_kit.v1.reader import V1Reader

T = TypeVar("T")
GRAPH_PATH = rf"/Graphs/{GRAPH_ID}$"


def _run_async(
    client: PipelinesClient, use: Callable[[AsyncPipelinesClient], Coroutine[Any, Any, T]]
) -> T:
    async def main() -> T:
        async with AsyncPipelinesClient(client.settings, limit=4) as async_client:
            return await use(async_client)

    return asyncio.run(main())


def _statuses(emu: Emulator, fragment: str) -> list[int]:
    return [r["status"] for r in emu.request_log() if r["path"].endswith(fragment)]


def _add_pipelines(emu: Emulator, count: int) -> list[str]:
    backend = backend_for(emu.ctx)
    return [
        backend.add_published_pipeline(
            {**copy.deepcopy(PIPELINE), "Id": f"pp-{i}", "Name": f"copy-{i}"},
            {**copy.deepcopy(GRAPH), "Id": f"graph-{i}"},
            copy.deepcopy(INTERFACE),
        )
        for i in range(count)
    ]


def _by_id(pipelines: list[PublishedPipeline]) -> dict[str, PublishedPipeline]:
    return {p.id: p for p in pipelines}


# -- AsyncPipelinesClient: the same answers and errors as the sync client ----------------------


def test_async_client_reads_the_same_json(client: PipelinesClient, workspace: Emulator) -> None:
    async def read(c: AsyncPipelinesClient) -> tuple[Any, Any, Any]:
        return (
            await c.list_pipelines(),
            await c.get_graph(GRAPH_ID),
            await c.get_module(PREP_MODULE),
        )

    rows, graph, module = _run_async(client, read)

    assert rows == client.list_pipelines()
    assert graph == client.get_graph(GRAPH_ID)
    assert module["Data"]["Name"] == "prep"


def test_async_503_with_retry_after_is_retried(
    client: PipelinesClient, workspace: Emulator
) -> None:
    workspace.inject_fault(method="GET", path=GRAPH_PATH, status=503, count=1, retry_after=1)

    started = time.monotonic()
    graph = _run_async(client, lambda c: c.get_graph(GRAPH_ID))

    assert graph["Id"] == GRAPH_ID
    assert time.monotonic() - started >= 0.95  # the wait is the server's Retry-After
    assert _statuses(workspace, f"/Graphs/{GRAPH_ID}") == [503, 200]


def test_async_persistent_5xx_is_service_unavailable(
    client: PipelinesClient, workspace: Emulator
) -> None:
    workspace.inject_fault(method="GET", path=GRAPH_PATH, status=500, count=None)

    with pytest.raises(ServiceUnavailableError, match="after 1 retries"):
        _run_async(client, lambda c: c.get_graph(GRAPH_ID))

    assert _statuses(workspace, f"/Graphs/{GRAPH_ID}") == [500, 500]


def test_async_401_is_mapped_and_not_retried(client: PipelinesClient, workspace: Emulator) -> None:
    workspace.inject_fault(method="GET", path=GRAPH_PATH, status=401, count=None)

    with pytest.raises(AuthenticationError, match=r"refused the credential \(401"):
        _run_async(client, lambda c: c.get_graph(GRAPH_ID))

    assert _statuses(workspace, f"/Graphs/{GRAPH_ID}") == [401]


def test_async_malformed_json_is_a_service_call_error(
    client: PipelinesClient, workspace: Emulator
) -> None:
    workspace.inject_fault(method="GET", path=GRAPH_PATH, status=200, malformed=True)

    with pytest.raises(ServiceCallError) as caught:
        _run_async(client, lambda c: c.get_graph(GRAPH_ID))

    assert (caught.value.status, caught.value.code) == (200, "MalformedResponse")


def test_async_dropped_connection_is_retried(client: PipelinesClient, workspace: Emulator) -> None:
    workspace.inject_fault(method="GET", path=GRAPH_PATH, status=200, drop=True, count=1)

    assert _run_async(client, lambda c: c.get_graph(GRAPH_ID))["Id"] == GRAPH_ID


def test_async_credential_failure_is_an_authentication_error(
    make_client: Callable[..., PipelinesClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-emulators-secret")
    client = make_client()

    with pytest.raises(AuthenticationError, match=r"no token for https://management\.azure\.com"):
        _run_async(client, lambda c: c.get_graph(GRAPH_ID))


def test_async_log_line_per_call_without_secrets(
    client: PipelinesClient, workspace: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    workspace.inject_fault(method="GET", path=GRAPH_PATH, status=503, count=1)

    with caplog.at_level(logging.INFO, logger="migrate_kit.v1"):
        _run_async(client, lambda c: c.get_graph(GRAPH_ID))

    (line,) = [r.getMessage() for r in caplog.records if r.name.startswith("migrate_kit.v1")]
    assert f"/Graphs/{GRAPH_ID} -> 200 (" in line and "1 retries" in line
    assert "Bearer" not in caplog.text and "eyJ" not in caplog.text


# -- the reader's async path: faults stay per pipeline -------------------------------------------


def test_reader_retries_503_and_a_dropped_connection(
    client: PipelinesClient, workspace: Emulator
) -> None:
    _add_pipelines(workspace, 2)
    workspace.inject_fault(method="GET", path=r"/Graphs/graph-0$", status=503, retry_after=0.2)
    workspace.inject_fault(method="GET", path=r"/Graphs/graph-1$", status=200, drop=True)

    pipelines = V1Reader(client).published_pipelines()

    assert all(p.graph is not None and not p.problems for p in pipelines)
    assert _statuses(workspace, "/Graphs/graph-0") == [503, 200]


def test_reader_401_on_one_graph_is_that_pipelines_problem(
    client: PipelinesClient, workspace: Emulator
) -> None:
    _add_pipelines(workspace, 2)
    workspace.inject_fault(method="GET", path=r"/Graphs/graph-1$", status=401, count=None)

    pipelines = _by_id(V1Reader(client).published_pipelines())

    (problem,) = pipelines["pp-1"].problems
    assert "its graph could not be read" in problem and "refused the credential (401" in problem
    assert pipelines["pp-0"].graph is not None and pipelines["pp-0"].problems == ()


def test_reader_malformed_module_is_a_step_problem(
    client: PipelinesClient, workspace: Emulator
) -> None:
    _add_pipelines(workspace, 3)
    workspace.inject_fault(
        method="GET", path=rf"/Modules/{PREP_MODULE}$", status=200, malformed=True
    )

    pipelines = V1Reader(client).published_pipelines()

    assert len(pipelines) == 4 and all(p.problems == () for p in pipelines)
    for pipeline in pipelines:  # the module is read once, so every graph shares the failure
        steps = {s.node_id: s for s in pipeline.graph.steps}  # type: ignore[union-attr]
        assert any("not valid JSON" in p for p in steps[PREP_NODE].problems)
    assert len(_statuses(workspace, f"/Modules/{PREP_MODULE}")) == 1


def test_reader_network_failure_on_a_graph_is_a_problem(
    client: PipelinesClient, workspace: Emulator
) -> None:
    _add_pipelines(workspace, 1)
    workspace.inject_fault(method="GET", path=r"/Graphs/graph-0$", drop=True, count=None)

    pipelines = _by_id(V1Reader(client).published_pipelines())

    assert "its graph could not be read" in pipelines["pp-0"].problems[0]
    assert pipelines[PIPELINE_ID].problems == ()


def test_requests_in_flight_are_bounded(client: PipelinesClient, workspace: Emulator) -> None:
    _add_pipelines(workspace, 3)  # four graphs, each answered after 0.3 s
    workspace.inject_fault(method="GET", path=r"/Graphs/[^/]+$", status=None, delay=0.3, count=None)

    started = time.monotonic()
    V1Reader(client, max_workers=2).published_pipelines()
    two_at_a_time = time.monotonic() - started
    started = time.monotonic()
    V1Reader(client, max_workers=8).published_pipelines()
    all_at_once = time.monotonic() - started

    assert two_at_a_time >= 0.6  # two rounds of two graphs
    assert all_at_once < two_at_a_time


# -- the private event loop and the credential adapter -------------------------------------------


def test_reader_works_inside_a_running_event_loop(
    client: PipelinesClient, workspace: Emulator
) -> None:
    async def notebook_cell() -> tuple[list[PublishedPipeline], PublishedPipeline]:
        # As in a Jupyter kernel: a loop runs in this thread and the code calls the sync API.
        reader = V1Reader(client)
        return reader.published_pipelines(), reader.published_pipeline(PIPELINE_ID)

    listed, single = asyncio.run(notebook_cell())

    assert listed[0].graph is not None and single.graph is not None
    assert listed[0] == single


def test_a_sync_credential_is_asked_once_per_read(
    make_client: Callable[..., PipelinesClient], workspace: Emulator
) -> None:
    class Counting:
        def __init__(self) -> None:
            self.inner = ManagedIdentityCredential()
            self.threads: list[str] = []

        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            self.threads.append(threading.current_thread().name)
            return self.inner.get_token(*scopes, **kwargs)

    credential = Counting()
    _add_pipelines(workspace, 5)
    client = make_client(credential=credential)

    pipelines = V1Reader(client).published_pipelines()

    assert len(pipelines) == 6 and all(p.graph is not None for p in pipelines)
    assert len(credential.threads) == 1  # then cached by the bearer policy
    assert credential.threads[0] != threading.current_thread().name


def test_collector_thresholds_come_back_after_a_read(
    client: PipelinesClient, workspace: Emulator
) -> None:
    before = gc.get_threshold()

    V1Reader(client).published_pipelines()

    assert gc.get_threshold() == before
