"""Forecast next week's units per store and product with a simple, explainable method.

Inputs:  --sales_dir   folder of sales CSVs (raw or cleaned: date, store_id, product_id, units)
Params:  --method      moving_average (mean of the last --window days, times 7),
                       seasonal_naive (the last 7 days repeated),
                       trend (moving average plus the change between the last two windows)
         --window      days in the averaging window (ignored by seasonal_naive)
Output:  --output_dir  weekly_forecast.csv (store_id, product_id, method, next_week_units)
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path


def read_rows(folder: str) -> list[dict[str, str]]:
    """Read every CSV file of a folder (or one CSV file) in name order."""
    path = Path(folder)
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    rows: list[dict[str, str]] = []
    for file in files:
        with file.open(newline="", encoding="utf-8") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def next_week(units: list[float], method: str, window: int) -> float:
    """Units expected over the next seven days for one daily series (oldest first)."""
    if method == "seasonal_naive":
        return sum(units[-7:])
    recent = units[-window:]
    average = sum(recent) / len(recent)
    if method == "moving_average":
        return 7 * average
    if method == "trend":
        before = units[-2 * window : -window] or recent
        change = average - sum(before) / len(before)
        return max(0.0, 7 * (average + change))
    raise SystemExit(f"unknown --method {method!r}; use moving_average, seasonal_naive or trend")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales_dir", required=True)
    parser.add_argument("--method", default="moving_average")
    parser.add_argument("--window", type=int, default=7)
    parser.add_argument("--output_dir", required=True)
    args = parser.parse_args()

    daily: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in read_rows(args.sales_dir):
        daily[(row["store_id"], row["product_id"])][row["date"]] += float(row["units"])

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "weekly_forecast.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["store_id", "product_id", "method", "next_week_units"])
        for (store, product), by_day in sorted(daily.items()):
            units = [by_day[day] for day in sorted(by_day)]
            value = next_week(units, args.method, max(1, args.window))
            writer.writerow([store, product, args.method, f"{value:.1f}"])
    print(f"weekly_forecast: method={args.method} window={args.window} series={len(daily)}")


if __name__ == "__main__":
    main()
