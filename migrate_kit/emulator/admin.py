"""The emulator's admin routes under ``/_emulator/``: health, faults, settings, log, reset, export.

They answer only clients on 127.0.0.1 (anything else gets 403), need no token, are never
faulted and are not written to the request log (so a test counting requests counts only its
own traffic). Bodies are JSON; a bad value is a 400 ``{"error": {"code": "BadRequest",
"message"}}`` whose message names the field.

::

    GET    /_emulator/health                    status, base URL, entities, last log seq, ...
    GET    /_emulator/faults                    the fault rules
    POST   /_emulator/faults                    add a rule (the fields of ``faults.Fault``)
    DELETE /_emulator/faults                    remove every rule
    GET    /_emulator/settings                  the fault settings (``chaos.FaultSettings``)
    PUT    /_emulator/settings                  replace them (missing fields: the defaults)
    PATCH  /_emulator/settings                  change some of them
    DELETE /_emulator/settings                  back to the defaults (no faults)
    GET    /_emulator/requests?since=&method=&path=   the request log, filtered
    DELETE /_emulator/requests                  clear the log (``seq`` keeps counting)
    POST   /_emulator/reset                     reseed from the sample; clear rules and log;
                                                settings back to those the emulator started with
    POST   /_emulator/export                    {"folder": ...}: write a capture of the state
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from migrate_kit.emulator.chaos import FaultSettings, FaultSettingsError
from migrate_kit.emulator.config import Context
from migrate_kit.emulator.faults import Fault, FaultSet, RequestLog

__all__ = ["PREFIX", "AdminRoutes", "forbidden", "is_loopback"]

logger = logging.getLogger(__name__)

PREFIX = "/_emulator/"
_LOOPBACK = "127.0.0.1"


def is_loopback(scope: Scope) -> bool:
    """True when the request comes from 127.0.0.1 (the only address the server listens on)."""
    client = scope.get("client")
    return client is not None and client[0] == _LOOPBACK


def forbidden(scope: Scope) -> Response:
    """The 403 for an admin request from another address."""
    client = scope.get("client")
    where = client[0] if client else "an unknown address"
    message = f"The emulator's admin routes answer only 127.0.0.1; this request came from {where}."
    return JSONResponse({"error": {"code": "Forbidden", "message": message}}, 403)


class AdminRoutes:
    """Handlers of the admin routes over the running emulator's parts.

    ``reset`` is the emulator's reset (``Emulator.reset``); ``blob_storage`` tells health
    whether the content family's blob app is served.
    """

    def __init__(
        self,
        ctx: Context,
        *,
        faults: FaultSet,
        log: RequestLog,
        reset: Callable[[], None],
        blob_storage: Callable[[], bool],
    ) -> None:
        self.ctx = ctx
        self.faults = faults
        self.log = log
        self._reset = reset
        self._blob_storage = blob_storage

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PREFIX + "health", self.health, methods=["GET"]),
            Route(PREFIX + "faults", self.fault_rules, methods=["GET", "POST", "DELETE"]),
            Route(PREFIX + "settings", self.settings, methods=["GET", "PUT", "PATCH", "DELETE"]),
            Route(PREFIX + "requests", self.requests, methods=["GET", "DELETE"]),
            Route(PREFIX + "reset", self.reset, methods=["POST"]),
            Route(PREFIX + "export", self.export, methods=["POST"]),
        ]

    async def health(self, request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "base_url": self.ctx.base_url,
                "entities": self.ctx.store.count(),
                "kinds": self.ctx.store.kinds(),
                "blob_storage": self._blob_storage(),
                "last_seq": self.log.last_seq,
                "job_workers": self.ctx.job_workers,
            }
        )

    async def fault_rules(self, request: Request) -> Response:
        if request.method == "POST":
            fields = await _json_body(request)
            if not isinstance(fields, dict):
                return _bad_request("Expected a JSON object with the fields of a fault rule.")
            try:
                fault = self.faults.add(Fault(**fields))
            except (TypeError, ValueError) as exc:
                return _bad_request(str(exc))
            except re.error as exc:
                return _bad_request(f"path: not a valid regular expression ({exc})")
            return JSONResponse(fault.to_json(), status_code=201)
        if request.method == "DELETE":
            self.faults.clear()
        return JSONResponse([f.to_json() for f in self.faults.list()])

    async def settings(self, request: Request) -> Response:
        if request.method in ("PUT", "PATCH"):
            body = await _json_body(request)
            base = self.faults.settings if request.method == "PATCH" else None
            try:
                settings = FaultSettings.from_json(body, base=base)
            except FaultSettingsError as exc:
                return _bad_request(str(exc))
            self.faults.set_settings(settings)
        elif request.method == "DELETE":
            self.faults.set_settings(FaultSettings())
        return JSONResponse(self.faults.settings.to_json())

    async def requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.log.clear()
            return JSONResponse([], headers={"X-Emulator-Last-Seq": str(self.log.last_seq)})

        query = request.query_params
        since: int | None = None
        if "since" in query:
            try:
                since = int(query["since"])
            except ValueError:
                return _bad_request(f"since: expected an integer seq, got {query['since']!r}")
        methods = [m for m in query.get("method", "").split(",") if m] or None
        path = query.get("path")
        try:
            entries = self.log.entries(since=since, method=methods, path=path)
        except re.error as exc:
            return _bad_request(f"path: not a valid regular expression ({exc})")
        return JSONResponse(entries, headers={"X-Emulator-Last-Seq": str(self.log.last_seq)})

    async def reset(self, request: Request) -> Response:
        # Runs on the event loop on purpose: no other request is served while the store is
        # being reseeded, so no client sees a half-seeded workspace.
        self._reset()
        return JSONResponse({"status": "reset", "entities": self.ctx.store.count()})

    async def export(self, request: Request) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("folder"), str):
            return _bad_request('Expected a JSON body {"folder": "<path of the capture folder>"}.')
        folder = Path(body["folder"])
        self.ctx.store.export_capture(folder)
        return JSONResponse({"status": "exported", "folder": str(folder)})


async def _json_body(request: Request) -> Any:
    """The request's JSON body; None when it is empty or not JSON (the caller reports it)."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _bad_request(message: str) -> Response:
    return JSONResponse({"error": {"code": "BadRequest", "message": message}}, 400)
