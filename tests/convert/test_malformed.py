"""Unsupported and malformed graphs give blocking findings, never exceptions, and do not stop
the other pipelines of the plan. The graphs are built as model objects (no server)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from convert_models import edge, literal, pipeline, ref, snapshots_for, step, two_steps

from migrate_kit import PublishedPipeline, Severity, build_plan, write_plan
from migrate_kit.inventory import BLOCKED, READY
from migrate_kit.v1.models import Graph


def blocking_codes(p: PublishedPipeline) -> dict[str, list[str | None]]:
    """Plan ``p`` together with a sound pipeline; return its blocking codes and their steps."""
    good = two_steps()
    result = build_plan([good, p], [], snapshots=snapshots_for(good, p))
    sound = result.pipeline(good.id)
    assert sound.verdict == READY and sound.deployable, sound.findings
    planned = result.pipeline(p.id)
    assert planned.verdict == BLOCKED
    assert not planned.deployable
    codes: dict[str, list[str | None]] = {}
    for finding in planned.findings:
        if finding.severity is Severity.BLOCKING:
            codes.setdefault(finding.code, []).append(finding.step)
    return codes


def test_a_cycle_is_blocking() -> None:
    a = step("a", "n1", inputs=["x"], outputs=["y"])
    b = step("b", "n2", inputs=["y"], outputs=["x"])
    cyclic = pipeline("cyclic", [a, b], [edge("n1", "y", "n2", "y"), edge("n2", "x", "n1", "x")])
    codes = blocking_codes(cyclic)
    assert "graph-cycle" in codes


def test_a_dangling_edge_is_blocking() -> None:
    a = step("a", "n1", inputs=["x"])
    dangling = pipeline("dangling", [a], [edge("ghost", "out", "n1", "x")])
    assert "dangling-edge" in blocking_codes(dangling)

    to_nowhere = pipeline(
        "to-nowhere", [step("a", "n1", outputs=["y"])], [edge("n1", "y", "gone", "z")]
    )
    assert "dangling-edge" in blocking_codes(to_nowhere)


def test_a_missing_module_is_blocking_and_names_the_step() -> None:
    broken = step("broken", "n1", module_read=False, problems=("GET module: 404 NotFound",))
    codes = blocking_codes(pipeline("missing-module", [broken]))
    assert codes["missing-module"] == ["broken"]


def test_an_unknown_port_name_is_blocking() -> None:
    a = step("a", "n1", outputs=["y"])
    b = step("b", "n2", inputs=["x"])
    wrong_in = pipeline(
        "wrong-in", [a, b], [edge("n1", "y", "n2", "nope"), edge("n1", "y", "n2", "x")]
    )
    assert blocking_codes(wrong_in)["unknown-port"] == ["b"]
    wrong_out = pipeline("wrong-out", [a, b], [edge("n1", "nope", "n2", "x")])
    assert blocking_codes(wrong_out)["unknown-port"] == ["a"]


def test_duplicate_step_names_are_blocking() -> None:
    twins = pipeline("twins", [step("same", "n1"), step("same", "n2")])
    assert blocking_codes(twins)["duplicate-step-name"] == ["same"]


def test_a_required_input_with_no_edge_is_blocking() -> None:
    lonely = pipeline("lonely", [step("a", "n1", inputs=["x"])])
    assert blocking_codes(lonely)["unfed-input"] == ["a"]


def test_an_unread_or_empty_graph_is_blocking() -> None:
    unread = PublishedPipeline(id="id-unread", name="unread", problems=("graph: 500",))
    assert "no-graph" in blocking_codes(unread)
    empty = replace(unread, id="id-empty", name="empty", graph=Graph("g"), problems=())
    assert "graph-empty" in blocking_codes(empty)


@pytest.mark.parametrize(
    ("step_type", "code", "words"),
    [
        ("DataTransferStep", "no-v2-equivalent", "Data Factory"),
        ("DatabricksStep", "no-v2-equivalent", "Databricks job"),
        ("KustoStep", "no-v2-equivalent", "Kusto"),
        ("AdlaStep", "no-v2-equivalent", "U-SQL"),
        ("AzureBatchStep", "no-v2-equivalent", "command step"),
        ("HDInsightStep", "no-v2-equivalent", "spark component"),
        ("HyperDriveStep", "manual-step", "sweep"),
        ("AutoMLStep", "manual-step", "automl"),
        ("", "unknown-step-type", "by hand"),
    ],
)
def test_step_types_without_a_component_block_with_the_alternative(
    step_type: str, code: str, words: str
) -> None:
    odd = pipeline(f"odd-{step_type or 'unknown'}", [step("s", "n1", step_type=step_type)])
    good = two_steps()
    result = build_plan([good, odd], [], snapshots=snapshots_for(good, odd))
    findings = [f for f in result.pipeline(odd.id).findings if f.severity is Severity.BLOCKING]
    assert [f.code for f in findings] == [code]
    assert words in findings[0].message
    assert result.pipeline(good.id).deployable


def test_a_missing_snapshot_blocks_its_pipeline_only() -> None:
    good = two_steps()
    other = two_steps("other")
    snapshots = snapshots_for(good)
    result = build_plan(
        [good, other], [], snapshots=snapshots, snapshot_problems={"snap-n1": "HTTP 404"}
    )
    assert result.pipeline(good.id).deployable  # "good" and "other" share snapshot ids
    assert result.pipeline(other.id).deployable

    lost = pipeline("lost", [step("a", "n9")])
    result = build_plan(
        [good, lost], [], snapshots=snapshots, snapshot_problems={"snap-n9": "HTTP 404"}
    )
    finding = next(f for f in result.pipeline(lost.id).findings if f.code == "code-snapshot")
    assert finding.severity is Severity.BLOCKING and "HTTP 404" in finding.message


def test_a_snapshot_that_is_not_a_zip_is_blocking() -> None:
    good = two_steps()
    result = build_plan([good], [], snapshots={"snap-n1": b"not a zip", "snap-n2": b""})
    codes = {f.code for f in result.pipeline(good.id).findings if f.severity is Severity.BLOCKING}
    assert codes == {"code-snapshot"}


def test_many_problems_in_one_plan_all_reported_and_written(tmp_path: Path) -> None:
    good = two_steps()
    bad = [
        pipeline(
            "cyclic", [step("a", "n1", inputs=["x"], outputs=["y"])], [edge("n1", "y", "n1", "x")]
        ),
        pipeline("twins", [step("same", "n1"), step("same", "n2")]),
        pipeline("hyper", [step("tune", "n1", step_type="HyperDriveStep")]),
        pipeline(
            "bad-argument",
            [step("a", "n1", arguments=[literal("--x"), ref("input", "undeclared")])],
        ),
    ]
    result = build_plan([good, *bad], [], snapshots=snapshots_for(good, *bad))
    assert [p.verdict for p in result.pipelines if p.pipeline_id != good.id].count(BLOCKED) == 3
    argument = result.pipeline("bad-argument")
    assert any(f.code == "argument" and "undeclared" in f.message for f in argument.findings)

    written = write_plan(result, tmp_path)
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    for blocked in ("cyclic", "twins", "hyper"):
        folder = result.pipeline(blocked).folder
        assert f"{folder}/findings.md" in names
        assert f"{folder}/pipeline.yml" not in names
        assert not (tmp_path / result.pipeline(blocked).endpoint_name / "endpoint.yml").exists()
    assert f"{result.pipeline(good.id).folder}/deployment.yml" in names


def test_a_snapshot_with_a_path_outside_its_folder_is_blocking(tmp_path: Path) -> None:
    good = two_steps()
    snapshots = snapshots_for(good)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../escape.py", "print('out')\n")
    snapshots["snap-n1"] = buffer.getvalue()
    result = build_plan([good], [], snapshots=snapshots)
    planned = result.pipeline(good.id)
    assert any(f.code == "code-snapshot" and "outside" in f.message for f in planned.findings)
    write_plan(result, tmp_path / "out")
    assert not (tmp_path / "escape.py").exists()
    files = sorted(p.name for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert files == ["findings.md", "plan.md"]


def test_rewriting_a_plan_replaces_its_code_and_components(tmp_path: Path) -> None:
    good = two_steps()
    result = build_plan([good], [], snapshots=snapshots_for(good))
    write_plan(result, tmp_path)
    folder = tmp_path / result.pipeline(good.id).folder
    (folder / "code" / "prep" / "stale.py").write_text("old\n")
    (folder / "notes.md").write_text("mine\n")
    write_plan(result, tmp_path)
    assert not (folder / "code" / "prep" / "stale.py").exists()
    assert (folder / "notes.md").read_text() == "mine\n"
    assert (folder / "code" / "prep" / "prep.py").is_file()
