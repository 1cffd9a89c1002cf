"""A v1 ParallelRunStep as a v2 parallel component.

v1 runs a ParallelRunStep through its own driver (``driver/amlbi_main.py``) and passes every
setting twice: in the node's ``BatchInferencingMetaData`` JSON and as literal driver arguments
(``--mini_batch_size 2``...). The settings with a v2 counterpart move to the component (mini batch
size, error threshold, entry script, instance count, processes per instance, retries, timeout,
logging level, ``append_row``); the driver arguments are dropped; the user's own arguments become
``task.program_arguments``. The entry script's ``init()`` / ``run(mini_batch)`` contract is the
same in v2's ``run_function`` task, so the script itself is reused as it is.

What cannot be expressed is a finding: tabular inputs and ``partition_keys`` need MLTable, which
batch deployments do not accept (blocking); settings without a v2 field are warnings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from migrate_kit.convert.arguments import References, join_command, rewrite_arguments
from migrate_kit.convert.environments import EnvironmentPlan
from migrate_kit.convert.findings import Finding, blocking, info, warning
from migrate_kit.v1.models import Argument, ArgumentKind, Step

__all__ = ["DRIVER_ARGUMENTS", "parallel_spec"]

#: Driver arguments of the v1 ParallelRunStep, each followed by one value; the settings they
#: carry are read from ``BatchInferencingMetaData`` instead.
DRIVER_ARGUMENTS = frozenset(
    {
        "--client_sdk_version",
        "--scoring_module_name",
        "--mini_batch_size",
        "--error_threshold",
        "--output_action",
        "--logging_level",
        "--run_invocation_timeout",
        "--run_max_try",
        "--create_snapshot_at_runtime",
        "--output",
        "--process_count_per_node",
        "--node_count",
        "--append_row_file_name",
        "--allowed_failed_count",
        "--allowed_failed_percent",
        "--partition_keys",
        "--first_task_creation_timeout",
        "--progress_update_timeout",
        "--task_overhead_timeout",
        "--resource_monitor_interval",
    }
)
_FILE_INPUT = "--input_fds_"
_TABULAR_INPUT = "--input_ds_"


def parallel_spec(
    step: Step,
    refs: References,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Any],
    env: EnvironmentPlan,
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The parallel component spec of ``step`` (no name, version or code), or None if blocked."""
    findings: list[Finding] = []
    settings = _metadata(step, findings)
    user_args, data_inputs, tabular = _split_arguments(step.arguments)

    for name in tabular:
        findings.append(
            blocking(
                "parallel-tabular",
                f"input '{name}' is a tabular dataset; a v2 parallel component reads tables "
                "only from MLTable, which batch deployments do not accept as an input. Pass the "
                "files as a uri_folder and read them in run()",
                step.name,
            )
        )
    if settings.get("PartitionKeys"):
        findings.append(
            blocking(
                "parallel-partition-keys",
                f"partition_keys {settings['PartitionKeys']} needs an MLTable input, which "
                "batch deployments do not accept",
                step.name,
            )
        )
    data = [refs.inputs[name] for name in data_inputs if name in refs.inputs]
    if not data:
        data = list(refs.inputs.values())[:1]
    if not data:
        findings.append(
            blocking("parallel-input", "the step has no input to split in mini batches", step.name)
        )
    if len(data) > 1:
        findings.append(
            warning(
                "lossy-mapping",
                f"v1 split {len(data)} inputs into mini batches; a v2 parallel component splits "
                f"one (input_data is '{data[0]}'), the others are passed whole",
                step.name,
            )
        )
    entry = settings.get("EntryScript") or _value_after(step.arguments, "--scoring_module_name")
    if not entry:
        findings.append(blocking("parallel-entry", "no entry script is named", step.name))
    if any(f.severity.value == "blocking" for f in findings):
        return None, findings

    rewritten = rewrite_arguments(user_args, refs)
    findings.extend(warning("argument", text, step.name) for text in rewritten.problems)
    task: dict[str, Any] = {"type": "run_function", "entry_script": entry}
    if env.environment is not None:
        task["environment"] = env.environment
    if rewritten.tokens:
        task["program_arguments"] = join_command(rewritten.tokens)
    output_action = str(settings.get("OutputAction") or "append_row").lower()
    output_names = list(refs.outputs.values())
    if output_action == "append_row" and output_names:
        task["append_row_to"] = "${{outputs." + output_names[0] + "}}"
    elif output_action != "summary_only":
        findings.append(
            warning(
                "lossy-mapping",
                f"output action {output_action!r} has no v2 counterpart; nothing is appended",
                step.name,
            )
        )

    spec: dict[str, Any] = {"type": "parallel", "display_name": step.name}
    if not step.allow_reuse:
        spec["is_deterministic"] = False
    spec["inputs"] = dict(inputs)
    if outputs:
        spec["outputs"] = dict(outputs)
    spec["input_data"] = "${{inputs." + data[0] + "}}"
    spec.update(_settings(settings, step, findings))
    spec["task"] = task
    return spec, findings


def _settings(settings: Mapping[str, Any], step: Step, findings: list[Finding]) -> dict[str, Any]:
    """The component fields that carry the v1 driver settings."""
    spec: dict[str, Any] = {}

    def number(key: str) -> int | None:
        value = settings.get(key)
        if value is None:
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            findings.append(
                warning(
                    "parallel-settings",
                    f"{key}={value!r} is not a whole number; the v2 default is used instead",
                    step.name,
                )
            )
            return None

    if settings.get("MiniBatchSize") is not None:
        spec["mini_batch_size"] = str(settings["MiniBatchSize"])
    fields = {
        "error_threshold": number("ErrorThreshold"),
        "logging_level": str(settings["LoggingLevel"]) if settings.get("LoggingLevel") else None,
    }
    spec.update({key: value for key, value in fields.items() if value is not None})
    retries, timeout = number("RunMaxTry"), number("RunInvocationTimeout")
    retry = {"max_retries": retries, "timeout": timeout}
    if retries is not None or timeout is not None:
        spec["retry_settings"] = {k: v for k, v in retry.items() if v is not None}
    processes, nodes = number("ProcessCountPerNode"), number("NodeCount")
    if processes is not None:
        spec["max_concurrency_per_instance"] = processes
    if nodes is not None:
        spec["resources"] = {"instance_count": nodes}
    if retries is not None:
        findings.append(
            info(
                "parallel-retries",
                f"v1 run_max_try={retries} becomes retry_settings.max_retries, as Microsoft's "
                "ParallelRunStep migration guide maps it",
                step.name,
            )
        )
    for key in ("AllowedFailedCount", "AllowedFailedPercent"):
        if settings.get(key) is not None:
            findings.append(
                warning(
                    "lossy-mapping",
                    f"{key}={settings[key]} has no v2 parallel setting and is dropped; "
                    "error_threshold still limits failed items",
                    step.name,
                )
            )
    return spec


def _metadata(step: Step, findings: list[Finding]) -> dict[str, Any]:
    text = step.metadata_parameters.get("BatchInferencingMetaData")
    if not text:
        findings.append(
            warning(
                "parallel-settings",
                "the step carries no BatchInferencingMetaData; settings come from its driver "
                "arguments only",
                step.name,
            )
        )
        return _from_arguments(step.arguments)
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        findings.append(
            warning(
                "parallel-settings",
                "BatchInferencingMetaData is not a JSON object; settings come from its driver "
                "arguments only",
                step.name,
            )
        )
        return _from_arguments(step.arguments)
    return {**_from_arguments(step.arguments), **value}


def _from_arguments(arguments: tuple[Argument, ...]) -> dict[str, Any]:
    keys = {
        "--mini_batch_size": "MiniBatchSize",
        "--error_threshold": "ErrorThreshold",
        "--output_action": "OutputAction",
        "--logging_level": "LoggingLevel",
        "--run_invocation_timeout": "RunInvocationTimeout",
        "--run_max_try": "RunMaxTry",
        "--process_count_per_node": "ProcessCountPerNode",
        "--node_count": "NodeCount",
        "--scoring_module_name": "EntryScript",
    }
    found: dict[str, Any] = {}
    for flag, key in keys.items():
        value = _value_after(arguments, flag)
        if value is not None:
            found[key] = value
    return found


def _split_arguments(
    arguments: tuple[Argument, ...],
) -> tuple[list[Argument], list[str], list[str]]:
    """The user's arguments, the file inputs and the tabular inputs the driver was given."""
    user: list[Argument] = []
    files: list[str] = []
    tables: list[str] = []
    skip = False
    for n, arg in enumerate(arguments):
        if skip:
            skip = False
            continue
        flag = arg.value if arg.kind is ArgumentKind.LITERAL else ""
        following = arguments[n + 1].value if n + 1 < len(arguments) else ""
        if flag in DRIVER_ARGUMENTS:
            skip = True
        elif flag.startswith(_FILE_INPUT):
            files.append(following)
            skip = True
        elif flag.startswith(_TABULAR_INPUT):
            tables.append(following)
            skip = True
        else:
            user.append(arg)
    return user, files, tables


def _value_after(arguments: tuple[Argument, ...], flag: str) -> str | None:
    for n, arg in enumerate(arguments[:-1]):
        if arg.kind is ArgumentKind.LITERAL and arg.value == flag:
            return arguments[n + 1].value
    return None
