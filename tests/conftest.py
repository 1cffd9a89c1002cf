"""Session fixtures: one emulator for the whole run, seeded from the repository's sample.

- ``emulator``: the running ``Emulator`` (session scope), state in a temporary folder;
- ``connection_file``: the path of its connection file (what a user would pass to the kit);
- ``emu``: the same emulator for one test, with faults and the request log cleared before and
  faults cleared after, so a test sees only its own traffic;
- ``http``: a ``requests`` session that trusts the emulator's CA (no token attached);
- ``clean_env``: the environment for a subprocess that should reach the emulator exactly as a
  user's would: a minimal base plus the connection file's ``env`` map;
- ``connection``: a ``migrate_kit.Connection`` to the workspace under test: the emulator, or,
  with ``MIGRATE_KIT_LIVE=1``, the real workspace of the ``config.json`` found upward. In live
  mode only tests marked ``live`` run (they assert what holds for any workspace);
- ``private_emulator``: an emulator of the test module's own (module scope), for tests that
  write much to the v2 side; ``private_emu`` is the same, reset to the sample before each test
  and without faults after it; ``private_conn`` a ``Connection`` to it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from migrate_kit import Connection, connect
from migrate_kit.emulator import DEFAULT_SAMPLE, Emulator

LIVE = os.environ.get("MIGRATE_KIT_LIVE") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not LIVE:
        return
    skip = pytest.mark.skip(reason="MIGRATE_KIT_LIVE=1 runs only the tests marked live")
    for item in items:
        if "live" not in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def connection(request: pytest.FixtureRequest) -> Connection:
    if LIVE:
        return connect()
    emulator: Emulator = request.getfixturevalue("emulator")
    return connect(connection_file=emulator.connection_file)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    state = tmp_path_factory.mktemp("emulator-state")
    with Emulator(
        state_dir=state, sample=DEFAULT_SAMPLE, connection_file=state / "connection.json"
    ) as emu:
        yield emu


@pytest.fixture(scope="module")
def private_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    state = tmp_path_factory.mktemp("private-emulator")
    with Emulator(
        state_dir=state, sample=DEFAULT_SAMPLE, connection_file=state / "connection.json"
    ) as emu:
        logging.getLogger("azure").setLevel(logging.ERROR)  # the SDK logs expected 404s
        yield emu


@pytest.fixture
def private_emu(private_emulator: Emulator) -> Iterator[Emulator]:
    private_emulator.reset()
    yield private_emulator
    private_emulator.set_fault_settings()
    private_emulator.clear_faults()


@pytest.fixture
def private_conn(private_emu: Emulator) -> Connection:
    assert private_emu.connection_file is not None
    return connect(connection_file=private_emu.connection_file)


@pytest.fixture(scope="session")
def connection_file(emulator: Emulator) -> Path:
    assert emulator.connection_file is not None
    return emulator.connection_file


@pytest.fixture
def emu(emulator: Emulator) -> Iterator[Emulator]:
    emulator.clear_faults()
    emulator.clear_request_log()
    yield emulator
    emulator.clear_faults()


@pytest.fixture(scope="session")
def http(emulator: Emulator) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # the environment may name another CA bundle or a proxy
        session.verify = emulator.connection["ca_bundle"]
        yield session


@pytest.fixture
def clean_env(emulator: Emulator, tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    env.update(emulator.connection["env"])
    return env
