"""Clean the raw daily sales: keep one region, drop tiny rows, sum duplicates.

Inputs:  --sales_dir   folder of sales CSVs (date, store_id, product_id, units, revenue)
         --stores_dir  folder with stores.csv (store_id, store_name, region, size)
Params:  --region      region code such as CH-ZH, or ALL for every store
         --min_units   rows with fewer units are dropped
Output:  --output_dir  daily_sales.csv, sorted by date, store_id, product_id
"""

from __future__ import annotations

import argparse
import csv
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales_dir", required=True)
    parser.add_argument("--stores_dir", required=True)
    parser.add_argument("--region", default="ALL")
    parser.add_argument("--min_units", type=int, default=0)
    parser.add_argument("--output_dir", required=True)
    args = parser.parse_args()

    region = os.path.expandvars(args.region)
    stores = {row["store_id"]: row for row in read_rows(args.stores_dir)}
    keep = {sid for sid, row in stores.items() if region in ("ALL", row["region"])}

    totals: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for row in read_rows(args.sales_dir):
        units = int(row["units"])
        if row["store_id"] not in keep or units < args.min_units:
            continue
        key = (row["date"], row["store_id"], row["product_id"])
        totals[key][0] += units
        totals[key][1] += float(row["revenue"])

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "daily_sales.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "store_id", "product_id", "units", "revenue"])
        for (day, store, product), (units, revenue) in sorted(totals.items()):
            writer.writerow([day, store, product, int(units), f"{revenue:.2f}"])
    print(f"prep_sales: region={region} min_units={args.min_units} rows={len(totals)}")


if __name__ == "__main__":
    main()
