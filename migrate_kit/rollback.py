"""Rollback: remove the v2 assets that a migration created, and nothing else.

The ledger records every v2 asset a migration wrote, and whether it created it or updated one
that existed (:meth:`migrate_kit.ledger.Ledger.record_asset`). Rolling a migration back:

1. deletes each batch endpoint it created (with the deployments under it);
2. deletes each deployment it created under an endpoint that it did not create. A deployment
   that is its endpoint's default cannot be deleted (Azure ML refuses it), so the endpoint's
   previous default, as the ledger recorded it, is set back first; when there was none, the
   deployment stays and the result says why;
3. archives each component version it created: Azure ML has no way to delete a component
   version, and archiving hides it from lists and from ``label=latest``;
4. enables again each v1 published pipeline that a test run disabled on the user's explicit
   request (``disable_v1_after_verify``), through ``v1_client``;
5. resets the ledger stages of what it removed, so the next ``migrate`` recreates them.

Updated assets are left as they are: rollback does not know what they were before. v1 assets
are never deleted or disabled here.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from migrate_kit.engine import default_deployment
from migrate_kit.ledger import V1_DISABLED, AssetRecord, Ledger, endpoint_subject
from migrate_kit.redact import redact

if TYPE_CHECKING:
    from migrate_kit.v1.client import PipelinesClient

__all__ = ["RollbackResult", "rollback"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RollbackResult:
    """What a rollback removed, archived, and could not undo (with the reason)."""

    migration_id: str
    removed: tuple[str, ...]
    archived: tuple[str, ...]
    kept: tuple[tuple[str, str], ...]

    @property
    def ok(self) -> bool:
        return not self.kept


def rollback(
    ml_client: Any,
    ledger: Ledger,
    migration_id: str | None = None,
    *,
    v1_client: PipelinesClient | None = None,
    progress: Callable[[str], None] | None = None,
) -> RollbackResult:
    """Remove what migration ``migration_id`` of ``ledger`` created (see the module docstring);
    with None, what every migration of the ledger created and no rollback removed yet (a rerun
    that finished an interrupted migration is a run of its own, so this is what "undo the
    migration" usually means).

    ``v1_client`` (``connection.v1_client()``) enables the v1 pipelines a test run disabled;
    without it they stay disabled and the result says so.

    Raises :class:`~migrate_kit.errors.ConfigurationError` when the ledger has no such
    migration. Assets that are already gone count as removed.
    """
    if migration_id is not None:
        ledger.migration(migration_id)  # raises, naming the known ones, when there is none
    run = ledger.start("rollback", "", {"migration": migration_id or "all"})
    created = [a for a in ledger.assets(migration_id) if a.created and a.removed is None]
    endpoints = {a.name for a in created if a.kind == "endpoint"}
    removed: list[str] = []
    archived: list[str] = []
    kept: list[tuple[str, str]] = []

    def say(text: str) -> None:
        logger.info("%s", text)
        if progress is not None:
            progress(text)

    for asset in created:
        if asset.kind == "endpoint":
            _attempt(functools.partial(_delete_endpoint, ml_client, asset), asset, removed, kept)
        elif asset.kind == "deployment" and asset.endpoint not in endpoints:
            delete = functools.partial(_delete_deployment, ml_client, ledger, asset)
            _attempt(delete, asset, removed, kept)
    for asset in created:
        if asset.kind == "component":
            _attempt(functools.partial(_archive, ml_client, asset), asset, archived, kept)
        elif asset.kind == V1_DISABLED:
            _attempt(functools.partial(_enable_v1, v1_client, asset), asset, removed, kept)
    for label in (*removed, *archived):
        say(f"rolled back {label}")
    for label, why in kept:
        say(f"kept {label}: {why}")

    undone = {_label(a) for a in created} - {label for label, _ in kept}
    for asset in created:
        if _label(asset) in undone:
            ledger.mark_removed(asset.migration_id, asset.kind, asset.name, asset.endpoint)
            for subject, stage in _stages_of(asset):
                ledger.rolled_back(run, subject, stage)
    ledger.finish(run, "succeeded" if not kept else "failed")
    return RollbackResult(migration_id or "all", tuple(removed), tuple(archived), tuple(kept))


def _attempt(
    action: Callable[[], None], asset: AssetRecord, done: list[str], kept: list[tuple[str, str]]
) -> None:
    try:
        action()
    except _Kept as exc:
        kept.append((_label(asset), str(exc)))
    except Exception as exc:
        kept.append((_label(asset), redact(f"{type(exc).__name__}: {exc}".splitlines()[0])))
    else:
        done.append(_label(asset))


class _Kept(Exception):
    """An asset that rollback leaves in place on purpose (the message says why)."""


def _label(asset: AssetRecord) -> str:
    if asset.kind == "deployment":
        return f"deployment {asset.endpoint}/{asset.name}"
    if asset.kind == "component":
        return f"component {asset.name}:{asset.version}"
    if asset.kind == V1_DISABLED:
        return f"v1 pipeline {asset.name} disabled"
    return f"{asset.kind} {asset.name}"


def _stages_of(asset: AssetRecord) -> list[tuple[str, str]]:
    if asset.kind == "endpoint":
        subject = endpoint_subject(asset.name)
        return [(subject, "endpoint"), (subject, "default")]
    if asset.kind == "deployment":
        return [(asset.subject, "deploy"), (asset.subject, "test"), (asset.subject, "parity")]
    if asset.kind == V1_DISABLED:
        return []
    return [(asset.subject, "register")]


def _delete_endpoint(ml_client: Any, asset: AssetRecord) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    with contextlib.suppress(ResourceNotFoundError):
        ml_client.batch_endpoints.begin_delete(name=asset.name).result()


def _delete_deployment(ml_client: Any, ledger: Ledger, asset: AssetRecord) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    assert asset.endpoint is not None
    try:
        endpoint = ml_client.batch_endpoints.get(asset.endpoint)
    except ResourceNotFoundError:
        return  # the endpoint, and so the deployment, is gone
    if default_deployment(endpoint) == asset.name:
        record = ledger.stage(endpoint_subject(asset.endpoint), "default")
        previous = record.detail.get("previous") if record is not None else None
        if not previous:
            raise _Kept(
                f"it is the default deployment of {asset.endpoint} and there was no default "
                "before the migration; make another deployment the default, then delete it"
            )
        endpoint.defaults = {"deployment_name": previous}
        ml_client.batch_endpoints.begin_create_or_update(endpoint).result()
    with contextlib.suppress(ResourceNotFoundError):
        ml_client.batch_deployments.begin_delete(
            name=asset.name, endpoint_name=asset.endpoint
        ).result()


def _enable_v1(v1_client: PipelinesClient | None, asset: AssetRecord) -> None:
    if v1_client is None:
        raise _Kept(
            "a test run disabled it; pass v1_client=connection.v1_client() to enable it again"
        )
    v1_client.set_pipeline_status(asset.name, "Active")


def _archive(ml_client: Any, asset: AssetRecord) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    with contextlib.suppress(ResourceNotFoundError):
        ml_client.components.archive(name=asset.name, version=asset.version)
