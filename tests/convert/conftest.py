"""Fixtures of the converter tests: the sample workspace's plan, read once over real HTTPS.

- ``sample_plan``: ``plan(connection, all=True)`` against the session's emulator;
- ``sample_out``: that plan written to a temporary folder (``write_plan``).

Tests of the pure parts build their models with ``convert_models.py`` instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate_kit import Connection, Plan, plan
from migrate_kit.convert import write_plan


@pytest.fixture(scope="session")
def sample_plan(connection: Connection) -> Plan:
    return plan(connection, all=True)


@pytest.fixture(scope="session")
def sample_out(sample_plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plan")
    write_plan(sample_plan, out)
    return out
