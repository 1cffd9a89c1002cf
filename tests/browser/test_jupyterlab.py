"""A person's path through the inventory notebook in JupyterLab 4, in a real chromium.

Open ``01_inventory.ipynb``, Run All, tick two rows of the inventory table, "Migrate selected",
then "Test selected": both are reported migrated, then tested, and the ledger the kernel wrote
agrees. The notebook runs with its defaults (the local emulator started in its kernel), except
``select = []`` given as papermill would give it, so that nothing is preselected. A screenshot
of each stage is saved under ``tests/output/browser/<test>/``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import nbformat
from labserver import Lab, open_and_run_all, table_row
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook
from playwright.sync_api import expect

from migrate_kit import Ledger, ledger_frame

ROOT = Path(__file__).resolve().parents[2]
PICKED = (("daily-sales-forecast", "0.9"), ("zurich_store_forecast", "1.0"))


def _shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_select_two_rows_migrate_and_test_them(lab: Lab, page: Any, screenshots: Path) -> None:
    nb = load_notebook_node(str(ROOT / "notebooks" / "01_inventory.ipynb"))
    nbformat.write(parameterize_notebook(nb, {"select": []}), lab.root / "01_inventory.ipynb")
    started = time.perf_counter()

    open_and_run_all(page, lab, "01_inventory.ipynb")
    for name, version in PICKED:
        expect(table_row(page, name, version)).to_be_visible(timeout=90_000)
    expect(page.get_by_text("0 selected", exact=True)).to_be_visible()
    _shot(page, screenshots, "1-inventory")

    for name, version in PICKED:
        table_row(page, name, version).click()
    expect(page.get_by_text("2 selected", exact=True)).to_be_visible()  # the kernel has it
    _shot(page, screenshots, "2-selected")

    page.get_by_role("button", name="Migrate selected").click()
    expect(page.get_by_text(re.compile(r"Migrated\. 2 published pipelines"))).to_be_visible(
        timeout=120_000
    )
    _shot(page, screenshots, "3-migrated")

    page.get_by_role("button", name="Test selected").click()
    expect(page.get_by_text("2 tested: 2 passed, 0 failed.")).to_be_visible(timeout=120_000)
    _shot(page, screenshots, "4-tested")
    print(f"\nbrowser path in {time.perf_counter() - started:.1f} s; screenshots in {screenshots}")

    with Ledger(lab.root / "migration" / "ledger.sqlite") as ledger:
        report = ledger_frame(ledger)
    assert sorted(zip(report["pipeline_name"], report["status"], strict=True)) == [
        ("daily-sales-forecast", "tested"),
        ("zurich_store_forecast", "tested"),
    ]
