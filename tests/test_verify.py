"""The ``test`` and ``parity`` stages against the emulator: every migrated sample deployment runs
with v1's defaults, assignments given the v1 way reach the scripts, bad assignments are refused
before anything runs, a failing step is recorded with its reason, and the v1 and v2 runs of a
pipeline give the same files (or a readable diff when they do not).

A private emulator (module scope) keeps these runs out of the session's workspace; each test
starts from the sample (``reset``) and migrates what it tests with the engine first.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migrate_kit import Connection, plan, verify
from migrate_kit.convert.model import OutputLink, Plan
from migrate_kit.emulator import Emulator
from migrate_kit.engine import Progress, migrate
from migrate_kit.errors import ConfigurationError
from migrate_kit.ledger import Ledger
from migrate_kit.verify.outputs import FileDigest, compare_outputs, files_under

BLOCKED = {"sales-export-to-lake", "spark-feature-engineering"}
QUICK = {"poll_s": 0.5, "timeout_s": 300}

# azure-ai-ml 1.35's jobs.download makes calls that azure-storage-blob has deprecated.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The use of a 'BlobProperties'", "ignore:content_as_bytes"
)


@pytest.fixture
def emu(private_emu: Emulator) -> Emulator:
    return private_emu


@pytest.fixture
def conn(private_conn: Connection) -> Connection:
    return private_conn


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite") as opened:
        yield opened


def migrated(conn: Connection, ledger: Ledger, tmp_path: Path, *select: str) -> Plan:
    """The plan of ``select`` (everything when empty), migrated into the emulator."""
    planned = plan(conn, select=list(select)) if select else plan(conn, all=True)
    result = migrate(planned, conn.ml_client, ledger, work_dir=tmp_path / "work", concurrency=4)
    assert result.ok, result.failed
    return planned


def run(planned: Plan, conn: Connection, ledger: Ledger, **kw: Any) -> list[verify.TestOutcome]:
    if kw.get("parity"):
        kw.setdefault("v1_client", conn.v1_client())
    return verify.test_deployments(planned, conn.ml_client, ledger, **{**QUICK, **kw})


def output_text(conn: Connection, job: str, output: str, folder: Path) -> str:
    """The one file of a job's (pipeline) output, downloaded with ``jobs.download``."""
    conn.ml_client().jobs.download(job, output_name=output, download_path=folder)
    [file] = files_under(folder / "named-outputs" / output).values()
    return file.path.read_text(encoding="utf-8")


# -- the test stage ----------------------------------------------------------------------------


@pytest.mark.live
def test_every_migrated_deployment_completes_with_the_v1_defaults(
    conn: Connection, ledger: Ledger, tmp_path: Path
) -> None:
    planned = migrated(conn, ledger, tmp_path)
    events: list[Progress] = []
    outcomes = run(planned, conn, ledger, concurrency=4, progress=events.append)

    by_status = {o.pipeline_name: o.status for o in outcomes}
    assert {n for n, s in by_status.items() if s == verify.SKIPPED} == BLOCKED
    passed = [o for o in outcomes if o.status == verify.PASSED]
    assert len(passed) == 11 and all(o.ok and o.job_status == "Completed" for o in passed)

    ml = conn.ml_client()
    for outcome in passed:
        # Each job ran on the deployment it named, though four invoked at once.
        job = ml.jobs.get(outcome.job_name)
        assert job.properties["azureml.deploymentName"] == outcome.deployment
        record = ledger.stage(outcome.pipeline_id, "test")
        assert record is not None and record.done
        detail = record.detail
        assert detail["job_name"] == outcome.job_name and detail["status"] == "Completed"
        assert detail["duration_s"] >= 0 and detail["studio_url"].startswith("https://")
        assert detail["logs"].endswith(f"/dcid.{outcome.job_name}/")
        assert detail["deployment"] == outcome.deployment

    # The v1 defaults, a DataPath parameter's included (v2 has no default for it).
    daily = next(o for o in passed if o.pipeline_name == "daily_sales forecast")
    assert daily.inputs == {
        "region": "ALL",
        "min_units": "1",
        "include_promos": "True",
        "horizon_days": "14",
        "smoothing": "0.3",
        "prices_path": "azureml://datastores/workspaceblobstore/paths/retail/prices",
    }
    assert ml.jobs.get(daily.job_name).inputs["include_promos"]._data in (True, "True")

    finals = [e for e in events if e.status in (verify.PASSED, verify.SKIPPED)]
    assert sorted(e.done for e in finals) == list(range(1, 14))
    assert any(e.status == "Completed" and e.message.startswith("v2 job ") for e in events)
    [record] = [m for m in ledger.migrations() if m.command == "test"]
    assert record.status == "succeeded"


def test_assignments_given_the_v1_way_change_the_output(
    conn: Connection, ledger: Ledger, tmp_path: Path
) -> None:
    planned = migrated(conn, ledger, tmp_path, "weekly-demand-forecast", "daily_sales forecast")
    weekly = ["weekly-demand-forecast 1.1"]
    [default] = run(planned, conn, ledger, select=weekly)
    # As v1's ParameterAssignments holds them: text, for a string and an integer parameter.
    [assigned] = run(
        planned, conn, ledger, select=weekly, assignments={"method": "trend", "window": "3"}
    )

    assert default.ok and assigned.ok
    assert assigned.inputs == {"method": "trend", "window": "3"}
    before = output_text(conn, default.job_name or "", "next_week", tmp_path / "before")
    after = output_text(conn, assigned.job_name or "", "next_week", tmp_path / "after")
    assert ",moving_average," in before and ",moving_average," not in after
    assert ",trend," in after
    record = ledger.stage(assigned.pipeline_id, "test")
    assert record is not None and record.detail["inputs"]["window"] == "3"

    # Python values and a DataPath given as v1's DataPathAssignments entry.
    prices = {"DataStoreName": "workspaceblobstore", "RelativePath": "retail/prices"}
    [daily] = run(
        planned,
        conn,
        ledger,
        select=["daily_sales forecast"],
        assignments={"include_promos": False, "horizon_days": 3, "prices_path": prices},
    )
    assert daily.ok, daily.error
    forecast = output_text(conn, daily.job_name or "", "daily_forecast", tmp_path / "daily")
    assert len({line.split(",")[2] for line in forecast.splitlines()[1:]}) == 3  # three days
    job = conn.ml_client().jobs.get(daily.job_name)
    assert job.inputs["prices_path"].path.rstrip("/").endswith("paths/retail/prices")


def test_unknown_or_unfit_assignments_are_refused_before_anything_runs(
    emu: Emulator, conn: Connection, ledger: Ledger, tmp_path: Path
) -> None:
    planned = migrated(conn, ledger, tmp_path, "weekly-demand-forecast")
    seq = emu.log.last_seq

    with pytest.raises(ConfigurationError) as unknown:
        run(planned, conn, ledger, select=["weekly-demand-forecast 1.1"], assignments={"windw": 3})
    assert "'windw'" in str(unknown.value) and "method, window" in str(unknown.value)
    # 1.0 takes no parameters at all: each selected pipeline must know each name.
    with pytest.raises(ConfigurationError, match=r"weekly-demand-forecast 1\.0 has no parameter"):
        run(planned, conn, ledger, assignments={"window": "5"})
    with pytest.raises(ConfigurationError, match="window: 'five' is not an integer"):
        run(planned, conn, ledger, select=["*1.1"], assignments={"window": "five"})
    with pytest.raises(ConfigurationError, match="pass v1_client"):
        verify.test_deployments(planned, conn.ml_client, ledger, parity=True)

    assert emu.request_log(since=seq) == []
    assert [s for s in ledger.stages() if s.stage == "test"] == []


def test_a_failing_step_records_failed_with_the_reason(
    emu: Emulator, conn: Connection, ledger: Ledger, tmp_path: Path
) -> None:
    planned = migrated(conn, ledger, tmp_path, "weekly-demand-forecast", "zurich_store_forecast")
    # An assignment the step's script rejects (on both sides: parity says so).
    [bad] = run(
        planned, conn, ledger, select=["*1.1"], assignments={"method": "bogus"}, parity=True
    )

    assert bad.status == verify.FAILED and bad.job_status == "Failed" and not bad.ok
    assert bad.error is not None
    assert "step weekly_forecast" in bad.error and "unknown --method 'bogus'" in bad.error
    record = ledger.stage(bad.pipeline_id, "test")
    assert record is not None and record.status == "failed"
    assert "unknown --method 'bogus'" in (record.error or "")
    assert record.detail["job_name"] == bad.job_name and record.detail["status"] == "Failed"
    assert bad.parity is not None and bad.parity.result == verify.ERROR
    assert (bad.parity.error or "").startswith("nothing to compare: the v2 job Failed, the v1 run")
    assert "Failed (step weekly_forecast: " in (bad.parity.error or "")
    parity = ledger.stage(bad.pipeline_id, "parity")
    assert parity is not None and parity.status == "failed" and parity.detail["result"] == "error"

    # The service refuses the invoke (a fault rule on the scoring URI).
    emu.inject_fault(
        method="POST",
        path="/batchEndpoints/zurich-store-forecast/jobs$",
        status=400,
        count=None,
        body={"error": {"code": "BadArgument", "message": "compute cpu-cluster is stopped"}},
    )
    [refused] = run(planned, conn, ledger, select=["zurich*"])
    assert refused.status == verify.FAILED and refused.job_name is None
    assert "invoke failed" in (refused.error or "")
    assert "compute cpu-cluster is stopped" in (refused.error or "")
    record = ledger.stage(refused.pipeline_id, "test")
    assert record is not None and "compute cpu-cluster is stopped" in (record.error or "")
    assert [m.status for m in ledger.migrations() if m.command == "test"] == ["failed"] * 2


def test_a_pipeline_that_was_not_deployed_is_skipped(
    conn: Connection, ledger: Ledger, tmp_path: Path
) -> None:
    planned = plan(conn, select=["zurich_store_forecast"])  # planned, never migrated
    [outcome] = run(planned, conn, ledger)
    assert outcome.status == verify.SKIPPED and "never deployed" in (outcome.error or "")
    record = ledger.stage(outcome.pipeline_id, "test")
    assert record is not None and record.status == "skipped"


# -- parity ------------------------------------------------------------------------------------


@pytest.mark.live
@pytest.mark.parametrize(
    ("name", "version", "endpoint_version"),
    [
        ("daily_sales forecast", "1.4", None),  # fan-in, a DataPath parameter
        ("weekly-demand-forecast", "1.1", "1"),  # an endpoint's default version
        ("weekly-demand-forecast", "2.0", "2"),  # another version of that endpoint
        ("store-batch-scoring", "1.0", None),  # a ParallelRunStep
    ],
)
def test_parity_matches(
    emu: Emulator,
    conn: Connection,
    ledger: Ledger,
    tmp_path: Path,
    name: str,
    version: str,
    endpoint_version: str | None,
) -> None:
    planned = migrated(conn, ledger, tmp_path, name)
    select = f"{name} {version}"
    seq = emu.log.last_seq
    [outcome] = run(planned, conn, ledger, select=[select], parity=True, work_dir=tmp_path / "cmp")

    parity = outcome.parity
    assert outcome.ok and parity is not None, (outcome.error, parity)
    pipeline = planned.pipeline(outcome.pipeline_id)
    assert parity.match and parity.differences == ()
    assert parity.outputs == len(pipeline.output_links) >= 1
    assert parity.files >= parity.outputs
    record = ledger.stage(outcome.pipeline_id, "parity")
    assert record is not None and record.done and record.detail["result"] == "match"
    assert record.detail["v1_run_id"] == parity.v1_run_id

    # v1 ran what the v2 deployment replaces: the endpoint version, or the pipeline itself.
    submits = [
        e["path"] for e in emu.request_log(since=seq) if "/PipelineRuns/Pipeline" in e["path"]
    ]
    if endpoint_version is None:
        assert submits == [f"{_v1_prefix(emu)}/PipelineRuns/PipelineSubmit/{outcome.pipeline_id}"]
    else:
        assert pipeline.v1_endpoint_id is not None
        assert submits == [
            f"{_v1_prefix(emu)}/PipelineRuns/PipelineEndpointSubmit/Id/"
            f"{pipeline.v1_endpoint_id}/{endpoint_version}"
        ]
    # work_dir keeps both sides' files, one folder per node.
    kept = tmp_path / "cmp" / pipeline.folder / "parity" / str(outcome.job_name)
    for side in ("v1", "v2"):
        assert any(p.is_file() for p in (kept / side).rglob("*")), side


def test_parallel_step_parity_compares_every_store_file(
    conn: Connection, ledger: Ledger, tmp_path: Path
) -> None:
    planned = migrated(conn, ledger, tmp_path, "store-batch-scoring")
    [outcome] = run(
        planned, conn, ledger, parity=True, assignments={"since": "2024-03-15", "horizon_days": 5}
    )
    assert outcome.parity is not None and outcome.parity.match, outcome.parity
    assert outcome.parity.files == 6  # five store files, and the parallel step's appended rows


def test_a_deliberate_mismatch_is_reported_with_a_readable_diff(
    conn: Connection, ledger: Ledger, tmp_path: Path
) -> None:
    planned = migrated(conn, ledger, tmp_path, "weekly-demand-forecast")
    [outcome] = run(
        planned,
        conn,
        ledger,
        select=["weekly-demand-forecast 1.1"],
        parity=True,
        assignments={"window": "5"},
        v1_assignments={"window": "9"},
    )

    parity = outcome.parity
    assert outcome.status == verify.PASSED and parity is not None and not outcome.ok
    assert parity.result == verify.MISMATCH
    # step/output/file, and the first line that differs (a mean of 9 days against one of 5)
    [difference] = parity.differences
    assert difference == (
        "weekly_forecast/weekly_forecast/weekly_forecast.csv differs at line 3: "
        "v1 'S01,P101,moving_average,118.2', v2 'S01,P101,moving_average,103.6'"
    )
    record = ledger.stage(outcome.pipeline_id, "parity")
    assert record is not None and record.status == "failed"
    assert record.detail["result"] == "mismatch"
    assert record.detail["differences"] == [difference]
    assert (record.error or "").startswith("outputs differ: weekly_forecast/")


def test_parity_of_a_disabled_v1_pipeline_says_why_nothing_was_compared(
    conn: Connection, ledger: Ledger, tmp_path: Path
) -> None:
    planned = migrated(conn, ledger, tmp_path, "promo-uplift-legacy")
    [outcome] = run(planned, conn, ledger, parity=True)
    assert outcome.status == verify.PASSED  # v2 runs what v1 no longer may
    assert outcome.parity is not None and outcome.parity.result == verify.ERROR
    assert "refused" in (outcome.parity.error or "") and "Disabled" in (outcome.parity.error or "")
    record = ledger.stage(outcome.pipeline_id, "parity")
    assert record is not None and record.status == "failed" and record.detail["result"] == "error"


# -- comparing files (no server) ---------------------------------------------------------------


def test_differences_name_missing_files_and_the_first_differing_line(tmp_path: Path) -> None:
    def digest(path: str, data: bytes) -> FileDigest:
        file = tmp_path / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(data)
        return files_under(file.parent)[file.name]

    link = OutputLink("score", "n1", "scores", "score", "scores")
    v1 = {"a.csv": digest("v1/a.csv", b"id,x\n1,2\n3,4\n"), "b.csv": digest("v1/b.csv", b"")}
    v2 = {
        "a.csv": digest("v2/a.csv", b"id,x\n1,2\n3,5\n"),
        "c.bin": digest("v2/c.bin", b"\xff\x00"),
    }
    differences, outputs, files = compare_outputs(
        [link], {"score/scores": v1}, {"score/scores": v2}
    )
    assert (outputs, files) == (1, 1)
    assert differences == [
        "score/scores: only in v1: b.csv",
        "score/scores: only in v2: c.bin",
        "score/scores/a.csv differs at line 3: v1 '3,4', v2 '3,5'",
    ]

    binary = {"a.csv": digest("v3/a.csv", b"\xff\xfe")}
    [line] = compare_outputs([link], {"score/scores": v1}, {"score/scores": {**v1, **binary}})[0]
    assert line.startswith("score/scores/a.csv differs: 13 vs 2 bytes (sha256 ")
    [missing] = compare_outputs([link], {"score/scores": None}, {"score/scores": v2})[0]
    assert missing == "score/scores: the v1 run lists no such output"


def _v1_prefix(emu: Emulator) -> str:
    return f"/pipelines/v1.0/{emu.ctx.config.scope}"
