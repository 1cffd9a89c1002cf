"""An inventory of 5,000 published pipelines in the inventory panel's table, in a real browser.

Builds a synthetic inventory DataFrame in the inventory's own columns (``InventoryRow``: names,
versions, endpoints, step types, parameters, verdicts and reasons of sample-like variety),
saves it beside a small notebook, and opens that notebook in JupyterLab 4 in Debian's chromium
(Playwright; the recipe of ``tests/browser/labserver.py``). The first cell loads the frame into
a ``Session``; the measured cell builds the ``InventoryPanel`` and displays it. The figure is
the time from pressing Shift+Enter on that cell to the table's first rows being visible with
DataTables' "of 5,000 entries" line, and the kernel's share of it (building the panel).
Target: under 2 s.

Each run uses a fresh copy of the notebook, so a fresh kernel.

Usage: ``.venv/bin/python benchmarks/inventory_table.py [--rows 5000] [--runs 3]``. Prints the
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
SHOT = ROOT / "tests" / "output" / "inventory_table.png"  # git ignores tests/output/
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from labserver import launch_chromium, start_lab  # noqa: E402

from migrate_kit.inventory import BLOCKED, NEEDS_ATTENTION, READY, InventoryRow, to_frame  # noqa: E402

_STEP_TYPES = ["PythonScriptStep", "PythonScriptStep", "PythonScriptStep", "ParallelRunStep",
               "CommandStep", "DataTransferStep"]  # fmt: skip


BLOCKING_REASON = "a DataTransferStep has no v2 equivalent in a batch deployment"


def synthetic_inventory(n: int, seed: int = 7) -> object:
    """``n`` inventory rows, about a third of them in v1 endpoints of up to 5 versions."""
    rng = random.Random(seed)
    start = datetime(2021, 1, 1, tzinfo=timezone.utc)
    rows = []
    for i in range(n):
        steps = rng.randint(1, 6)
        types = sorted({rng.choice(_STEP_TYPES) for _ in range(steps)})
        in_endpoint = i % 3 == 0
        endpoint = f"endpoint-{i // 15:04d}" if in_endpoint else None
        verdict = (
            BLOCKED if "DataTransferStep" in types
            else NEEDS_ATTENTION if "ParallelRunStep" in types or i % 11 == 0
            else READY
        )  # fmt: skip
        created = start + timedelta(hours=7 * i)
        rows.append(
            InventoryRow(
                pipeline_id=f"{i:08x}-7d3c-4162-adb5-{rng.getrandbits(48):012x}",
                pipeline_name=f"pipeline-{i:05d}",
                description=f"Synthetic published pipeline number {i}",
                version=f"{1 + i % 4}.{i % 10}",
                status="Disabled" if i % 17 == 0 else "Active",
                endpoint=endpoint,
                endpoint_id=f"ep-{i // 15:04d}" if in_endpoint else None,
                endpoint_version=str(i % 5) if in_endpoint else None,
                is_default=in_endpoint and i % 5 == 0,
                other_endpoints=[],
                v2_endpoint=endpoint or f"pipeline-{i:05d}",
                step_count=steps,
                step_types=types,
                steps=[f"step_{k}" for k in range(steps)],
                parameters={"window": "7", "region": "CH-ZH", "run_date": None},
                parameter_types={},
                data_inputs=["sales_raw (data reference workspaceblobstore/retail/sales)"],
                created=created,
                modified=created + timedelta(days=3),
                verdict=verdict,
                reasons=[BLOCKING_REASON] if verdict == BLOCKED else [],
                notes=[],
                url=None,
            )
        )
    return to_frame(rows)


_LOAD = """\
import pandas as pd
from migrate_kit.panels import Session

frame = pd.read_pickle("inventory.pkl")
session = Session(work_dir="migration")
session.inventory = frame
print("loaded", len(frame))"""

_SHOW = """\
import time
from migrate_kit.panels import InventoryPanel

began = time.perf_counter()
panel = InventoryPanel(session)
print(f"panel built in {time.perf_counter() - began:.2f} s")
panel"""


def _notebook(path: Path) -> None:
    nb = new_notebook(cells=[new_code_cell(_LOAD), new_code_cell(_SHOW)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}  # fmt: skip
    nbformat.write(nb, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from playwright.sync_api import expect, sync_playwright

    began = time.perf_counter()
    frame = synthetic_inventory(args.rows)
    print(f"synthetic inventory: {args.rows} rows in {time.perf_counter() - began:.2f} s")
    with tempfile.TemporaryDirectory(prefix="inventory-table-") as tmp:
        lab = start_lab(Path(tmp))
        try:
            frame.to_pickle(lab.root / "inventory.pkl")  # type: ignore[attr-defined]
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                print(f"JupyterLab {lab.base_url}, chromium {browser.version}")
                total = f"{args.rows:,}"
                walls, kernel = [], []
                for run in range(1, args.runs + 1):
                    name = f"table_{run}.ipynb"
                    _notebook(lab.root / name)
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    page.goto(lab.url(name))
                    status = page.locator("#jp-main-statusbar")
                    expect(status.get_by_text(re.compile(r"\(ipykernel\) \| Idle"))).to_be_visible(
                        timeout=90_000
                    )
                    page.locator(".jp-Cell").first.click()
                    page.keyboard.press("Escape")
                    page.keyboard.press("Shift+Enter")  # the load cell; the next is selected
                    expect(page.get_by_text(f"loaded {args.rows}")).to_be_visible(timeout=90_000)
                    expect(status.get_by_text(re.compile(r"\| Idle"))).to_be_visible()
                    started = time.perf_counter()
                    page.keyboard.press("Shift+Enter")  # the measured cell
                    first = page.locator("table.dataTable tbody td", has_text="pipeline-00000")
                    expect(first).to_be_visible(timeout=60_000)
                    expect(page.get_by_text(re.compile(rf"of {total} entries"))).to_be_visible(
                        timeout=60_000
                    )
                    seconds = time.perf_counter() - started
                    built = page.get_by_text(re.compile(r"panel built in [\d.]+ s")).inner_text()
                    built = built.strip()
                    walls.append(seconds)
                    kernel.append(float(re.findall(r"[\d.]+", built)[0]))
                    print(f"  run {run}: rows visible {seconds:.2f} s after the cell ran ({built})")
                    if run == 1:
                        SHOT.parent.mkdir(parents=True, exist_ok=True)
                        page.screenshot(path=str(SHOT))
                        print(f"  screenshot: {SHOT}")
                    page.close()
                browser.close()
            size = (lab.root / "inventory.pkl").stat().st_size
            print(
                f"{args.rows} rows: median {statistics.median(walls):.2f} s, "
                f"max {max(walls):.2f} s from cell start to rows visible (target: < 2 s); "
                f"kernel share median {statistics.median(kernel):.2f} s; "
                f"frame pickle {size / 1e6:.1f} MB"
            )
        finally:
            lab.stop()


if __name__ == "__main__":
    main()
