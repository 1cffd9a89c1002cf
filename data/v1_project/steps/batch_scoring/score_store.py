"""ParallelRunStep entry script: score one mini-batch of per-store sales files.

The parallel-run driver calls ``init()`` once per worker and ``run(mini_batch)`` per mini-batch,
where ``mini_batch`` is a list of file paths. With ``output_action="append_row"`` every returned
line is appended to the step's output file (parallel_run_step.txt).

Params (step arguments): --horizon_days  days to forecast (mean of the last 7 days times this)
Returned line per file:  store_id,units_last_7_days,forecast_units
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

HORIZON_DAYS = 7


def init() -> None:
    """Read the step arguments once; unknown driver arguments are ignored."""
    global HORIZON_DAYS
    parser = argparse.ArgumentParser()
    parser.add_argument("--horizon_days", type=int, default=7)
    args, _ = parser.parse_known_args()
    HORIZON_DAYS = args.horizon_days


def score_file(path: Path) -> str:
    """One output line for one store file."""
    per_day: dict[str, float] = defaultdict(float)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            per_day[row["date"]] += float(row["units"])
    last_week = [per_day[day] for day in sorted(per_day)[-7:]]
    total = sum(last_week)
    forecast = total / max(1, len(last_week)) * HORIZON_DAYS
    store = path.stem.removeprefix("store_")
    return f"{store},{total:.0f},{forecast:.1f}"


def run(mini_batch: list[str]) -> list[str]:
    """Score every file of the mini-batch, in name order."""
    return [score_file(Path(item)) for item in sorted(mini_batch)]
