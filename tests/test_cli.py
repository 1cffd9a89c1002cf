"""The migrate-kit command, run as a user runs it: a real process with the emulator's env."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from migrate_kit import Ledger
from migrate_kit.cli.demo import NOTEBOOKS
from migrate_kit.emulator import Emulator
from migrate_kit.inventory import COLUMNS

MIGRATE_KIT = str(Path(sys.executable).parent / "migrate-kit")


def run(
    args: list[str], env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MIGRATE_KIT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_inventory_json_has_every_field(connection_file: Path, clean_env: dict[str, str]) -> None:
    result = run(
        ["inventory", "--format", "json", "--connection-file", str(connection_file)], clean_env
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) >= 10
    assert all(list(row) == COLUMNS for row in rows)
    assert "Traceback" not in result.stderr


def test_inventory_csv_to_a_file(
    connection_file: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "v1.csv"
    result = run(
        [
            "inventory",
            "--format",
            "csv",
            "--output",
            str(out),
            "--connection-file",
            str(connection_file),
        ],
        clean_env,
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert set(COLUMNS) == set(rows[0])
    assert any(r["verdict"] == "blocked" and "DatabricksStep" in r["reasons"] for r in rows)
    assert f"Wrote {len(rows)} rows" in result.stderr


def test_config_json_is_found_upward(
    connection_file: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "config.json").write_text(connection_file.read_text(encoding="utf-8"))
    nested = tmp_path / "project" / "notebooks"
    nested.mkdir(parents=True)
    result = run(["inventory"], clean_env, cwd=nested)
    assert result.returncode == 0, result.stderr
    assert "published pipelines:" in result.stdout
    assert "blocked" in result.stdout


def test_no_workspace_is_one_line_with_the_fix(clean_env: dict[str, str], tmp_path: Path) -> None:
    result = run(["inventory"], clean_env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: No workspace given")
    assert "config.json" in result.stderr
    assert "Traceback" not in result.stderr


def test_refused_credential_is_one_line(
    emu: Emulator, connection_file: Path, clean_env: dict[str, str]
) -> None:
    emu.inject_fault("GET", r"/Pipelines$", status=403, count=None)
    result = run(["inventory", "--connection-file", str(connection_file)], clean_env)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "mlw-contoso-forecast" in errors[0]
    assert "Traceback" not in result.stderr


def test_secrets_never_reach_the_output(
    emu: Emulator, connection_file: Path, clean_env: dict[str, str]
) -> None:
    result = run(
        ["-vv", "inventory", "--format", "csv", "--connection-file", str(connection_file)],
        clean_env,
    )
    assert result.returncode == 0, result.stderr
    secret = emu.connection["env"]["IDENTITY_HEADER"]
    token = requests.get(
        emu.connection["env"]["IDENTITY_ENDPOINT"],
        params={"api-version": "2019-08-01", "resource": emu.base_url},
        headers={"X-IDENTITY-HEADER": secret},
        verify=emu.connection["ca_bundle"],
        timeout=10,
    ).json()["access_token"]
    for text in (result.stdout, result.stderr):
        assert secret not in text
        assert token.split(".")[0] + "." not in text  # no JWT header segment of our token


def _serve(
    state: Path, conn: Path, env: dict[str, str], *flags: str
) -> tuple[subprocess.Popen[str], dict]:
    command = [MIGRATE_KIT, "emulator", "serve", "--state", str(state), "--connection-file"]
    process = subprocess.Popen(
        [*command, str(conn), *flags],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not conn.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    return process, json.loads(conn.read_text(encoding="utf-8"))


def _statuses(conn: Path, env: dict[str, str]) -> dict[str, str]:
    result = run(["inventory", "--format", "json", "--connection-file", str(conn)], env)
    assert result.returncode == 0, result.stderr
    return {row["pipeline_id"]: row["status"] for row in json.loads(result.stdout)}


def test_emulator_serve_runs_until_sigterm_and_keeps_state(
    clean_env: dict[str, str], tmp_path: Path
) -> None:
    state, conn = tmp_path / "state", tmp_path / "conn.json"
    process, connection = _serve(state, conn, clean_env)
    before = _statuses(conn, clean_env)
    active = next(pid for pid, status in before.items() if status == "Active")
    scope = "/".join(
        ["subscriptions", connection["subscription_id"], "resourceGroups",
         connection["resource_group"], "providers/Microsoft.MachineLearningServices",
         "workspaces", connection["workspace_name"]]
    )  # fmt: skip
    disabled = requests.put(
        f"{connection['base_url']}/pipelines/v1.0/{scope}/Pipelines/{active}/status",
        json="Disabled",
        headers={"Authorization": "Bearer test"},
        verify=connection["ca_bundle"],
        timeout=10,
    )
    assert disabled.status_code == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not conn.exists()  # a clean shutdown removes the connection file

    process, connection = _serve(state, conn, clean_env)
    try:
        after = _statuses(conn, clean_env)
        assert after[active] == "Disabled"
        assert set(after) == set(before)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_emulator_coverage_lists_simplifications(clean_env: dict[str, str]) -> None:
    result = run(["emulator", "coverage"], clean_env)
    assert result.returncode == 0, result.stderr
    assert "Not emulated" in result.stdout or "not emulated" in result.stdout.lower()
    assert "pipelines" in result.stdout


def test_demo_migrates_the_sample_workspace(clean_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "migrate-kit-demo"
    out.mkdir()
    with Ledger(out / "ledger.sqlite") as stale:  # a previous demo's ledger
        stale.start("migrate", "a previous demo's workspace")

    result = run(["demo"], clean_env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "published pipelines:" in result.stdout
    assert "11 migrated" in result.stdout and "2 blocked" in result.stdout
    assert "11 tested, 2 blocked" in result.stdout  # the counts by status, from the ledger
    with Ledger(out / "ledger.sqlite") as ledger:  # a fresh workspace gets a fresh ledger
        assert "a previous demo's workspace" not in [m.workspace for m in ledger.migrations()]
    assert (out / "plan" / "weekly-demand-forecast" / "endpoint.yml").is_file()
    executed = sorted(p.name for p in (out / "notebooks").iterdir())
    assert executed == list(NOTEBOOKS)  # the workbook, executed headless
    migrate_notebook = (out / "notebooks" / "03_migrate.ipynb").read_text(encoding="utf-8")
    assert "11 migrated, 2 blocked in" in migrate_notebook
    assert "jupyter lab " in result.stdout  # how to open the same notebooks
    assert sorted(p.suffix for p in (out / "report").iterdir()) == [
        ".csv", ".html", ".json", ".md", ".xlsx",
    ]  # fmt: skip
    assert "Traceback" not in result.stderr


def test_emulator_env_prints_shell_exports(
    connection_file: Path, clean_env: dict[str, str]
) -> None:
    result = run(["emulator", "env", "--connection-file", str(connection_file)], clean_env)
    assert result.returncode == 0, result.stderr
    exported = dict(
        line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines()
    )
    assert "REQUESTS_CA_BUNDLE" in exported and "ARM_CLOUD_METADATA_URL" in exported
    script = f'{result.stdout}\nprintf %s "$ARM_CLOUD_METADATA_URL"'
    echoed = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert echoed.stdout == json.loads(connection_file.read_text())["env"]["ARM_CLOUD_METADATA_URL"]


def test_emulator_env_rejects_another_file(clean_env: dict[str, str], tmp_path: Path) -> None:
    other = tmp_path / "config.json"
    other.write_text("{}")
    result = run(["emulator", "env", "--connection-file", str(other)], clean_env)
    assert result.returncode == 2
    assert "not an emulator connection file" in result.stderr


def _bare_env(tmp_path: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--rate-429", "2"], "--rate-429"),
        (["--latency-ms", "-5"], "--latency-ms"),
        (["--job-workers", "0"], "--job-workers"),
        (["--rate-500", "0.6", "--rate-503", "0.6"], "--rate-503"),
        (["--scope-path", "("], "--scope-path"),
    ],
)
def test_emulator_serve_rejects_bad_fault_flags(
    tmp_path: Path, flags: list[str], named: str
) -> None:
    result = run(["emulator", "serve", "--state", str(tmp_path / "state"), *flags],
                 _bare_env(tmp_path))  # fmt: skip

    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and named in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "state").exists()  # refused before anything started


def test_emulator_serve_fault_flags_reach_the_emulator(tmp_path: Path) -> None:
    flags = ["--empty", "--seed", "9", "--rate-500", "1", "--scope-path", "^/discovery$",
             "--arm-write-rate", "5", "--job-workers", "3"]  # fmt: skip
    process, connection = _serve(tmp_path / "state", tmp_path / "conn.json", _bare_env(tmp_path),
                                 *flags)  # fmt: skip
    try:
        base, ca = connection["base_url"], connection["ca_bundle"]
        settings = requests.get(f"{base}/_emulator/settings", verify=ca, timeout=10).json()
        health = requests.get(f"{base}/_emulator/health", verify=ca, timeout=10).json()
        failing = requests.get(f"{base}/discovery", verify=ca, timeout=10)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0

    assert (settings["seed"], settings["rate_500"], settings["arm_write_rate"]) == (9, 1.0, 5.0)
    assert settings["scope_path"] == "^/discovery$"
    assert health["job_workers"] == 3
    assert failing.status_code == 500


# --- plan ------------------------------------------------------------------------------------


def test_plan_all_writes_the_files_and_prints_a_summary(
    connection_file: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "plan"
    args = ["plan", "--all", "--out", str(out), "--connection-file", str(connection_file)]
    result = run(args, clean_env)
    assert result.returncode == 0, result.stderr
    assert "13 published pipelines planned: " in result.stdout
    assert "2 blocked" in result.stdout
    assert "weekly-demand-forecast" in result.stdout
    assert (out / "weekly-demand-forecast" / "version-1" / "deployment.yml").is_file()
    assert (out / "sales-export-to-lake" / "version-1-0" / "findings.md").is_file()
    assert (
        "blocked: sales-export-to-lake 1.0: [blocking] step 'copy_sales_to_lake'" in result.stdout
    )
    assert "](weekly-demand-forecast/version-1/findings.md) |" in (out / "plan.md").read_text()
    assert "Wrote " in result.stderr and "Traceback" not in result.stderr


def test_plan_select_and_name_overrides(
    connection_file: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    args = [
        "plan", "--select", "zurich*", "--out", str(tmp_path / "plan"),
        "--name", "endpoint:zurich_store_forecast=zurich-stores",
        "--connection-file", str(connection_file),
    ]  # fmt: skip
    result = run(args, clean_env)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "plan").iterdir()) == ["plan.md", "zurich-stores"]
    assert "1 published pipelines planned: 1 ready" in result.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["plan"], "--select"),
        (["plan", "--select", "no-such-*"], "'no-such-*' matched no published pipeline"),
        (["plan", "--all", "--name", "endpoint:promo-uplift-legacy=Bad_Name"], "'Bad_Name'"),
        (["plan", "--all", "--select", "x"], "not both"),
    ],
)
def test_plan_usage_errors_are_one_line_with_status_2(
    connection_file: Path,
    clean_env: dict[str, str],
    tmp_path: Path,
    args: list[str],
    words: str,
) -> None:
    result = run(
        [*args, "--out", str(tmp_path / "out"), "--connection-file", str(connection_file)],
        clean_env,
    )
    assert result.returncode == 2
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and words in error_lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_plan_rejects_a_malformed_name_override(clean_env: dict[str, str]) -> None:
    result = run(["plan", "--all", "--name", "no-equals-sign"], clean_env)
    assert result.returncode == 2
    assert "expected KEY=NAME" in result.stderr
