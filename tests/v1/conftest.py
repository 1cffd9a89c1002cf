"""Fixtures of the v1 reader tests.

- ``pipeline_body``, ``graph_body``, ... : fresh copies of the worked-example wire bodies
  (``v1_samples.py``), so a test may edit them;
- ``v1_emulator``: an emulator of an empty workspace for the whole run;
- ``workspace``: that emulator reset to hold only the worked example, environment applied;
- ``make_client`` / ``client``: ``PipelinesClient`` objects for it (real HTTPS, real token).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.identity import ManagedIdentityCredential
from v1_samples import (
    DATA_SOURCE,
    GRAPH,
    INTERFACE,
    PIPELINE,
    PREP,
    PREP_MODULE,
    TRAIN,
    TRAIN_MODULE,
)

from migrate_kit.emulator import Emulator
from migrate_kit.emulator.pipelines.backend import backend_for
from migrate_kit.v1.client import PipelinesClient


@pytest.fixture
def pipeline_body() -> dict[str, Any]:
    return copy.deepcopy(PIPELINE)


@pytest.fixture
def graph_body() -> dict[str, Any]:
    return copy.deepcopy(GRAPH)


@pytest.fixture
def interface_body() -> dict[str, Any]:
    return copy.deepcopy(INTERFACE)


@pytest.fixture
def module_bodies() -> dict[str, Any]:
    return {PREP_MODULE: copy.deepcopy(PREP), TRAIN_MODULE: copy.deepcopy(TRAIN)}


@pytest.fixture
def data_source_body() -> dict[str, Any]:
    return copy.deepcopy(DATA_SOURCE)


# -- an empty emulated workspace, seeded per test ------------------------------------------------


@pytest.fixture(scope="session")
def v1_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """An emulator of an empty workspace (no sample), shared by the v1 reader tests."""
    with Emulator(state_dir=tmp_path_factory.mktemp("v1-emulator"), sample=None) as emu:
        yield emu


@pytest.fixture
def workspace(v1_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """The emulator, emptied, holding the worked example; faults and log cleared.

    The connection file's environment is applied (as a user's shell would), so
    ``ManagedIdentityCredential`` gets its tokens from the emulator.
    """
    v1_emulator.reset()
    for name, value in v1_emulator.connection["env"].items():
        monkeypatch.setenv(name, value)
    backend_for(v1_emulator.ctx).add_published_pipeline(
        copy.deepcopy(PIPELINE), copy.deepcopy(GRAPH), copy.deepcopy(INTERFACE), [PREP, TRAIN]
    )
    yield v1_emulator
    v1_emulator.clear_faults()


@pytest.fixture
def make_client(workspace: Emulator) -> Iterator[Callable[..., PipelinesClient]]:
    """Build ``PipelinesClient``s for the emulated workspace (closed after the test)."""
    made: list[PipelinesClient] = []

    def make(**options: Any) -> PipelinesClient:
        c = workspace.connection
        base_url = options.pop("base_url", c["pipelines_url"])
        settings: dict[str, Any] = {
            "subscription_id": c["subscription_id"],
            "resource_group": c["resource_group"],
            "workspace_name": c["workspace_name"],
            "credential": ManagedIdentityCredential(),
            "connection_verify": c["ca_bundle"],
            **options,
        }
        client = PipelinesClient(base_url, **settings)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., PipelinesClient]) -> PipelinesClient:
    """A client with quick retries (one retry, no backoff wait before it)."""
    return make_client(retry_total=1)
