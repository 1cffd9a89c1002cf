"""The workbook's notebooks, each executed in a real kernel (papermill) against an emulator.

The module's emulator serves the sample workspace; the notebooks are copied to a temporary
folder and run there in order with the same parameters, as ``migrate-kit demo`` runs them, so
the state passes from one to the next through ``work_dir``. A second run of the inventory
notebook drives its panels from code, as a person's clicks would (select two rows, "Migrate
selected", "Test selected").
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
import requests

from migrate_kit import Ledger, ledger_frame
from migrate_kit.cli.demo import NOTEBOOKS, NotebookFailed, run_notebook
from migrate_kit.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
PARAMETERS = ("workspace", "connection_file", "config", "work_dir", "select")


@dataclass
class Workbook:
    folder: Path  # the copies, executed in place
    work_dir: Path
    executed: dict[str, nbformat.NotebookNode] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def notebook(self, name: str) -> nbformat.NotebookNode:
        assert name not in self.failed, self.failed[name]
        assert name in self.executed, f"{name} did not run: an earlier notebook failed"
        return self.executed[name]


def _copy_notebooks(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in NOTEBOOKS:
        shutil.copy(ROOT / "notebooks" / name, target / name)
    return target


def _run(workbook: Workbook, name: str, parameters: dict[str, Any]) -> None:
    path = workbook.folder / name
    try:
        run_notebook(path, path, parameters, cwd=workbook.folder)
    except NotebookFailed as exc:
        workbook.failed[name] = str(exc)
    workbook.executed[name] = nbformat.read(path, as_version=4)


@pytest.fixture(scope="module")
def workbook(private_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Workbook:
    base = tmp_path_factory.mktemp("workbook")
    book = Workbook(folder=_copy_notebooks(base / "notebooks"), work_dir=base / "migration")
    parameters = {
        "workspace": "emulator",
        "connection_file": str(private_emulator.connection_file),
        "work_dir": str(book.work_dir),
        "select": "ready",
    }
    for name in NOTEBOOKS:
        _run(book, name, parameters)
        if name in book.failed:
            break
    return book


def _outputs(nb: nbformat.NotebookNode) -> Iterator[dict[str, Any]]:
    for cell in nb.cells:
        if cell.cell_type == "code":
            yield from cell.get("outputs", [])


def _text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for output in _outputs(nb):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif output["output_type"] in ("execute_result", "display_data"):
            parts.append(str(output["data"].get("text/plain", "")))
        elif output["output_type"] == "error":
            parts.append(f"{output['ename']}: {output['evalue']}")
    return "\n".join(parts)


def _widget_count(nb: nbformat.NotebookNode) -> int:
    return sum(
        "application/vnd.jupyter.widget-view+json" in output.get("data", {})
        for output in _outputs(nb)
    )


# --- the shipped files ------------------------------------------------------------------------


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_shipped_notebook_has_parameters_and_no_outputs(name: str) -> None:
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    nbformat.validate(nb)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "one cell tagged 'parameters' (papermill)"
    assert all(f"\n{p} = " in f"\n{tagged[0].source}" for p in PARAMETERS)
    assert 'workspace = "emulator"' in tagged[0].source  # the local emulator by default
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "outputs cleared"


def test_start_here_explains_the_concepts() -> None:
    nb = nbformat.read(ROOT / "notebooks" / "00_start_here.ipynb", as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for words in (
        "Pipeline component + pipeline component deployment",
        "Batch endpoint",
        "Default deployment",
        "`PipelineParameter` | Input",
        "`PipelineData`",
        "Invoke",
        "https://ml.azure.com/.default",
        "config.json",
    ):
        assert words in text, words


# --- the workbook run in order ------------------------------------------------------------------


def test_start_here_connects_and_shows_the_connect_panel(workbook: Workbook) -> None:
    nb = workbook.notebook("00_start_here.ipynb")
    assert "workspace 'mlw-contoso-forecast'" in _text(nb)
    assert _widget_count(nb) == 1


def test_inventory_notebook_shows_the_table_and_preselects_ready(workbook: Workbook) -> None:
    nb = workbook.notebook("01_inventory.ipynb")
    text = _text(nb)
    assert "ready              7" in text and "blocked            2" in text
    assert _widget_count(nb) == 3  # inventory, migrate, test
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    labels = [m["state"].get("value") for m in state.values() if m["model_name"] == "LabelModel"]
    assert "7 selected" in labels


def test_plan_notebook_writes_the_plan_of_the_ready_pipelines(workbook: Workbook) -> None:
    nb = workbook.notebook("02_plan.ipynb")
    assert "7 published pipelines selected" in _text(nb)
    plan_dir = workbook.work_dir / "plan"
    assert (plan_dir / "plan.md").is_file()
    assert (plan_dir / "weekly-demand-forecast" / "endpoint.yml").is_file()
    assert not (plan_dir / "sales-export-to-lake").exists()  # blocked: not selected


def test_migrate_notebook_migrates_into_the_ledger(workbook: Workbook) -> None:
    nb = workbook.notebook("03_migrate.ipynb")
    assert "7 migrated in" in _text(nb)
    with Ledger(workbook.work_dir / "ledger.sqlite") as ledger:
        assert len(ledger_frame(ledger)) == 7


def test_test_notebook_invokes_every_deployment(workbook: Workbook) -> None:
    nb = workbook.notebook("04_test.ipynb")
    assert "7 passed of 7" in _text(nb)


def test_report_notebook_exports_the_ledger(workbook: Workbook) -> None:
    nb = workbook.notebook("05_report.ipynb")
    assert _widget_count(nb) == 1
    report = workbook.work_dir / "report"
    for suffix in ("csv", "xlsx", "html", "md", "json"):
        assert (report / f"migration-report.{suffix}").is_file()
    rows = json.loads((report / "migration-report.json").read_text(encoding="utf-8"))
    statuses = [r["status"] for r in rows["pipelines"]]
    assert statuses == ["tested"] * 7


def test_no_notebook_shows_a_traceback_or_a_secret(
    workbook: Workbook, private_emulator: Emulator
) -> None:
    env = private_emulator.connection["env"]
    secret = env["IDENTITY_HEADER"]
    token = requests.get(
        env["IDENTITY_ENDPOINT"],
        params={"api-version": "2019-08-01", "resource": private_emulator.base_url},
        headers={"X-IDENTITY-HEADER": secret},
        verify=private_emulator.connection["ca_bundle"],
        timeout=10,
    ).json()["access_token"]
    for name in NOTEBOOKS:
        nb = workbook.notebook(name)
        errors = [o for o in _outputs(nb) if o["output_type"] == "error"]
        assert errors == [], name
        text = json.dumps(nb)
        assert secret not in text, name
        assert token.split(".")[0] + "." not in text, name  # no JWT of the emulator's
        assert "sig=" not in text, name  # no SAS signature
        assert "Traceback" not in _text(nb), name
        assert "\x1b[39m" not in _text(nb), name  # azure-ai-ml's colour resets are filtered


# --- the inventory notebook's interactive path, driven from code -------------------------------

_DRIVE = """\
frame = inventory_panel.shown
rows = [i for i, name in enumerate(frame["name"] + " " + frame["version"].astype(str))
        if name in ("daily-sales-forecast 0.9", "store-batch-scoring 1.0")]
inventory_panel.table.set_state({"selected_rows": rows})  # what a click in the browser sends
assert inventory_panel.selected_label.value == "2 selected", inventory_panel.selected_label.value
migrate_panel.migrate_button.click()
migrate_panel.wait(300)
assert migrate_panel.error is None, migrate_panel.error
assert sorted(migrate_panel.result.counts().items()) == [("migrated", 2)], migrate_panel.result
test_panel.test_button.click()
test_panel.wait(300)
assert test_panel.error is None, test_panel.error
assert [o.status for o in test_panel.outcomes] == ["passed", "passed"], test_panel.outcomes
print(migrate_panel.status.value)
print(test_panel.status.value)
"""


def test_inventory_notebook_migrates_and_tests_two_selected_rows(
    private_emulator: Emulator, tmp_path: Path
) -> None:
    source = nbformat.read(ROOT / "notebooks" / "01_inventory.ipynb", as_version=4)
    source.cells.append(nbformat.v4.new_code_cell(_DRIVE))
    path = tmp_path / "01_inventory.ipynb"
    nbformat.write(source, path)
    parameters = {
        "connection_file": str(private_emulator.connection_file),
        "work_dir": str(tmp_path / "migration"),
        "select": [],
    }
    try:
        run_notebook(path, path, parameters, cwd=tmp_path)
    except NotebookFailed as exc:
        pytest.fail(str(exc))
    text = _text(nbformat.read(path, as_version=4))
    assert "Migrated. 2 published pipelines" in text
    assert "2 tested: 2 passed, 0 failed" in text
    with Ledger(tmp_path / "migration" / "ledger.sqlite") as ledger:
        assert sorted(ledger_frame(ledger)["status"]) == ["tested", "tested"]
