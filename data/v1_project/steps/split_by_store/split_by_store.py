"""Split the sales history into one CSV file per store, for the parallel scoring step.

Inputs:  --sales_dir   folder of daily sales CSVs
Params:  --since       first date to keep (ISO date)
Output:  --output_dir  store_<store_id>.csv per store (date, product_id, units)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales_dir", required=True)
    parser.add_argument("--since", default="2024-03-01")
    parser.add_argument("--output_dir", required=True)
    args = parser.parse_args()

    by_store: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in read_rows(args.sales_dir):
        if row["date"] >= args.since:
            by_store[row["store_id"]].append(row)

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for store, rows in sorted(by_store.items()):
        with (out / f"store_{store}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["date", "product_id", "units"])
            for row in sorted(rows, key=lambda r: (r["date"], r["product_id"])):
                writer.writerow([row["date"], row["product_id"], row["units"]])
    print(f"split_by_store: stores={len(by_store)} since={args.since}")


if __name__ == "__main__":
    main()
