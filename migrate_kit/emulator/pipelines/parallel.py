"""A v1 ParallelRunStep as the runner's ``ParallelSettings`` (reference §5.1).

The SDK stores the run settings twice: as the node's ``BatchInferencingMetaData`` metadata
parameter (JSON: ``EntryScript``, ``MiniBatchSize``, ``ErrorThreshold``, ``OutputAction``, ...)
and as literal driver arguments (``--scoring_module_name``, ``--mini_batch_size``, ...,
``--input_fds_0 <input>``, ``--output <output port>``). The driver arguments are for Azure ML's
own driver (``driver/amlbi_main.py``); the runner has its own driver, so they are taken out and
only the user's arguments are passed on to the entry script.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from migrate_kit.emulator.pipelines.commands import Token
from migrate_kit.emulator.runner.model import ParallelSettings

__all__ = ["parallel_settings"]

logger = logging.getLogger(__name__)

# Arguments the SDK adds for Azure ML's driver; each takes one value.
_DRIVER_FLAGS = frozenset(
    {
        "--client_sdk_version", "--scoring_module_name", "--entry_script", "--mini_batch_size",
        "--error_threshold", "--output_action", "--logging_level", "--run_invocation_timeout",
        "--run_max_try", "--create_snapshot_at_runtime", "--output", "--process_count_per_node",
        "--node_count", "--append_row_file_name", "--partition_keys", "--allowed_failed_count",
        "--allowed_failed_percent", "--first_task_creation_timeout", "--task_overhead_timeout",
        "--progress_update_timeout", "--resource_monitor_interval", "--copy_logs_to_parent",
    }
)  # fmt: skip
_INPUT_FLAG = re.compile(r"--input_f?ds_\d+")


def parallel_settings(
    node: Mapping[str, Any],
    tokens: list[Token],
    render: Callable[[list[Token]], str],
    inputs: set[str],
    outputs: set[str],
    problems: list[str],
) -> ParallelSettings | None:
    """Settings for the runner's parallel driver; None (and a problem) when unusable.

    ``render`` turns the user's remaining argument tokens into the entry script's arguments.
    """
    metadata = _metadata(node, problems)
    driver, user = _split(tokens)

    entry = metadata.get("EntryScript") or driver.get("--scoring_module_name")
    if not entry:
        problems.append("the ParallelRunStep has no entry script")
        return None
    input_names = [v for k, v in sorted(driver.items()) if _INPUT_FLAG.fullmatch(k)]
    input_name = next((n for n in input_names if n in inputs), None) or next(iter(inputs), None)
    if input_name is None:
        problems.append("the ParallelRunStep has no input")
        return None
    output_name = driver.get("--output") or next(iter(outputs), None)

    action = str(metadata.get("OutputAction") or driver.get("--output_action") or "append_row")
    if action not in ("append_row", "summary_only"):
        problems.append(f"output_action {action!r} is neither append_row nor summary_only")
        return None
    return ParallelSettings(
        entry_script=str(entry),
        input_name=input_name,
        output_name=output_name if output_name in outputs else None,
        mini_batch_size=_count(
            metadata.get("MiniBatchSize", driver.get("--mini_batch_size")), 1, "MiniBatchSize"
        ),
        error_threshold=_count(
            metadata.get("ErrorThreshold", driver.get("--error_threshold")), -1, "ErrorThreshold"
        ),
        output_action="summary_only" if action == "summary_only" else "append_row",
        append_row_file_name=str(
            metadata.get("AppendRowFileName")
            or driver.get("--append_row_file_name")
            or "parallel_run_step.txt"
        ),
        program_arguments=render(user),
    )


def _metadata(node: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    """The node's ``BatchInferencingMetaData`` JSON (empty when missing or unreadable)."""
    for item in node.get("ModuleMetadataParameters") or []:
        if item.get("Name") == "BatchInferencingMetaData" and item.get("Value"):
            try:
                decoded = json.loads(str(item["Value"]))
            except ValueError:
                problems.append("BatchInferencingMetaData is not JSON")
                return {}
            return decoded if isinstance(decoded, dict) else {}
    return {}


def _split(tokens: list[Token]) -> tuple[dict[str, str], list[Token]]:
    """``(driver flag -> value, the user's tokens)``; an output or input ref is its port name."""
    driver: dict[str, str] = {}
    user: list[Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        flag = token.value if token.kind == "literal" else ""
        if (flag in _DRIVER_FLAGS or _INPUT_FLAG.fullmatch(flag)) and index + 1 < len(tokens):
            driver[flag] = tokens[index + 1].value
            index += 2
            continue
        user.append(token)
        index += 1
    return driver, user


def _count(value: Any, default: int, what: str) -> int:
    """An integer setting; a size such as ``"1MB"`` (tabular mini-batches) falls back."""
    if value is None or value == "":
        return default
    try:
        return int(str(value))
    except ValueError:
        logger.warning("%s %r is not a count; the emulator uses %d", what, value, default)
        return default
