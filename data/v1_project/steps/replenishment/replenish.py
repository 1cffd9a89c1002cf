"""Turn next week's forecast into store orders, with a safety stock on top.

Run by a CommandStep (``python replenish.py ...``), not a PythonScriptStep.

Inputs:  --forecast_dir   folder with weekly_forecast.csv (store_id, product_id, next_week_units)
Params:  --safety_factor  multiplier on the forecast, e.g. 1.15 for 15 % safety stock
         --pack_size      orders are rounded up to whole packs of this many units
Output:  --output_dir     orders.csv (store_id, product_id, order_units)
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--forecast_dir", required=True)
    parser.add_argument("--safety_factor", type=float, default=1.15)
    parser.add_argument("--pack_size", type=int, default=6)
    parser.add_argument("--output_dir", required=True)
    args = parser.parse_args()

    with (Path(args.forecast_dir) / "weekly_forecast.csv").open(newline="", encoding="utf-8") as f:
        forecast = list(csv.DictReader(f))

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "orders.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["store_id", "product_id", "order_units"])
        for row in forecast:
            need = float(row["next_week_units"]) * args.safety_factor
            packs = math.ceil(need / args.pack_size)
            writer.writerow([row["store_id"], row["product_id"], packs * args.pack_size])
    print(f"replenish: rows={len(forecast)} safety={args.safety_factor} pack={args.pack_size}")


if __name__ == "__main__":
    main()
