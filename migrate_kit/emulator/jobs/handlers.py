"""HTTP handlers of the job side: parse the request, call one backend method, serialise."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from migrate_kit.emulator.jobs.backend import JobsBackend
from migrate_kit.emulator.jobs.errors import InvalidInvokeInput

__all__ = ["JobsHandlers"]

logger = logging.getLogger(__name__)

#: The header naming the deployment an invoke runs (absent: the endpoint's default).
DEPLOYMENT_HEADER = "azureml-model-deployment"


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidInvokeInput(f"The request body is not valid JSON: {exc}.") from exc


def _int(value: str | None, default: int | None) -> int | None:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


class JobsHandlers:
    """One ``async`` method per route; the URL table is in ``routes.py``."""

    def __init__(self, backend: JobsBackend) -> None:
        self.backend = backend

    def _check(self, request: Request) -> None:
        p = request.path_params
        self.backend.check_workspace(p["sub"], p["rg"], p["ws"])

    # -- invoke and job resources ------------------------------------------------------------

    async def invoke(self, request: Request) -> Response:
        body = await _json_body(request)
        deployment = request.headers.get(DEPLOYMENT_HEADER) or None
        job = self.backend.invoke(request.path_params["endpoint"], deployment, body)
        return JSONResponse(job)

    async def get_job(self, request: Request) -> Response:
        self._check(request)
        return JSONResponse(self.backend.get_job(request.path_params["name"]))

    async def list_jobs(self, request: Request) -> Response:
        self._check(request)
        view = request.query_params.get("listViewType", "ActiveOnly")
        skip = _int(request.query_params.get("$skipToken"), 0) or 0
        return JSONResponse(self.backend.list_jobs(view, skip, str(request.url)))

    async def cancel_job(self, request: Request) -> Response:
        """202 with a ``Location`` to poll; the cancel has ended by then (runner waits)."""
        self._check(request)
        name = request.path_params["name"]
        await run_in_threadpool(self.backend.cancel_job, name)
        location = str(request.url.replace(path=request.url.path.removesuffix("/cancel")))
        return Response(status_code=202, headers={"Location": location, "Retry-After": "0"})

    async def list_endpoint_jobs(self, request: Request) -> Response:
        self._check(request)
        skip = _int(request.query_params.get("$skipToken"), 0) or 0
        endpoint = request.path_params["endpoint"]
        return JSONResponse(self.backend.list_endpoint_jobs(endpoint, skip, str(request.url)))

    # -- run history and data ----------------------------------------------------------------

    async def get_run(self, request: Request) -> Response:
        self._check(request)
        return JSONResponse(self.backend.get_run(request.path_params["run_id"]))

    async def get_run_details(self, request: Request) -> Response:
        self._check(request)
        return JSONResponse(self.backend.get_run_details(request.path_params["run_id"]))

    async def list_children(self, request: Request) -> Response:
        self._check(request)
        top = _int(request.query_params.get("$top"), None)
        return JSONResponse(self.backend.list_children(request.path_params["run_id"], top))

    async def get_run_data(self, request: Request) -> Response:
        self._check(request)
        return JSONResponse(self.backend.get_run_data(await _json_body(request)))

    async def resolve_data_uris(self, request: Request) -> Response:
        self._check(request)
        return JSONResponse(self.backend.resolve_data_uris(await _json_body(request)))
