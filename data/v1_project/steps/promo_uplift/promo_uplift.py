"""Measure how much promotions lift weekly units per product.

Uplift = mean weekly units in promotion weeks / mean weekly units in regular weeks - 1.

Inputs:  --sales_dir   folder of daily sales CSVs
         --prices_dir  folder with weekly_prices.csv (product_id, week_start, price, promo)
Params:  --min_uplift  products whose uplift is below this fraction are flagged "weak"
Output:  --output_dir  promo_uplift.csv (product_id, promo_weeks, uplift, verdict)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales_dir", required=True)
    parser.add_argument("--prices_dir", required=True)
    parser.add_argument("--min_uplift", type=float, default=0.1)
    parser.add_argument("--output_dir", required=True)
    args = parser.parse_args()

    weekly: dict[tuple[str, str], float] = defaultdict(float)
    for row in read_rows(args.sales_dir):
        day = dt.date.fromisoformat(row["date"])
        monday = (day - dt.timedelta(days=day.weekday())).isoformat()
        weekly[(row["product_id"], monday)] += float(row["units"])
    price_rows = read_rows(args.prices_dir)
    promo = {(r["product_id"], r["week_start"]): r["promo"] == "1" for r in price_rows}

    groups: dict[str, dict[bool, list[float]]] = defaultdict(lambda: {True: [], False: []})
    for (product, week), units in weekly.items():
        groups[product][promo.get((product, week), False)].append(units)

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "promo_uplift.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["product_id", "promo_weeks", "uplift", "verdict"])
        for product, split in sorted(groups.items()):
            if not split[True] or not split[False]:
                writer.writerow([product, len(split[True]), "", "no comparison"])
                continue
            uplift = (sum(split[True]) / len(split[True])) / (sum(split[False]) / len(split[False]))
            uplift -= 1
            verdict = "strong" if uplift >= args.min_uplift else "weak"
            writer.writerow([product, len(split[True]), f"{uplift:.3f}", verdict])
    print(f"promo_uplift: products={len(groups)} min_uplift={args.min_uplift}")


if __name__ == "__main__":
    main()
