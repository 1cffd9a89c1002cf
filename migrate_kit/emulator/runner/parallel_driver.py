"""The local stand-in for Azure ML's parallel run: ``python -m ...parallel_driver <config.json>``.

The runner starts it, in the step's code folder, for a parallel step (a v2 parallel component
or a v1 ParallelRunStep). The config file (written by ``execute.StepRun``) holds::

    {"entry_script", "input": local file or folder, "mini_batch_size", "error_threshold",
     "output_action": "append_row" | "summary_only", "append_row_path": file or null,
     "arguments": [program arguments]}

The driver imports the entry script, calls its ``init()`` once, then ``run(mini_batch)`` for
each group of ``mini_batch_size`` input files (absolute paths, sorted by relative path), then
``shutdown()`` if the script has one. Each element ``run`` returns counts as one item done:
``len(mini_batch) - len(result)`` items failed, and an exception fails the whole mini-batch (its
traceback goes to stderr). Once more items failed than ``error_threshold`` (-1: never), the
driver stops and exits 1, which fails the step. For ``append_row`` every returned element is
one line of the output file: a string as it is, a list, tuple or dict row as its values joined
by single spaces, a pandas DataFrame as one line per row with its values joined the same way (no
header, no index); ``summary_only`` writes nothing.

Not emulated: several nodes and processes per node: one process runs every mini-batch in order,
so ``append_row`` lines come in input order. On Azure, workers append as they finish and the
line order is not fixed; compare such files with a real run's after sorting their lines.
Not emulated: driver settings given in a v2 parallel task's ``program_arguments``
(``--error_threshold``, ``--append_row_file_name``, ``--allowed_failed_percent``, the timeouts):
Azure ML's driver reads them from there, this one passes every program argument to the entry
script and takes its settings only from the component (the config file above).
Not emulated: tabular (MLTable / TabularDataset) inputs split by size: only files are batched,
and ``mini_batch_size`` is a file count.
Not emulated: ``run_invocation_timeout``, ``run_max_try`` retries, ``mini_batch_error_threshold``
and the per-process logs under ``logs/`` (everything goes to the step's std_log.txt).
Not emulated: pandas' exact text for values (each value is written with ``str``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import IO, Any

__all__ = ["main", "result_rows"]

logger = logging.getLogger(__name__)


def result_rows(result: Any) -> list[str]:
    """The lines ``append_row`` writes for what ``run`` returned (one per item done)."""
    if result is None:
        return []
    if isinstance(result, (str, bytes)):
        return [_row(result)]
    if hasattr(result, "itertuples") and hasattr(result, "columns"):  # a pandas DataFrame
        return [" ".join(str(v) for v in row) for row in result.itertuples(index=False)]
    return [_row(item) for item in result]


def _row(item: Any) -> str:
    if isinstance(item, bytes):
        return item.decode("utf-8", errors="replace")
    if isinstance(item, dict):
        return " ".join(str(v) for v in item.values())
    if isinstance(item, (list, tuple)):
        return " ".join(str(v) for v in item)
    return str(item)


def _load_entry_script(path: Path, arguments: list[str]) -> ModuleType:
    """Import the entry script as a module, with ``sys.argv`` set for it."""
    sys.argv = [str(path), *arguments]
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"Cannot import the entry script {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def _input_files(source: Path) -> list[str]:
    if source.is_file():
        return [str(source)]
    return [str(p) for p in sorted(source.rglob("*")) if p.is_file()]


def _batches(files: list[str], size: int) -> list[list[str]]:
    return [files[i : i + size] for i in range(0, len(files), size)]


def main(argv: list[str] | None = None) -> int:
    """Run the parallel step described by the config file; the exit code is the step's."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(
            "usage: python -m migrate_kit.emulator.runner.parallel_driver CONFIG", file=sys.stderr
        )
        return 2
    config: dict[str, Any] = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    if not config.get("input"):
        print("The parallel step's input has no value; nothing to split.", file=sys.stderr)
        return 2

    script = Path.cwd() / config["entry_script"]
    module = _load_entry_script(script, list(config.get("arguments") or []))
    run: Callable[[list[str]], Any] | None = getattr(module, "run", None)
    if run is None:
        print(f"The entry script {config['entry_script']} has no run(mini_batch).", file=sys.stderr)
        return 1
    if callable(init := getattr(module, "init", None)):
        init()

    append_path = config.get("append_row_path") if config["output_action"] == "append_row" else None
    with contextlib.ExitStack() as stack:
        out: IO[str] | None = None
        if append_path:
            Path(append_path).parent.mkdir(parents=True, exist_ok=True)
            out = stack.enter_context(Path(append_path).open("w", encoding="utf-8"))
        code = _run_batches(run, config, out)
    if code == 0 and callable(shutdown := getattr(module, "shutdown", None)):
        shutdown()
    return code


def _run_batches(
    run: Callable[[list[str]], Any], config: dict[str, Any], out: IO[str] | None
) -> int:
    threshold = int(config["error_threshold"])
    batches = _batches(_input_files(Path(config["input"])), int(config["mini_batch_size"]))
    failed = done = 0
    for number, batch in enumerate(batches, start=1):
        try:
            rows = result_rows(run(batch))
        except Exception:
            print(f"Mini-batch {number} failed:", file=sys.stderr)
            traceback.print_exc()
            rows, lost = [], len(batch)
        else:
            lost = max(len(batch) - len(rows), 0)
        failed += lost
        done += len(batch) - lost
        if out is not None and rows:
            out.write("".join(f"{row}\n" for row in rows))
            out.flush()
        if 0 <= threshold < failed:
            print(
                f"{failed} items failed, more than the error threshold of {threshold}; "
                f"stopping after mini-batch {number} of {len(batches)}.",
                file=sys.stderr,
            )
            return 1
    print(
        f"Processed {done + failed} items in {len(batches)} mini-batches: {done} succeeded, "
        f"{failed} failed."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
