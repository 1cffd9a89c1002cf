"""Estimate the price elasticity of demand per product from weekly sales and prices.

The slope of log(weekly units) against log(weekly price), by least squares. The region argument
may arrive in the legacy form ``$AML_PARAMETER_region``: it is expanded from the environment,
where the v1 runtime exports every step parameter as ``AML_PARAMETER_<name>``.

Inputs:  --sales_dir   folder of daily sales CSVs (date, store_id, product_id, units)
         --prices_dir  folder of price CSVs (product_id, week_start, price, promo)
Params:  --region      label written into the report (legacy placeholder form accepted)
         --min_weeks   products with fewer weeks of data are reported as "insufficient"
Output:  --output_dir  elasticity.csv (product_id, region, weeks, elasticity)
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import os
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


def week_start(day: str) -> str:
    """ISO date of the Monday of the week holding ``day``."""
    date = dt.date.fromisoformat(day)
    return (date - dt.timedelta(days=date.weekday())).isoformat()


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y on x (0.0 when x does not vary)."""
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    var_x = sum((x - mean_x) ** 2 for x, _ in points)
    if var_x == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var_x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales_dir", required=True)
    parser.add_argument("--prices_dir", required=True)
    parser.add_argument("--region", default="ALL")
    parser.add_argument("--min_weeks", type=int, default=3)
    parser.add_argument("--output_dir", required=True)
    args = parser.parse_args()

    region = os.path.expandvars(args.region)
    weekly: dict[tuple[str, str], float] = defaultdict(float)
    for row in read_rows(args.sales_dir):
        weekly[(row["product_id"], week_start(row["date"]))] += float(row["units"])
    price_rows = read_rows(args.prices_dir)
    prices = {(r["product_id"], r["week_start"]): float(r["price"]) for r in price_rows}

    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for (product, week), units in sorted(weekly.items()):
        if units > 0 and (product, week) in prices:
            points[product].append((math.log(prices[(product, week)]), math.log(units)))

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "elasticity.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["product_id", "region", "weeks", "elasticity"])
        for product, pts in sorted(points.items()):
            value = f"{slope(pts):.3f}" if len(pts) >= args.min_weeks else "insufficient"
            writer.writerow([product, region, len(pts), value])
    print(f"elasticity: region={region} min_weeks={args.min_weeks} products={len(points)}")


if __name__ == "__main__":
    main()
