"""Running one step: scratch folder, code, data in, the process, logs and outputs out.

A step's scratch folder ``<scratch>/<run id>/`` holds::

    code/              the step's code (cwd of the process)
    inputs/<name>/     each data input: a folder's blobs, or the one file of a uri_file input
    outputs/<name>/    each output: an empty folder the step fills (uri_file: the file in it)
    logs/              std_log.txt, stdout.txt, stderr.txt
    bin/               ``python`` and ``python3``, first on PATH: the emulator's own Python

The folder stays after the step ends, to look into; it is emptied when a run with the same id
starts (known shortcoming: nothing removes old ones but deleting ``<scratch>``).

``bin/python`` is a two-line shell script that ``exec``s ``sys.executable`` rather than a
symlink: a symlinked virtual-environment interpreter outside its ``bin`` folder does not find
its ``pyvenv.cfg`` and starts without the environment's packages.

The environment is the emulator's own minus anything that looks like a credential (names with
SECRET, TOKEN, PASSWORD, CREDENTIAL, ..._KEY, CONNECTION_STRING, and the managed-identity
variables IDENTITY_* / MSI_*), plus what Azure ML sets and scripts read (``AZUREML_RUN_ID``,
``AZUREML_ARM_SUBSCRIPTION``, ``AZUREML_ARM_RESOURCEGROUP``, ``AZUREML_ARM_WORKSPACE_NAME``,
``AZUREML_ARM_PROJECT_NAME`` (the experiment), ``AZUREML_WORKSPACE_ID``, and
``AZURE_ML_INPUT_<name>`` / ``AZURE_ML_OUTPUT_<name>`` with the local paths or literal
values), plus
``PYTHONUNBUFFERED=1``, plus the step's ``environment_variables`` (which win).
"""

from __future__ import annotations

import json
import logging
import mimetypes
import os
import re
import shlex
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import migrate_kit
from migrate_kit.emulator.config import Context
from migrate_kit.emulator.content import blobs
from migrate_kit.emulator.content.backend import content_backend_for
from migrate_kit.emulator.errors import ServiceError
from migrate_kit.emulator.runner.model import DataRef, PipelineSpec, StepSpec
from migrate_kit.emulator.runner.placeholders import resolve
from migrate_kit.emulator.runner.process import LOG_FILES, StepControl, run_process, tail

__all__ = ["LOG_CONTAINER", "StepOutcome", "StepRun", "datastore_uri", "log_blob_path"]

logger = logging.getLogger(__name__)

#: Container of run logs in the workspace storage account (Azure ML's artifact store).
LOG_CONTAINER = "azureml"
_DRIVER = "migrate_kit.emulator.runner.parallel_driver"
_PRIVATE = re.compile(
    r"SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|_KEY$|CONNECTION_STRING|^IDENTITY_|^MSI_"
)
_PYTHON_SHIM = '#!/bin/sh\nexec "{python}" "$@"\n'

Status = Literal["Completed", "Failed", "Canceled"]


def log_blob_path(run_id: str, name: str) -> str:
    """Where a run's log ``user_logs/<file>`` is kept in the ``azureml`` container."""
    return f"ExperimentRun/dcid.{run_id}/{name}"


def datastore_uri(ctx: Context, ref: DataRef) -> str:
    """``azureml://datastores/workspaceblobstore/paths/<p>`` for the default datastore, else
    ``<account>/<container>/<path>`` (for messages)."""
    cfg = ctx.config
    if (ref.account, ref.container) == (cfg.storage_account, cfg.datastore_container):
        return f"azureml://datastores/{cfg.default_datastore}/paths/{ref.path}"
    return f"{ref.account}/{ref.container}/{ref.path}"


class StepError(Exception):
    """The step cannot go on; its message becomes the run's error message."""


@dataclass
class StepOutcome:
    """How a step ended, and where its logs went (``user_logs/...`` -> blob location)."""

    status: Status
    error: dict[str, str] | None = None
    logs: dict[str, dict[str, str]] = field(default_factory=dict)


class StepRun:
    """One execution of one step; ``execute`` runs it in the calling thread.

    ``sources`` maps ``(step name, output name)`` of the pipeline to the output's destination,
    which is where an upstream output is read from.
    """

    def __init__(
        self,
        ctx: Context,
        spec: PipelineSpec,
        step: StepSpec,
        run_id: str,
        *,
        folder: Path,
        sources: Mapping[tuple[str, str], DataRef],
        control: StepControl,
        timeout: float,
    ) -> None:
        self.ctx, self.spec, self.step, self.run_id = ctx, spec, step, run_id
        self.folder = folder
        self.sources = sources
        self.control = control
        self.timeout = step.timeout or timeout
        self.code_dir = folder / "code"
        self.logs_dir = folder / "logs"

    def execute(self) -> StepOutcome:
        """Prepare, run, store logs, upload outputs; never raises for the step's own failures."""
        if self.step.cannot_run:
            return _failed(self.step.cannot_run)
        try:
            argv, env = self._prepare()
        except StepError as exc:
            return _failed(str(exc))
        if self.control.canceled.is_set():
            return StepOutcome("Canceled")

        result = run_process(
            argv,
            cwd=self.code_dir,
            env=env,
            logs_dir=self.logs_dir,
            control=self.control,
            timeout=self.timeout,
        )
        logs = self._store_logs()
        if result.canceled:
            return StepOutcome("Canceled", logs=logs)
        if result.timed_out:
            return _failed(
                f"The step ran longer than its timeout of {self.timeout:g} seconds "
                "and was stopped.",
                logs,
            )
        if result.exit_code != 0:
            return _failed(self._exit_message(argv, result.exit_code), logs)
        try:
            self._upload_outputs()
        except StepError as exc:
            return _failed(str(exc), logs)
        return StepOutcome("Completed", logs=logs)

    # -- before the process ------------------------------------------------------------------

    def _prepare(self) -> tuple[list[str], dict[str, str]]:
        if self.folder.exists():
            shutil.rmtree(self.folder)
        for sub in ("code", "inputs", "outputs", "logs", "bin"):
            (self.folder / sub).mkdir(parents=True)
        self._copy_code()
        values: dict[tuple[str, str], str | None] = {}
        values.update(self._materialise_inputs())
        values.update(self._make_outputs())
        env = self._environment(values)
        if self.step.parallel is None:
            return ["/bin/sh", "-c", resolve(self.step.command, values)], env
        _driver_pythonpath(env)
        return self._driver_argv(values), env

    def _copy_code(self) -> None:
        code = self.step.code
        if code is None:
            return
        if isinstance(code, DataRef):
            if not self._download(code, self.code_dir):
                raise StepError(
                    f"The step's code at {datastore_uri(self.ctx, code)} has no "
                    "files; upload the code folder again."
                )
            return
        if not code.startswith("snapshot:"):
            raise StepError(f"Code {code!r} is neither a blob folder nor 'snapshot:<id>'.")
        snapshot_id = code.removeprefix("snapshot:")
        try:
            files: dict[str, Any] = content_backend_for(self.ctx).get_snapshot(snapshot_id)["files"]
        except ServiceError as exc:
            raise StepError(f"The step's code snapshot is missing: {exc.message}") from exc
        for rel, where in files.items():
            found = self.ctx.store.get_blob(where["account"], where["container"], where["path"])
            if found is None:
                raise StepError(
                    f"Snapshot {snapshot_id} lacks the blob of {rel!r}; the emulator "
                    "state is incomplete (reseed it)."
                )
            _write(self.code_dir, rel, found[0])

    def _download(self, ref: DataRef, target: Path) -> int:
        """Write the blob (uri_file) or every blob under the folder into ``target``."""
        store = self.ctx.store
        if ref.kind == "uri_file":
            found = store.get_blob(ref.account, ref.container, ref.path)
            if found is None:
                return 0
            _write(target, PurePosixPath(ref.path).name or "file", found[0])
            return 1
        prefix = ref.path.strip("/") + "/" if ref.path.strip("/") else ""
        paths = store.list_blobs(ref.account, ref.container, prefix)
        for path in paths:
            found = store.get_blob(ref.account, ref.container, path)
            if found is not None:
                _write(target, path[len(prefix) :], found[0])
        return len(paths)

    def _materialise_inputs(self) -> dict[tuple[str, str], str | None]:
        values: dict[tuple[str, str], str | None] = {}
        for name, given in self.step.inputs.items():
            key = ("inputs", name)
            if given.literal is not None:
                values[key] = given.literal
                continue
            ref = given.data if given.upstream is None else self.sources[given.upstream]
            if ref is None:
                values[key] = None  # an optional input left empty
                continue
            target = self.folder / "inputs" / name
            target.mkdir()
            if not self._download(ref, target) and given.upstream is None:
                raise StepError(
                    f"Input {name!r}: nothing found at {datastore_uri(self.ctx, ref)}"
                    f" ({ref.kind}); check the path."
                )
            values[key] = str(_local(target, ref))
        return values

    def _make_outputs(self) -> dict[tuple[str, str], str | None]:
        values: dict[tuple[str, str], str | None] = {}
        for name, out in self.step.outputs.items():
            target = self.folder / "outputs" / name
            target.mkdir()
            values[("outputs", name)] = str(_local(target, out.destination))
        return values

    def _environment(self, values: Mapping[tuple[str, str], str | None]) -> dict[str, str]:
        bin_dir = self.folder / "bin"
        for name in ("python", "python3"):
            shim = bin_dir / name
            shim.write_text(_PYTHON_SHIM.format(python=sys.executable))
            shim.chmod(0o755)
        env = {k: v for k, v in os.environ.items() if not _PRIVATE.search(k.upper())}
        cfg = self.ctx.config
        env.update(
            {
                "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', os.defpath)}",
                "PYTHONUNBUFFERED": "1",
                "AZUREML_RUN_ID": self.run_id,
                "AZUREML_ARM_SUBSCRIPTION": cfg.subscription_id,
                "AZUREML_ARM_RESOURCEGROUP": cfg.resource_group,
                "AZUREML_ARM_WORKSPACE_NAME": cfg.workspace_name,
                "AZUREML_ARM_PROJECT_NAME": self.spec.experiment_name,
                "AZUREML_WORKSPACE_ID": cfg.workspace_id,
            }
        )
        for (kind, name), value in values.items():
            if value is not None:
                env[f"AZURE_ML_{kind[:-1].upper()}_{name}"] = value
        env.update(self.step.environment_variables)
        return env

    def _driver_argv(self, values: Mapping[tuple[str, str], str | None]) -> list[str]:
        settings = self.step.parallel
        assert settings is not None
        append_to = None
        if settings.output_name is not None and settings.output_action == "append_row":
            out = self.step.outputs[settings.output_name].destination
            local = self.folder / "outputs" / settings.output_name
            append_to = str(
                _local(local, out)
                if out.kind == "uri_file"
                else local / settings.append_row_file_name
            )
        config = {
            "entry_script": settings.entry_script,
            "input": values.get(("inputs", settings.input_name)),
            "mini_batch_size": settings.mini_batch_size,
            "error_threshold": settings.error_threshold,
            "output_action": settings.output_action,
            "append_row_path": append_to,
            "arguments": shlex.split(resolve(settings.program_arguments, values)),
        }
        path = self.folder / "parallel_run.json"
        path.write_text(json.dumps(config, indent=1))
        return [sys.executable, "-m", _DRIVER, str(path)]

    # -- after the process -------------------------------------------------------------------

    def _store_logs(self) -> dict[str, dict[str, str]]:
        account = self.ctx.config.storage_account
        stored: dict[str, dict[str, str]] = {}
        for file_name in LOG_FILES:
            local = self.logs_dir / file_name
            if not local.is_file():
                continue
            name = f"user_logs/{file_name}"
            path = log_blob_path(self.run_id, name)
            props = blobs.new_properties({"content-type": "text/plain; charset=utf-8"})
            self.ctx.store.put_blob(account, LOG_CONTAINER, path, local.read_bytes(), props)
            stored[name] = {"account": account, "container": LOG_CONTAINER, "path": path}
        return stored

    def _exit_message(self, argv: list[str], code: int) -> str:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status code {code}"
        message = (
            f"Execution failed. User process '{argv[0]}' {how}. Please check log file "
            "'user_logs/std_log.txt' for error details."
        )
        last = tail(self.logs_dir / "stderr.txt")
        return f"{message} Error: {last}" if last else message

    def _upload_outputs(self) -> None:
        store = self.ctx.store
        for name, out in self.step.outputs.items():
            ref = out.destination
            local_dir = self.folder / "outputs" / name
            if ref.kind == "uri_file":
                local = _local(local_dir, ref)
                if not local.is_file():
                    raise StepError(
                        f"Output {name!r} (uri_file) was not written: the step must "
                        f"create the file {local}."
                    )
                store.put_blob(
                    ref.account,
                    ref.container,
                    ref.path,
                    local.read_bytes(),
                    _blob_properties(local),
                )
                continue
            prefix = ref.path.strip("/") + "/" if ref.path.strip("/") else ""
            for local in sorted(p for p in local_dir.rglob("*") if p.is_file()):
                blob_path = prefix + local.relative_to(local_dir).as_posix()
                store.put_blob(
                    ref.account,
                    ref.container,
                    blob_path,
                    local.read_bytes(),
                    _blob_properties(local),
                )
        logger.debug("Uploaded the outputs of run %s", self.run_id)


def _failed(message: str, logs: dict[str, dict[str, str]] | None = None) -> StepOutcome:
    return StepOutcome("Failed", {"code": "UserError", "message": message}, logs or {})


def _local(folder: Path, ref: DataRef) -> Path:
    """The local path of a data input or output: the folder, or the file in it (uri_file)."""
    if ref.kind == "uri_file":
        return folder / (PurePosixPath(ref.path).name or "file")
    return folder


def _write(folder: Path, rel: str, data: bytes) -> None:
    """Write ``data`` at ``folder/rel``; a path escaping ``folder`` is refused."""
    target = (folder / rel).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise StepError(f"Refusing to write {rel!r} outside {folder}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _blob_properties(path: Path) -> dict[str, str]:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return blobs.new_properties({"content-type": content_type})


def _driver_pythonpath(env: dict[str, str]) -> None:
    """Make ``migrate_kit`` importable by the driver even when it is not installed."""
    root = str(Path(migrate_kit.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
