"""Turn the weekly price list into one row per product and week.

Inputs:  --prices_dir      folder of price CSVs (product_id, week_start, price, promo)
Params:  --include_promos  True keeps promotional prices; False replaces them with the regular
                           price of the product (the highest price seen) and clears the flag
Output:  --output_dir      weekly_prices.csv
"""

from __future__ import annotations

import argparse
import csv
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


def as_bool(text: str) -> bool:
    """Parse the way pipeline parameters arrive: True/False, true/false, 1/0."""
    return text.strip().lower() in ("true", "1", "yes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prices_dir", required=True)
    parser.add_argument("--include_promos", default="True")
    parser.add_argument("--output_dir", required=True)
    args = parser.parse_args()

    include_promos = as_bool(args.include_promos)
    rows = read_rows(args.prices_dir)
    regular: dict[str, float] = {}
    for row in rows:
        regular[row["product_id"]] = max(regular.get(row["product_id"], 0.0), float(row["price"]))

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "weekly_prices.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["product_id", "week_start", "price", "promo"])
        for row in sorted(rows, key=lambda r: (r["product_id"], r["week_start"])):
            promo = row["promo"] == "1" and include_promos
            regular_week = row["promo"] != "1"
            price = float(row["price"]) if promo or regular_week else regular[row["product_id"]]
            writer.writerow([row["product_id"], row["week_start"], f"{price:.2f}", int(promo)])
    print(f"prep_prices: include_promos={include_promos} rows={len(rows)}")


if __name__ == "__main__":
    main()
