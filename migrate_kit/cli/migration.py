"""``migrate-kit migrate|test|report|rollback``: apply a plan, try it, report on it, undo it.

They share ``--ledger`` (default ``./migration/ledger.sqlite``) and, for the commands that talk
to the workspace, the workspace options of ``inventory``. ``migrate`` and ``test`` keep the v1
entities that never change (graphs, modules, code snapshots) in ``v1-cache.sqlite`` beside the
ledger, so every run after the first reads only what is new; deleting it is always safe.

Exit status: 0 when every selected pipeline that can be migrated succeeded (blocked ones are
reported and skipped), 1 when any failed, 2 for usage or connection errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from migrate_kit.cli._shared import (
    add_selection_options,
    add_workspace_options,
    assignment,
    connect_from,
    positive_int,
    quiet_azure_ml,
    selection,
)
from migrate_kit.cli.plan import add_name_options
from migrate_kit.v1.cache import CACHE_FILE

if TYPE_CHECKING:
    from migrate_kit.engine import MigrationResult, Progress

__all__ = ["DEFAULT_LEDGER", "add_command", "render_result"]

DEFAULT_LEDGER = Path("migration") / "ledger.sqlite"
_FORMATS = ("csv", "xlsx", "html", "md", "json")


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    migrate = commands.add_parser(
        "migrate", help="register, deploy and set defaults in v2 for the selected pipelines"
    )
    add_workspace_options(migrate)
    add_selection_options(migrate)
    add_name_options(migrate)
    _add_ledger_option(migrate)
    migrate.add_argument(
        "--concurrency", type=positive_int, default=4, metavar="N",
        help="pipelines migrated at once (default: 4)",
    )  # fmt: skip
    migrate.add_argument(
        "--work-dir", type=Path, metavar="DIR",
        help="where the plan's YAML and code go (default: plan/ beside the ledger)",
    )  # fmt: skip
    migrate.add_argument(
        "--writes-per-second", type=float, metavar="N",
        help="pace ARM writes to at most N a second (default: no pacing)",
    )  # fmt: skip
    migrate.add_argument("--active-only", action="store_true", help="leave out disabled pipelines")
    migrate.set_defaults(handler=_migrate)

    test = commands.add_parser(
        "test", help="invoke each migrated deployment with the v1 parameters and wait for it"
    )
    add_workspace_options(test)
    add_selection_options(test)
    add_name_options(test)
    _add_ledger_option(test)
    test.add_argument(
        "--assign", action="append", default=[], type=assignment, metavar="NAME=VALUE",
        help="a v1 parameter value, by its v1 name (repeatable)",
    )  # fmt: skip
    test.add_argument(
        "--assignments", type=Path, metavar="FILE",
        help="v1 ParameterAssignments as JSON ({\"name\": value, ...}), as v1 callers sent them",
    )  # fmt: skip
    test.add_argument(
        "--parity", action="store_true",
        help="also run the v1 pipeline with the same values and compare the outputs",
    )  # fmt: skip
    test.add_argument(
        "--disable-v1-after-verify", action="store_true",
        help="with --parity: disable each v1 published pipeline whose outputs matched "
        "(rollback enables it again); without this flag v1 is never disabled",
    )  # fmt: skip
    test.add_argument(
        "--concurrency", type=positive_int, default=4, metavar="N",
        help="pipelines tested at once (default: 4)",
    )  # fmt: skip
    test.add_argument(
        "--timeout", type=positive_int, default=3600, metavar="S",
        help="seconds one pipeline's runs may take (default: 3600)",
    )  # fmt: skip
    test.add_argument("--active-only", action="store_true", help="leave out disabled pipelines")
    test.set_defaults(handler=_test)

    report = commands.add_parser(
        "report", help="export the ledger as a migration report, with the callers' snippets"
    )
    _add_ledger_option(report)
    report.add_argument(
        "--out", type=Path, default=Path("migration") / "report", metavar="DIR",
        help="folder for the report files (default: ./migration/report)",
    )  # fmt: skip
    report.add_argument(
        "--format", action="append", choices=_FORMATS, metavar="FORMAT",
        help=f"one of {', '.join(_FORMATS)} (repeatable; default: all)",
    )  # fmt: skip
    report.set_defaults(handler=_report)

    rollback = commands.add_parser(
        "rollback", help="remove the v2 assets one migration created (v1 is never touched)"
    )
    add_workspace_options(rollback)
    _add_ledger_option(rollback)
    rollback.add_argument(
        "--migration", metavar="ID",
        help="undo only this migrate run (default: everything the ledger's runs created)",
    )  # fmt: skip
    rollback.set_defaults(handler=_rollback)


def _add_ledger_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ledger", type=Path, default=DEFAULT_LEDGER, metavar="PATH",
        help=f"the migration ledger, a SQLite file (default: ./{DEFAULT_LEDGER})",
    )  # fmt: skip


def _migrate(args: argparse.Namespace) -> int:
    from migrate_kit.convert import plan
    from migrate_kit.engine import migrate
    from migrate_kit.ledger import Ledger

    select, everything = selection(args)
    connection = connect_from(args)
    quiet_azure_ml(args.verbose)
    planned = plan(
        connection, select=select, all=everything, names=dict(args.name),
        active_only=args.active_only, cache=args.ledger.parent / CACHE_FILE,
    )  # fmt: skip
    for problem in planned.problems:
        print(f"warning: {problem}", file=sys.stderr)
    work_dir = args.work_dir or args.ledger.parent / "plan"
    with Ledger(args.ledger) as ledger, _progress_bar(len(planned.pipelines)) as progress:
        result = migrate(
            planned,
            connection.ml_client,
            ledger,
            work_dir=work_dir,
            workspace=connection.workspace.describe(),
            concurrency=args.concurrency,
            writes_per_second=args.writes_per_second,
            progress=progress,
            options={"select": select, "all": everything},
        )
    sys.stdout.write(render_result(result))
    print(f"Ledger: {args.ledger} (migration {result.migration_id})", file=sys.stderr)
    return 0 if result.ok else 1


def _test(args: argparse.Namespace) -> int:
    from migrate_kit.convert import plan
    from migrate_kit.errors import ConfigurationError
    from migrate_kit.ledger import Ledger
    from migrate_kit.verify import test_deployments

    select, everything = selection(args)
    assignments = _assignments(args)
    if args.disable_v1_after_verify and not args.parity:
        raise ConfigurationError(
            "--disable-v1-after-verify disables a v1 pipeline only after its outputs matched: "
            "add --parity"
        )
    if not args.ledger.exists():
        raise ConfigurationError(
            f"no ledger at {args.ledger}; run `migrate-kit migrate` first or name it with --ledger"
        )
    connection = connect_from(args)
    quiet_azure_ml(args.verbose)
    planned = plan(
        connection, select=select, all=everything, names=dict(args.name),
        active_only=args.active_only, cache=args.ledger.parent / CACHE_FILE,
    )  # fmt: skip
    with Ledger(args.ledger) as ledger, _progress_bar(len(planned.pipelines)) as progress:
        outcomes = test_deployments(
            planned,
            connection.ml_client,
            ledger,
            assignments=assignments,
            parity=args.parity,
            v1_client=connection.v1_client() if args.parity else None,
            concurrency=args.concurrency,
            timeout_s=float(args.timeout),
            work_dir=args.ledger.parent / "tests",
            workspace=connection.workspace.describe(),
            progress=progress,
            disable_v1_after_verify=args.disable_v1_after_verify,
        )
    failed = 0
    for o in outcomes:
        line = f"{o.status:<8} {o.label:<48} -> {o.endpoint}/{o.deployment or ''}"
        if o.job_name:
            line += f"  job {o.job_name} {o.job_status or ''}"
            if o.duration_s is not None:
                line += f" in {o.duration_s:.0f} s"
        if o.parity is not None:
            line += f"  parity: {o.parity.result}"
            for difference in o.parity.differences[:5]:
                line += f"\n           {difference}"
        if o.error:
            line += f"\n           {o.error}"
        failed += not o.ok and o.status != "skipped"
        print(line)
    passed = sum(o.ok for o in outcomes)
    print(f"\n{len(outcomes)} tested: {passed} passed, {failed} failed")
    return 1 if failed else 0


def _assignments(args: argparse.Namespace) -> dict[str, object]:
    """``--assignments FILE`` (v1's ``ParameterAssignments`` JSON), then ``--assign`` on top."""
    import json

    from migrate_kit.errors import ConfigurationError

    values: dict[str, object] = {}
    if args.assignments is not None:
        try:
            loaded = json.loads(args.assignments.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read {args.assignments}: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigurationError(
                f"{args.assignments} must hold a JSON object of v1 parameter names and values"
            )
        # The whole v1 request body is accepted too: {"ParameterAssignments": {...}, ...}.
        values.update(loaded.get("ParameterAssignments", loaded))
    values.update(dict(args.assign))
    return values


def render_result(result: MigrationResult) -> str:
    """One line per pipeline, then the counts and any endpoint problems."""
    lines = []
    for o in result.outcomes:
        target = f"{o.endpoint}/{o.deployment}" if o.deployment else o.endpoint
        line = f"{o.status:<10} {o.label:<48} -> {target}"
        if o.error:
            line += f"\n           {o.stage}: {o.error}"
        lines.append(line)
    for endpoint, error in result.endpoint_errors.items():
        lines.append(f"endpoint   {endpoint}: {error}")
    counts = ", ".join(f"{n} {status}" for status, n in sorted(result.counts().items()))
    lines.append(
        f"\n{len(result.outcomes)} published pipelines in {result.seconds:.1f} s: {counts}"
    )
    return "\n".join(lines) + "\n"


@contextmanager
def _progress_bar(total: int) -> Iterator[Callable[[Progress], None]]:
    """A tqdm bar on standard error (nothing when it is not a terminal) and a callback. The bar
    counts the pipelines that ended; the other events (a stage or a job's status) are shown."""
    from tqdm import tqdm

    from migrate_kit.engine import BLOCKED, FAILED, MIGRATED, UNCHANGED
    from migrate_kit.verify import PASSED, SKIPPED

    ended = {MIGRATED, UNCHANGED, FAILED, BLOCKED, PASSED, SKIPPED}

    with tqdm(total=total, unit="pipeline", file=sys.stderr, disable=None, leave=False) as bar:

        def advance(event: Progress) -> None:
            bar.set_postfix_str(f"{event.pipeline}: {event.status}", refresh=False)
            if event.status in ended:
                bar.update(1)
            else:
                bar.refresh()

        yield advance


def _report(args: argparse.Namespace) -> int:
    from migrate_kit.ledger import Ledger
    from migrate_kit.report import export_report, ledger_frame, status_counts
    from migrate_kit.snippets import endpoint_calls, write_callers

    if not args.ledger.exists():
        from migrate_kit.errors import ConfigurationError

        raise ConfigurationError(
            f"no ledger at {args.ledger}; run `migrate-kit migrate` first or name it with --ledger"
        )
    with Ledger(args.ledger) as ledger:
        frame = ledger_frame(ledger)
        calls = endpoint_calls(ledger)
    written = [
        export_report(frame, args.out / f"migration-report.{fmt}", fmt)
        for fmt in (args.format or _FORMATS)
    ]
    written.append(write_callers(calls, args.out))
    print(f"{len(frame)} published pipelines: {status_counts(frame) or 'none'}")
    for path in written:
        print(f"wrote {path}")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from migrate_kit.errors import ConfigurationError
    from migrate_kit.ledger import Ledger
    from migrate_kit.rollback import rollback

    if not args.ledger.exists():
        raise ConfigurationError(f"no ledger at {args.ledger}; name it with --ledger")
    connection = connect_from(args, announce=False)
    quiet_azure_ml(args.verbose)
    with Ledger(args.ledger) as ledger:
        what = f"migration {args.migration}" if args.migration else "every migration"
        where = connection.workspace.describe()
        print(f"Rolling back {what} of {args.ledger} in {where} ...", file=sys.stderr)
        result = rollback(
            connection.ml_client(), ledger, args.migration,
            v1_client=connection.v1_client(), progress=print,
        )  # fmt: skip
    print(
        f"{len(result.removed)} removed, {len(result.archived)} archived, {len(result.kept)} kept"
    )
    return 0 if result.ok else 1
