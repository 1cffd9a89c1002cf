"""``migrate-kit migrate|report|rollback`` run as a user runs them: real processes, a private
emulator (module scope, reset per test) reached through its connection file's env only."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from migrate_kit import connect
from migrate_kit.emulator import Emulator
from migrate_kit.inventory import inventory

MIGRATE_KIT = str(Path(sys.executable).parent / "migrate-kit")


@pytest.fixture
def emu(private_emu: Emulator) -> Emulator:
    return private_emu


@pytest.fixture
def env(emu: Emulator, tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        **emu.connection["env"],
    }


def run(
    emu: Emulator, env: dict[str, str], cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    command = [MIGRATE_KIT, *args]
    if args[0] in ("migrate", "rollback", "test"):
        command += ["--connection-file", str(emu.connection_file)]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_migrate_rerun_report_and_rollback(
    emu: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    v1_before = inventory(connect(connection_file=emu.connection_file))

    first = run(emu, env, tmp_path, "migrate", "--all", "--concurrency", "3")
    again = run(emu, env, tmp_path, "migrate", "--all")

    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr + first.stdout
    assert "11 migrated" in first.stdout and "2 blocked" in first.stdout
    assert "databricks" in first.stdout.lower()
    assert again.returncode == 0, again.stderr
    assert "11 unchanged" in again.stdout
    assert (tmp_path / "migration" / "ledger.sqlite").is_file()

    report = run(emu, env, tmp_path, "report")
    assert report.returncode == 0, report.stderr
    folder = tmp_path / "migration" / "report"
    assert sorted(p.name for p in folder.iterdir()) == [
        "callers.md",
        *(f"migration-report.{fmt}" for fmt in ("csv", "html", "json", "md", "xlsx")),
    ]
    callers = (folder / "callers.md").read_text(encoding="utf-8")
    # every v2 endpoint of a migrated pipeline has its callers' section: old URL, new URI
    for name in ("weekly-demand-forecast", "store-replenishment-endpoint", "price-elasticity"):
        assert f"/batchEndpoints/{name}" in callers or f"{name}." in callers, name
    assert "PipelineEndpointSubmit" in callers and "PipelineSubmit" in callers
    assert "(was v1 endpoint weekly-demand-forecast)" in callers
    assert "(was v1 published pipeline zurich_store_forecast)" in callers
    assert "invoke" in callers
    with (folder / "migration-report.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 13
    assert sorted({r["status"] for r in rows}) == ["blocked", "migrated"]
    weekly = [r for r in rows if r["v2_endpoint"] == "weekly-demand-forecast"]
    assert sorted(r["deployment"] for r in weekly) == ["version-0", "version-1", "version-2"]
    assert [r["is_default"] for r in weekly if r["deployment"] == "version-1"] == ["True"]
    blocked = {r["pipeline_name"]: r["blocking_reason"] for r in rows if r["status"] == "blocked"}
    assert set(blocked) == {"sales-export-to-lake", "spark-feature-engineering"}
    assert all(blocked.values())

    back = run(emu, env, tmp_path, "rollback")
    assert back.returncode == 0, back.stderr + back.stdout
    assert "8 removed" in back.stdout and "0 kept" in back.stdout, back.stdout
    ml = connect(connection_file=emu.connection_file).ml_client()
    assert list(ml.batch_endpoints.list()) == []
    archived = [c for c in ml.components.list() if c.name.startswith("weekly_demand")]
    assert archived == []  # archived versions are hidden from lists
    v1_after = inventory(connect(connection_file=emu.connection_file))
    assert v1_after[["pipeline_id", "status"]].equals(v1_before[["pipeline_id", "status"]])

    redo = run(emu, env, tmp_path, "migrate", "--all")
    assert redo.returncode == 0, redo.stderr
    assert "11 migrated" in redo.stdout  # the rollback reset the ledger's stages


def test_test_with_parity_then_the_report_says_verified(
    emu: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    assert run(emu, env, tmp_path, "migrate", "--select", "weekly*").returncode == 0
    body = tmp_path / "body.json"  # a v1 caller's request body, as it was sent
    body.write_text(json.dumps({"ExperimentName": "x", "ParameterAssignments": {"window": 5}}))

    tested = run(
        emu, env, tmp_path, "test", "--select", "weekly-demand-forecast 1.1", "--parity",
        "--assignments", str(body),
    )  # fmt: skip
    wrong = run(emu, env, tmp_path, "test", "--select", "weekly*", "--assign", "nope=1")
    assert run(emu, env, tmp_path, "report", "--format", "csv").returncode == 0

    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "passed" in tested.stdout and "parity: match" in tested.stdout
    assert wrong.returncode == 2 and "has no parameter 'nope'" in wrong.stderr
    with (tmp_path / "migration" / "report" / "migration-report.csv").open() as handle:
        rows = {r["v1_version"]: r for r in csv.DictReader(handle)}
    assert rows["1.1"]["status"] == "verified" and rows["1.1"]["parity"] == "match"
    assert rows["1.1"]["job_status"] == "Completed" and rows["1.1"]["job_name"]
    assert rows["1.0"]["status"] == "migrated"


def test_disable_v1_after_verify_disables_only_the_verified_and_rollback_enables_it(
    emu: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    v1 = connect(connection_file=emu.connection_file).v1_client()
    weekly = {
        p["Version"]: p["Id"] for p in v1.list_pipelines() if p["Name"] == "weekly-demand-forecast"
    }
    assert run(emu, env, tmp_path, "migrate", "--select", "weekly*").returncode == 0

    tested = run(
        emu, env, tmp_path, "test", "--select", "weekly-demand-forecast 1.1", "--parity",
        "--disable-v1-after-verify",
    )  # fmt: skip
    after_test = {v: v1.get_pipeline(i)["EntityStatus"] for v, i in weekly.items()}
    rolled = run(emu, env, tmp_path, "rollback")
    after_rollback = {v: v1.get_pipeline(i)["EntityStatus"] for v, i in weekly.items()}

    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "parity: match" in tested.stdout
    assert after_test["1.1"] in ("Disabled", 2, "2")
    assert all(s in ("Active", 0, "0") for v, s in after_test.items() if v != "1.1")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert f"v1 pipeline {weekly['1.1']} disabled" in rolled.stdout
    assert all(s in ("Active", 0, "0") for s in after_rollback.values())


def test_a_failed_pipeline_makes_exit_status_1(
    emu: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    emu.inject_fault(
        method="PUT",
        path="/batchEndpoints/zurich-store-forecast/deployments/",
        status=400,
        count=None,
        body={"error": {"code": "BadArgument", "message": "the compute is not there"}},
    )
    result = run(emu, env, tmp_path, "migrate", "--select", "zurich*", "--select", "weekly*")

    assert result.returncode == 1
    assert "the compute is not there" in result.stdout
    assert "Traceback" not in result.stderr
    assert "1 failed" in result.stdout and "3 migrated" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["migrate"], "--select NAME|ID|GLOB, or --all"),
        (["migrate", "--all", "--select", "x"], "not both"),
        (["migrate", "--select", "no-such-pipeline*"], "matched no published pipeline"),
        (["report", "--ledger", "nowhere.sqlite"], "no ledger at nowhere.sqlite"),
        (["rollback", "--ledger", "nowhere.sqlite"], "no ledger at nowhere.sqlite"),
        (["test", "--all", "--disable-v1-after-verify"], "add --parity"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    emu: Emulator, env: dict[str, str], tmp_path: Path, args: list[str], message: str
) -> None:
    result = run(emu, env, tmp_path, *args)

    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in result.stderr


def test_no_token_or_signature_reaches_any_file_written(
    emu: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    # Faults put service error text (with request URLs) into the ledger too.
    emu.inject_fault(method="PUT", path="/deployments/", status=409, count=2)
    assert run(emu, env, tmp_path, "migrate", "--all").returncode in (0, 1)
    assert run(emu, env, tmp_path, "report").returncode == 0
    token = _emulator_token(emu)

    written = [p for p in (tmp_path / "migration").rglob("*") if p.is_file()]
    assert len(written) > 20
    for path in written:
        data = path.read_bytes()
        assert token.encode() not in data, path
        assert b"sig=" not in data, path
        assert b"eyJ" not in data or path.suffix in (".py", ".csv"), path


def _emulator_token(emu: Emulator) -> str:
    import requests

    env = emu.connection["env"]
    with requests.Session() as session:
        session.trust_env = False
        answer = session.get(
            env["IDENTITY_ENDPOINT"],
            params={"api-version": "2019-08-01", "resource": "https://management.azure.com"},
            headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]},
            verify=emu.connection["ca_bundle"],
            timeout=10,
        )
    token: str = json.loads(answer.text)["access_token"]
    return token
