"""The job runner on a real Store with real subprocesses: graph order, data in and out, logs,
failures, cancel, the worker pool and restart recovery (no HTTP)."""

from __future__ import annotations

import sys
import textwrap
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from migrate_kit.emulator import Emulator
from migrate_kit.emulator.config import Context
from migrate_kit.emulator.content.backend import content_backend_for
from migrate_kit.emulator.runner.backend import STOPPED_MESSAGE, Runner, runner_for
from migrate_kit.emulator.runner.model import (
    DataRef,
    PipelineSpec,
    StepInput,
    StepOutput,
    StepSpec,
)
from migrate_kit.emulator.state import Store

CODE_CONTAINER = "code"


@pytest.fixture
def runner(ctx: Context, tmp_path: Path) -> Iterator[Runner]:
    ctx.scratch_dir = tmp_path / "jobs"
    made = runner_for(ctx)
    yield made
    made.close()


# -- helpers -----------------------------------------------------------------------------------


def datastore(ctx: Context, path: str, kind: str = "uri_folder") -> DataRef:
    cfg = ctx.config
    return DataRef(cfg.storage_account, cfg.datastore_container, path, kind)  # type: ignore[arg-type]


def put_files(ctx: Context, prefix: str, files: Mapping[str, bytes]) -> DataRef:
    """Blobs under ``prefix`` of the default datastore; returns the folder."""
    ref = datastore(ctx, prefix)
    for rel, data in files.items():
        ctx.store.put_blob(ref.account, ref.container, f"{prefix}/{rel}", data)
    return ref


def code(ctx: Context, scripts: Mapping[str, str]) -> DataRef:
    """Upload a code folder (scripts dedented) as a code asset would be; returns it."""
    folder = f"LocalUpload/{uuid.uuid4().hex}/src"
    account = ctx.config.storage_account
    for name, text in scripts.items():
        data = textwrap.dedent(text).encode()
        ctx.store.put_blob(account, CODE_CONTAINER, f"{folder}/{name}", data)
    return DataRef(account, CODE_CONTAINER, folder)


def blob(ctx: Context, ref: DataRef, rel: str = "") -> bytes:
    path = f"{ref.path.rstrip('/')}/{rel}" if rel else ref.path
    found = ctx.store.get_blob(ref.account, ref.container, path)
    assert found is not None, f"no blob at {path}"
    return found[0]


def statuses(record: dict[str, Any]) -> list[str]:
    return [entry["status"] for entry in record["statusHistory"]]


def when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.rstrip("Z")[:26])


def pipeline(*steps: StepSpec, **settings: Any) -> PipelineSpec:
    return PipelineSpec(run_id=uuid.uuid4().hex, experiment_name="exp", steps=steps, **settings)


def by_step(runner: Runner, run_id: str) -> dict[str, dict[str, Any]]:
    return {child["stepName"]: child for child in runner.children(run_id)}


SLEEP = "import sys, time; time.sleep(float(sys.argv[1]))"


# -- a two-step pipeline -----------------------------------------------------------------------

PREP = """
    import argparse, os, pathlib, sys
    parser = argparse.ArgumentParser()
    for name in ("--raw", "--scale", "--out", "--limit", "--tag"):
        parser.add_argument(name)
    args = parser.parse_args()
    print("run", os.environ["AZUREML_RUN_ID"], "prefix", sys.prefix)
    print("limit", args.limit, "tag", args.tag)
    rows = []
    for path in sorted(pathlib.Path(args.raw).rglob("*.csv")):
        for line in path.read_text().split():
            rows.append(str(int(line) * int(args.scale)))
    pathlib.Path(args.out, "scaled.txt").write_text("\\n".join(rows) + "\\n")
    pathlib.Path(args.out, "nested").mkdir()
    pathlib.Path(args.out, "nested", "count.txt").write_text(str(len(rows)))
"""
TRAIN = """
    import pathlib, sys
    numbers = pathlib.Path(sys.argv[1], "scaled.txt").read_text().split()
    pathlib.Path(sys.argv[2]).write_text(f"sum={sum(map(int, numbers))}\\n")
"""


def test_two_step_pipeline_runs_in_order_with_data_in_and_out(ctx: Context, runner: Runner):
    raw = put_files(ctx, "raw/sales", {"a.csv": b"1\n2\n", "sub/b.csv": b"3\n"})
    src = code(ctx, {"prep.py": PREP, "train.py": TRAIN})
    prepared = datastore(ctx, "azureml/job1/prepared/")
    model = datastore(ctx, "azureml/job1/model/model.txt", "uri_file")
    prep = StepSpec(
        name="prep",
        command="python prep.py --raw ${{inputs.raw}} --scale ${{ inputs.scale }} "
        "--out ${{outputs.prepared}} $[[--limit ${{inputs.limit}}]] $[[--tag ${{inputs.tag}}]]",
        code=src,
        inputs={
            "raw": StepInput(data=raw),
            "scale": StepInput(literal="10"),
            "limit": StepInput(optional=True),
            "tag": StepInput(literal="blue"),
        },
        outputs={"prepared": StepOutput(prepared)},
        environment="azureml:sklearn:3",
    )
    train = StepSpec(
        name="train",
        command="python train.py ${{inputs.data}} ${{outputs.model}}",
        code=src,
        inputs={"data": StepInput(upstream=("prep", "prepared"))},
        outputs={"model": StepOutput(model)},
    )
    submitted = runner.submit(pipeline(train, prep, default_compute="cpu-cluster"))
    assert submitted["status"] == "NotStarted"

    done = runner.wait(submitted["runId"], timeout=20)
    assert done["status"] == "Completed", done["error"]
    assert statuses(done) == ["NotStarted", "Queued", "Running", "Completed"]
    steps = by_step(runner, done["runId"])
    assert list(steps) == ["prep", "train"]  # graph order, not declaration order
    for step in steps.values():
        assert statuses(step) == ["NotStarted", "Queued", "Running", "Completed"]
        assert step["compute"] == "cpu-cluster" and step["parentRunId"] == done["runId"]
    assert when(steps["prep"]["endTimeUtc"]) <= when(steps["train"]["startTimeUtc"])
    assert steps["prep"]["environment"] == "azureml:sklearn:3"

    assert blob(ctx, prepared, "scaled.txt") == b"10\n20\n30\n"
    assert blob(ctx, prepared, "nested/count.txt") == b"3"
    assert blob(ctx, model) == b"sum=60\n"

    log = runner.read_log(steps["prep"]["runId"])
    assert f"run {steps['prep']['runId']} prefix {sys.prefix}" in log
    assert "limit None tag blue" in log
    assert runner.read_log(steps["prep"]["runId"], "user_logs/stderr.txt") == ""
    execution = runner.read_log(done["runId"], "logs/azureml/executionlogs.txt")
    assert execution.index("Step prep") < execution.index("Step train")
    assert execution.rstrip().endswith(f"Pipeline {done['runId']} ended Completed.")
    location = steps["prep"]["logs"]["user_logs/std_log.txt"]
    assert location["container"] == "azureml"
    assert location["path"] == f"ExperimentRun/dcid.{steps['prep']['runId']}/user_logs/std_log.txt"


def test_snapshot_code_and_a_uri_file_input(ctx: Context, runner: Runner):
    content_backend_for(ctx).add_snapshot(
        "snap-1", {"pkg/score.py": b"import sys; print(open(sys.argv[1]).read().upper())\n"}
    )
    put_files(ctx, "single", {"one.txt": b"hello"})
    step = StepSpec(
        name="score",
        command="python pkg/score.py ${{inputs.doc}} && echo $AZURE_ML_INPUT_doc",
        code="snapshot:snap-1",
        inputs={"doc": StepInput(data=datastore(ctx, "single/one.txt", "uri_file"))},
    )
    done = runner.wait(runner.submit(pipeline(step))["runId"], timeout=20)
    assert done["status"] == "Completed", done["error"]
    log = runner.read_log(runner.children(done["runId"])[0]["runId"])
    assert log.splitlines()[0] == "HELLO"
    assert log.splitlines()[1].endswith("/inputs/doc/one.txt")


# -- failures ----------------------------------------------------------------------------------

FAIL = """
    import sys
    print("working")
    print("bad row 7: value 'x' is not a number", file=sys.stderr)
    sys.exit(3)
"""


def test_failing_script_fails_the_job_with_its_stderr(ctx: Context, runner: Runner):
    src = code(ctx, {"fail.py": FAIL})
    bad = StepSpec(
        name="bad",
        command="python fail.py",
        code=src,
        outputs={"o": StepOutput(datastore(ctx, "out/bad"))},
    )
    after = StepSpec(name="after", command="true", inputs={"i": StepInput(upstream=("bad", "o"))})
    done = runner.wait(runner.submit(pipeline(bad, after))["runId"], timeout=20)

    assert done["status"] == "Failed"
    assert "Failed nodes: /bad." in done["error"]["message"]
    steps = by_step(runner, done["runId"])
    assert steps["bad"]["status"] == "Failed"
    message = steps["bad"]["error"]["message"]
    assert "exited with status code 3" in message
    assert "bad row 7: value 'x' is not a number" in message
    assert steps["after"]["status"] == "Canceled"
    assert statuses(steps["after"]) == ["NotStarted", "Canceled"]
    log = runner.read_log(steps["bad"]["runId"])
    assert "working" in log and "bad row 7" in log
    assert runner.read_log(steps["bad"]["runId"], "user_logs/stdout.txt") == "working\n"


def test_stop_on_failure_cancels_the_running_sibling(ctx: Context, runner: Runner):
    src = code(ctx, {"fail.py": FAIL, "sleep.py": SLEEP})
    slow = StepSpec(name="slow", command="python sleep.py 30", code=src)
    bad = StepSpec(name="bad", command="sleep 0.3; python fail.py", code=src)
    done = runner.wait(runner.submit(pipeline(slow, bad))["runId"], timeout=20)

    steps = by_step(runner, done["runId"])
    assert done["status"] == "Failed"
    assert steps["bad"]["status"] == "Failed"
    assert steps["slow"]["status"] == "Canceled"
    assert statuses(steps["slow"]) == ["NotStarted", "Queued", "Running", "Canceled"]
    ran = when(steps["slow"]["endTimeUtc"]) - when(steps["slow"]["startTimeUtc"])
    assert ran.total_seconds() < 10  # killed, not slept out


def test_continue_on_step_failure_runs_independent_branches(ctx: Context, runner: Runner):
    src = code(ctx, {"fail.py": FAIL})
    out = StepOutput(datastore(ctx, "out/cont"))
    bad = StepSpec(name="bad", command="python fail.py", code=src, outputs={"o": out})
    after = StepSpec(
        name="after",
        command="true",
        inputs={"i": StepInput(upstream=("bad", "o"))},
        outputs={"x": StepOutput(datastore(ctx, "out/x"))},
    )
    later = StepSpec(name="later", command="true", inputs={"i": StepInput(upstream=("after", "x"))})
    good = StepSpec(name="good", command="sleep 0.5; echo fine")
    spec = pipeline(bad, after, later, good, continue_on_step_failure=True)
    done = runner.wait(runner.submit(spec)["runId"], timeout=20)

    steps = by_step(runner, done["runId"])
    assert done["status"] == "Failed"
    assert done["error"]["message"].startswith(
        "Pipeline has failed child jobs. Failed nodes: /bad."
    )
    assert {name: s["status"] for name, s in steps.items()} == {
        "bad": "Failed",
        "after": "Canceled",
        "later": "Canceled",
        "good": "Completed",
    }
    assert runner.read_log(steps["good"]["runId"]) == "fine\n"


def test_cannot_run_step_fails_at_once_with_its_reason(ctx: Context, runner: Runner):
    why = "DatabricksStep cannot run in the local emulator: it needs a Databricks cluster."
    step = StepSpec(name="dbx", command="", cannot_run=why)
    done = runner.wait(runner.submit(pipeline(step))["runId"], timeout=10)
    child = runner.children(done["runId"])[0]
    assert (done["status"], child["status"]) == ("Failed", "Failed")
    assert child["error"]["message"] == why


def test_missing_data_and_timeout_fail_the_step(ctx: Context, runner: Runner):
    missing = StepSpec(
        name="missing", command="true", inputs={"d": StepInput(data=datastore(ctx, "nowhere"))}
    )
    slow = StepSpec(name="slow", command="sleep 20", timeout=0.5)
    done = runner.wait(
        runner.submit(pipeline(missing, slow, continue_on_step_failure=True))["runId"], timeout=20
    )
    steps = by_step(runner, done["runId"])
    assert (
        "azureml://datastores/workspaceblobstore/paths/nowhere"
        in (steps["missing"]["error"]["message"])
    )
    assert "timeout of 0.5 seconds" in steps["slow"]["error"]["message"]


# -- the worker pool, cancel, restart ------------------------------------------------------------


def test_independent_steps_overlap_on_two_workers_and_no_more(ctx: Context, runner: Runner):
    steps = [StepSpec(name=f"s{i}", command="sleep 0.6") for i in range(3)]
    done = runner.wait(runner.submit(pipeline(*steps))["runId"], timeout=20)
    assert done["status"] == "Completed"
    spans = sorted(
        (when(c["startTimeUtc"]), when(c["endTimeUtc"])) for c in runner.children(done["runId"])
    )
    (_, end0), (start1, end1), (start2, _) = spans
    assert start1 < end0  # the first two ran at the same time
    assert start2 >= min(end0, end1)  # the third waited for a free worker


def test_cancel_kills_the_running_step_and_cancels_the_rest(
    ctx: Context, runner: Runner, tmp_path: Path
):
    marker = tmp_path / "woke-up"
    slow = StepSpec(
        name="slow",
        command=f"sleep 30; touch {marker}",
        outputs={"o": StepOutput(datastore(ctx, "out/slow"))},
    )
    after = StepSpec(name="after", command="true", inputs={"i": StepInput(upstream=("slow", "o"))})
    run_id = runner.submit(pipeline(slow, after))["runId"]
    deadline = time.monotonic() + 10
    while by_step(runner, run_id)["slow"]["status"] != "Running":
        assert time.monotonic() < deadline
        time.sleep(0.05)

    canceled = runner.cancel(run_id)
    assert canceled["status"] == "Canceled"
    steps = by_step(runner, run_id)
    assert steps["slow"]["status"] == "Canceled" and steps["after"]["status"] == "Canceled"
    assert runner.cancel(run_id)["status"] == "Canceled"  # again: no change
    time.sleep(0.2)
    assert not marker.exists()


def test_runs_left_running_by_a_stopped_emulator_fail_on_restart(ctx: Context, tmp_path: Path):
    ctx.scratch_dir = tmp_path / "jobs"
    first = runner_for(ctx)
    run_id = first.submit(pipeline(StepSpec(name="long", command="sleep 30")))["runId"]
    deadline = time.monotonic() + 10
    while first.get(run_id)["status"] != "Running":  # type: ignore[index]
        assert time.monotonic() < deadline
        time.sleep(0.05)

    # A second emulator process on the same state: a new store connection and context.
    store = Store(ctx.store.path)
    try:
        again = runner_for(Context(ctx.config, store))
        record = again.get(run_id)
        assert record is not None and record["status"] == "Failed"
        assert record["error"]["message"] == STOPPED_MESSAGE
        assert [c["status"] for c in again.children(run_id)] == ["Failed"]
        again.close()
    finally:
        first.close()
        store.close()
    assert first.get(run_id)["status"] == "Failed"  # type: ignore[index]


def test_stopping_the_emulator_kills_its_jobs(tmp_path: Path):
    marker = tmp_path / "woke-up"
    with Emulator(state_dir=tmp_path / "state", sample=None) as emulator:
        emulator.ctx.scratch_dir = tmp_path / "jobs"
        runner = runner_for(emulator.ctx)
        step = StepSpec(name="long", command=f"sleep 30; touch {marker}")
        run_id = runner.submit(pipeline(step))["runId"]
        deadline = time.monotonic() + 10
        while runner.get(run_id)["status"] != "Running":  # type: ignore[index]
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert runner.closed
    store = Store(tmp_path / "state" / "emulator.sqlite")
    try:
        assert store.get("runner.run", run_id)["status"] == "Canceled"  # type: ignore[index]
    finally:
        store.close()
    time.sleep(0.2)
    assert not marker.exists()


def test_wait_times_out_and_read_log_shows_a_running_step(ctx: Context, runner: Runner):
    step = StepSpec(name="talk", command="echo started; sleep 30")
    run_id = runner.submit(pipeline(step))["runId"]
    with pytest.raises(TimeoutError, match="still"):
        runner.wait(run_id, timeout=0.5)
    child = runner.children(run_id)[0]["runId"]
    deadline = time.monotonic() + 10
    while runner.read_log(child) != "started\n":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    runner.cancel(run_id)
    assert runner.read_log(child) == "started\n"  # kept as a blob after the cancel


# -- bad specs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ((), "has no steps"),
        ((StepSpec(name="a", command="true"), StepSpec(name="a", command="true")), "two steps"),
        (
            (StepSpec(name="a", command="true", inputs={"i": StepInput(upstream=("z", "o"))}),),
            "reads step 'z'",
        ),
        (
            (
                StepSpec(name="a", command="true"),
                StepSpec(name="b", command="true", inputs={"i": StepInput(upstream=("a", "o"))}),
            ),
            "which has no such output",
        ),
        (
            (
                StepSpec(
                    name="a",
                    command="true",
                    inputs={"i": StepInput(upstream=("b", "o"))},
                    outputs={"o": StepOutput(DataRef("s", "c", "a"))},
                ),
                StepSpec(
                    name="b",
                    command="true",
                    inputs={"i": StepInput(upstream=("a", "o"))},
                    outputs={"o": StepOutput(DataRef("s", "c", "b"))},
                ),
            ),
            "in a cycle",
        ),
        ((StepSpec(name="a", command="echo ${{inputs.nope}}"),), "declares no such input"),
        (
            (
                StepSpec(
                    name="a",
                    command="x",
                    inputs={"i": StepInput(literal="1", data=None, upstream=("a", "o"))},
                ),
            ),
            "more than one",
        ),
    ],
)
def test_bad_specs_are_refused_and_nothing_is_stored(
    runner: Runner, ctx: Context, steps: tuple[StepSpec, ...], message: str
):
    with pytest.raises(ValueError, match=message):
        runner.submit(pipeline(*steps))
    assert ctx.store.count("runner.run") == 0


def test_a_used_run_id_is_refused(runner: Runner):
    spec = pipeline(StepSpec(name="a", command="true"))
    runner.wait(runner.submit(spec)["runId"], timeout=10)
    with pytest.raises(ValueError, match="already used"):
        runner.submit(spec)
