"""Forecast daily units per store and product from cleaned sales and weekly prices.

Two upstream steps feed this one (a fan-in): the cleaned sales and the weekly prices.
Method: exponential smoothing of the daily units (weight ``--smoothing`` on the newest day),
times a weekday profile, times a price factor ``(mean price / last price) ** 1.2``.

Inputs:  --sales_dir     folder with daily_sales.csv
         --prices_dir    folder with weekly_prices.csv
Params:  --horizon_days  number of days to forecast after the last sales day
         --smoothing     smoothing weight between 0 and 1
Output:  --output_dir    forecast.csv (store_id, product_id, date, forecast_units)
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
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


def weekday_profile(series: list[tuple[dt.date, float]]) -> list[float]:
    """Average units per weekday divided by the overall average (1.0 when no sales)."""
    sums, counts = [0.0] * 7, [0] * 7
    for day, units in series:
        sums[day.weekday()] += units
        counts[day.weekday()] += 1
    overall = sum(sums) / max(1, sum(counts))
    if overall == 0:
        return [1.0] * 7
    return [(sums[i] / counts[i]) / overall if counts[i] else 1.0 for i in range(7)]


def price_factors(price_rows: list[dict[str, str]]) -> dict[str, float]:
    """Per product: (mean price / newest price) ** 1.2, so a promotion lifts demand."""
    prices: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for row in price_rows:
        prices[row["product_id"]].append((row["week_start"], float(row["price"])))
    factors = {}
    for product, items in prices.items():
        items.sort()
        mean = sum(price for _, price in items) / len(items)
        factors[product] = (mean / items[-1][1]) ** 1.2
    return factors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales_dir", required=True)
    parser.add_argument("--prices_dir", required=True)
    parser.add_argument("--horizon_days", type=int, default=7)
    parser.add_argument("--smoothing", type=float, default=0.3)
    parser.add_argument("--output_dir", required=True)
    args = parser.parse_args()

    series: dict[tuple[str, str], list[tuple[dt.date, float]]] = defaultdict(list)
    for row in read_rows(args.sales_dir):
        key = (row["store_id"], row["product_id"])
        series[key].append((dt.date.fromisoformat(row["date"]), float(row["units"])))
    factors = price_factors(read_rows(args.prices_dir))

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "forecast.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["store_id", "product_id", "date", "forecast_units"])
        for (store, product), points in sorted(series.items()):
            points.sort()
            level = points[0][1]
            for _, units in points[1:]:
                level = args.smoothing * units + (1 - args.smoothing) * level
            profile = weekday_profile(points)
            last_day = points[-1][0]
            for offset in range(1, args.horizon_days + 1):
                day = last_day + dt.timedelta(days=offset)
                value = level * profile[day.weekday()] * factors.get(product, 1.0)
                writer.writerow([store, product, day.isoformat(), f"{value:.2f}"])
    print(f"forecast: series={len(series)} horizon={args.horizon_days} alpha={args.smoothing}")


if __name__ == "__main__":
    main()
