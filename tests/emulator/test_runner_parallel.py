"""Parallel steps through the runner's driver: mini-batches, the error threshold, append_row."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migrate_kit.emulator.config import Context
from migrate_kit.emulator.runner.backend import Runner, runner_for
from migrate_kit.emulator.runner.model import (
    DataRef,
    ParallelSettings,
    PipelineSpec,
    StepInput,
    StepOutput,
    StepSpec,
)
from migrate_kit.emulator.runner.parallel_driver import result_rows

#: Scores every file of a mini-batch; files whose text is "bad" fail (no row returned), a
#: file "boom" raises. ``init`` reads ``--prefix`` from the program arguments.
SCORE = """
    import argparse, pathlib
    PREFIX = None
    CALLS = []

    def init():
        global PREFIX
        parser = argparse.ArgumentParser()
        parser.add_argument("--prefix")
        PREFIX = parser.parse_args().prefix
        print("init with", PREFIX)

    def run(mini_batch):
        print("batch of", len(mini_batch))
        rows = []
        for path in mini_batch:
            text = pathlib.Path(path).read_text()
            if text == "boom":
                raise RuntimeError("cannot score " + pathlib.Path(path).name)
            if text != "bad":
                rows.append([PREFIX, pathlib.Path(path).name, len(text)])
        return rows
"""


@pytest.fixture
def runner(ctx: Context, tmp_path: Path) -> Iterator[Runner]:
    ctx.scratch_dir = tmp_path / "jobs"
    made = runner_for(ctx)
    yield made
    made.close()


def setup(ctx: Context, files: dict[str, str], script: str = SCORE) -> tuple[DataRef, DataRef]:
    """Input files in the datastore and a code folder holding ``score.py``."""
    cfg = ctx.config
    prefix = f"batch/{uuid.uuid4().hex}"
    for name, text in files.items():
        ctx.store.put_blob(
            cfg.storage_account, cfg.datastore_container, f"{prefix}/{name}", text.encode()
        )
    ctx.store.put_blob(
        cfg.storage_account, "code", f"{prefix}/score.py", textwrap.dedent(script).encode()
    )
    return (
        DataRef(cfg.storage_account, cfg.datastore_container, prefix),
        DataRef(cfg.storage_account, "code", prefix),
    )


def parallel_step(
    ctx: Context, data: DataRef, src: DataRef, **settings: Any
) -> tuple[StepSpec, DataRef]:
    cfg = ctx.config
    out = DataRef(cfg.storage_account, cfg.datastore_container, f"scores/{uuid.uuid4().hex}")
    step = StepSpec(
        name="score",
        command="",
        code=src,
        inputs={"data": StepInput(data=data), "prefix": StepInput(literal="P")},
        outputs={"scores": StepOutput(out)},
        parallel=ParallelSettings(
            entry_script="score.py",
            input_name="data",
            output_name="scores",
            program_arguments="--prefix ${{inputs.prefix}}",
            **settings,
        ),
    )
    return step, out


def run(runner: Runner, step: StepSpec) -> dict[str, Any]:
    spec = PipelineSpec(run_id=uuid.uuid4().hex, experiment_name="exp", steps=(step,))
    runner.wait(runner.submit(spec)["runId"], timeout=20)
    return runner.children(spec.run_id)[0]


FILES = {"a.txt": "aa", "b.txt": "bad", "c.txt": "cccc", "d.txt": "d", "e.txt": "eeeee"}


def test_mini_batches_and_append_row_within_the_threshold(ctx: Context, runner: Runner):
    data, src = setup(ctx, FILES)
    step, out = parallel_step(
        ctx, data, src, mini_batch_size=2, error_threshold=1, append_row_file_name="rows.txt"
    )
    child = run(runner, step)

    assert child["status"] == "Completed", child["error"]
    assert child["jobType"] == "parallel"
    found = ctx.store.get_blob(out.account, out.container, f"{out.path}/rows.txt")
    assert found is not None
    assert found[0] == b"P a.txt 2\nP c.txt 4\nP d.txt 1\nP e.txt 5\n"
    log = runner.read_log(child["runId"])
    assert "init with P" in log
    assert [line for line in log.splitlines() if line.startswith("batch")] == [
        "batch of 2",
        "batch of 2",
        "batch of 1",
    ]
    assert "5 items in 3 mini-batches: 4 succeeded, 1 failed" in log


def test_error_threshold_exceeded_fails_the_step(ctx: Context, runner: Runner):
    data, src = setup(ctx, {**FILES, "f.txt": "boom"})
    step, _ = parallel_step(ctx, data, src, mini_batch_size=3, error_threshold=1)
    child = run(runner, step)

    assert child["status"] == "Failed"
    message = child["error"]["message"]
    assert "more than the error threshold of 1" in message
    log = runner.read_log(child["runId"])
    assert "RuntimeError: cannot score f.txt" in log


def test_threshold_minus_one_ignores_failures_and_summary_only_writes_nothing(
    ctx: Context, runner: Runner
):
    data, src = setup(ctx, {**FILES, "f.txt": "boom"})
    step, out = parallel_step(
        ctx, data, src, mini_batch_size=10, error_threshold=-1, output_action="summary_only"
    )
    child = run(runner, step)

    assert child["status"] == "Completed", child["error"]
    assert ctx.store.list_blobs(out.account, out.container, out.path) == []
    assert "0 succeeded, 6 failed" in runner.read_log(child["runId"])


def test_a_dataframe_result_is_written_one_row_per_line(ctx: Context, runner: Runner):
    script = """
        import pathlib
        import pandas as pd

        def init():
            pass

        def run(mini_batch):
            names = [pathlib.Path(p).name for p in mini_batch]
            return pd.DataFrame({"file": names, "size": [len(n) for n in names]})
    """
    data, src = setup(ctx, {"x.csv": "1", "yy.csv": "2"}, script)
    step, out = parallel_step(ctx, data, src, mini_batch_size=5)
    child = run(runner, step)

    assert child["status"] == "Completed", child["error"]
    found = ctx.store.get_blob(out.account, out.container, f"{out.path}/parallel_run_step.txt")
    assert found is not None and found[0] == b"x.csv 5\nyy.csv 6\n"


def test_result_rows_joins_values_with_spaces() -> None:
    assert result_rows(None) == []
    assert result_rows("one row") == ["one row"]
    assert result_rows(["a", ("b", 1), ["c", 2.5], {"k": "d", "v": 3}]) == [
        "a",
        "b 1",
        "c 2.5",
        "d 3",
    ]
