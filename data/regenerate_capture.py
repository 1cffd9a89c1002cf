"""Regenerate ``data/capture/`` by publishing the sample with the real v1 SDK into an emulator.

Run from the repository root with the product venv:

    .venv/bin/python data/regenerate_capture.py

Steps:

1. Find or make the v1 SDK's own venv (``${MIGRATE_KIT_CACHE:-~/.cache/migrate_kit}/v1peer``,
   ``azureml-core azureml-pipeline-core azureml-pipeline-steps`` from PyPI; or the interpreter in
   ``MIGRATE_KIT_V1_PYTHON``). The v1 SDK never enters the product venv.
2. Start an EMPTY emulator (no capture, no datastore files, no hand-written entities) with the
   workspace settings of ``data/workspace.json``.
3. Run ``data/v1_project/publish_pipelines.py`` in the v1 venv against it, through the shared
   harness ``tests/v1peer/harness.py`` (fresh HOME, connection env, ``*.blob.localhost`` resolving
   to 127.0.0.1 inside the v1 process only).
4. Replace ``data/capture/`` with ``Store.export_capture``: only what the SDK produced (entities,
   and the step-code snapshot blobs it uploaded).

``--keep-state DIR`` keeps the emulator's state folder for inspection (request log included in
``DIR/requests.json``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent
REPO = DATA.parent
sys.path.insert(0, str(REPO / "tests" / "v1peer"))
sys.path.insert(0, str(REPO))

import harness  # noqa: E402  (the shared v1 peer harness, see its docstring)

from migrate_kit.emulator.config import load_config  # noqa: E402
from migrate_kit.emulator.lifecycle import Emulator  # noqa: E402

PUBLISH_SCRIPT = DATA / "v1_project" / "publish_pipelines.py"
CAPTURE = DATA / "capture"


def regenerate(state_dir: Path, capture: Path = CAPTURE) -> dict:
    """Publish the sample into an empty emulator in ``state_dir``; export it to ``capture``."""
    started = time.monotonic()
    python = harness.v1_python()
    print(f"v1 SDK interpreter: {python}", file=sys.stderr)

    config = load_config(DATA)
    with Emulator(state_dir=state_dir, sample=None, config=config) as emulator:
        summary = harness.run_v1_json(PUBLISH_SCRIPT, [], emulator.connection)
        log = emulator.request_log()
        (state_dir / "requests.json").write_text(json.dumps(log, indent=1), encoding="utf-8")

        if capture.exists():
            shutil.rmtree(capture)
        emulator.ctx.store.export_capture(capture)

    elapsed = time.monotonic() - started
    print(
        f"Published {len(summary['pipelines'])} pipelines and {len(summary['endpoints'])} "
        f"endpoints with {len(log)} requests in {elapsed:.0f} s; capture written to {capture}",
        file=sys.stderr,
    )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-state", type=Path, help="keep the emulator state folder here")
    parser.add_argument("--capture", type=Path, default=CAPTURE, help="where to write the capture")
    args = parser.parse_args()

    if args.keep_state:
        args.keep_state.mkdir(parents=True, exist_ok=True)
        summary = regenerate(args.keep_state, args.capture)
    else:
        with tempfile.TemporaryDirectory(prefix="regenerate-capture-") as scratch:
            summary = regenerate(Path(scratch), args.capture)
    json.dump(summary, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
