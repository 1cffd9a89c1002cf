"""HTTP handlers of the v1 pipelines service: parse the request, call one backend method, answer.

Every handler first checks that the path names the emulated workspace (a 404 naming the
workspace otherwise) and answers exactly 200 on success, as the v1 client requires.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from migrate_kit.emulator.pipelines.backend import PipelinesBackend
from migrate_kit.emulator.pipelines.errors import BadRequest, PipelinesError

__all__ = ["PipelinesHandlers", "json_body", "workspace_operation", "workspace_read"]

_Handler = Callable[[Any, Request], Awaitable[Response]]
_Reader = Callable[[Any, dict[str, Any]], bytes]


def workspace_operation(handler: _Handler) -> _Handler:
    """Check the workspace in the path and give errors the workspace's region.

    For handler methods of classes whose ``backend`` has ``check_workspace`` and ``ctx``
    (the pipelines and content services).
    """

    @functools.wraps(handler)
    async def wrapped(self: Any, request: Request) -> Response:
        try:
            params = request.path_params
            self.backend.check_workspace(
                params["subscription_id"], params["resource_group"], params["workspace"]
            )
            return await handler(self, request)
        except PipelinesError as error:
            error.region = self.backend.ctx.config.region
            raise

    return wrapped


def workspace_read(reader: _Reader) -> _Reader:
    """``workspace_operation`` for the readers of ``JsonGetRoute`` routes (see ``fastget.py``).

    A reader takes the path parameters and returns the JSON bytes of the 200 answer.
    """

    @functools.wraps(reader)
    def wrapped(self: Any, params: dict[str, Any]) -> bytes:
        try:
            self.backend.check_workspace(
                params["subscription_id"], params["resource_group"], params["workspace"]
            )
            return reader(self, params)
        except PipelinesError as error:
            error.region = self.backend.ctx.config.region
            raise

    return wrapped


async def json_body(request: Request) -> Any:
    """The request body as JSON; 400 when it is missing or not JSON."""
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError as error:
        raise BadRequest(
            f"The request body is not valid JSON ({error}); send a JSON value."
        ) from None


def _bool_query(request: Request, name: str, default: bool) -> bool:
    """A ``true``/``false`` query parameter (case-insensitive)."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    if value.lower() not in ("true", "false"):
        raise BadRequest(
            f"Query parameter {name}={value!r} must be 'true' or 'false'.", target=name
        )
    return value.lower() == "true"


def _ok(body: Any) -> Response:
    return JSONResponse(body, status_code=200)


class PipelinesHandlers:
    """One handler per route; ``routes.py`` binds them to URLs.

    Most are async Starlette handlers; the hot single-entity reads (graphs, graph interfaces,
    modules, data sources) are synchronous readers of ``JsonGetRoute`` routes that return the
    answer's JSON bytes, which the backend renders and caches (``served.py``).

    ``activeOnly`` defaults to true when absent, like the v1 client's default; what the live
    service assumes without it is unconfirmed.
    """

    def __init__(self, backend: PipelinesBackend) -> None:
        self.backend = backend

    @workspace_operation
    async def list_data_types(self, request: Request) -> Response:
        return _ok(self.backend.list_data_types())

    @workspace_operation
    async def create_data_type(self, request: Request) -> Response:
        return _ok(self.backend.create_data_type(await json_body(request)))

    @workspace_operation
    async def list_pipelines(self, request: Request) -> Response:
        active_only = _bool_query(request, "activeOnly", True)
        return _ok(self.backend.list_pipelines(active_only=active_only))

    @workspace_operation
    async def get_pipeline(self, request: Request) -> Response:
        return _ok(self.backend.get_pipeline(request.path_params["pipeline_id"]))

    @workspace_operation
    async def update_pipeline_status(self, request: Request) -> Response:
        status = await json_body(request)
        self.backend.update_pipeline_status(request.path_params["pipeline_id"], status)
        return Response(status_code=200)

    @workspace_operation
    async def create_pipeline(self, request: Request) -> Response:
        return _ok(self.backend.create_pipeline(await json_body(request)))

    @workspace_operation
    async def list_pipeline_endpoints(self, request: Request) -> Response:
        active_only = _bool_query(request, "activeOnly", True)
        batch_size = request.headers.get("BatchSize")
        endpoints = self.backend.list_pipeline_endpoints(
            active_only=active_only, batch_size=batch_size
        )
        return _ok(endpoints)

    @workspace_operation
    async def get_pipeline_endpoint_by_id(self, request: Request) -> Response:
        return _ok(self.backend.get_pipeline_endpoint_by_id(request.path_params["endpoint_id"]))

    @workspace_operation
    async def get_pipeline_endpoint_by_name(self, request: Request) -> Response:
        name = request.query_params.get("Name")
        return _ok(self.backend.get_pipeline_endpoint_by_name(name))

    @workspace_operation
    async def list_pipeline_endpoint_pipelines(self, request: Request) -> Response:
        active_only = _bool_query(request, "activeOnly", True)
        endpoint_id = request.path_params["endpoint_id"]
        return _ok(
            self.backend.list_pipeline_endpoint_pipelines(endpoint_id, active_only=active_only)
        )

    @workspace_operation
    async def create_pipeline_endpoint(self, request: Request) -> Response:
        return _ok(self.backend.create_pipeline_endpoint(await json_body(request)))

    @workspace_operation
    async def update_pipeline_endpoint(self, request: Request) -> Response:
        body = await json_body(request)
        return _ok(self.backend.update_pipeline_endpoint(request.path_params["endpoint_id"], body))

    @workspace_read
    def get_graph(self, params: dict[str, Any]) -> bytes:
        return self.backend.get_graph_json(params["graph_id"])

    @workspace_read
    def get_graph_interface(self, params: dict[str, Any]) -> bytes:
        return self.backend.get_graph_interface_json(params["graph_id"])

    @workspace_read
    def get_module(self, params: dict[str, Any]) -> bytes:
        return self.backend.get_module_json(params["module_id"])

    @workspace_operation
    async def get_module_by_hash(self, request: Request) -> Response:
        return _ok(self.backend.get_module_by_hash(request.path_params["identifier_hash"]))

    @workspace_operation
    async def create_module(self, request: Request) -> Response:
        return _ok(self.backend.create_module(await json_body(request)))

    @workspace_read
    def get_data_source(self, params: dict[str, Any]) -> bytes:
        return self.backend.get_data_source_json(params["data_source_id"])

    @workspace_operation
    async def create_data_source(self, request: Request) -> Response:
        return _ok(self.backend.create_data_source(await json_body(request)))

    # -- pipeline runs -------------------------------------------------------------------

    @workspace_operation
    async def submit_pipeline(self, request: Request) -> Response:
        pipeline_id = request.path_params["pipeline_id"]
        parent = request.query_params.get("parentRunId")
        body = await json_body(request)
        return _ok(self.backend.submit_pipeline(pipeline_id, body, parent_run_id=parent))

    @workspace_operation
    async def submit_pipeline_endpoint(self, request: Request) -> Response:
        # The SDK puts a version in the path and in the query (reference §2.1 #12).
        version = request.path_params.get("pipeline_version") or request.query_params.get(
            "pipelineVersion"
        )
        body = await json_body(request)
        submitted = self.backend.submit_pipeline_endpoint(
            request.path_params["endpoint_id"],
            body,
            version=version,
            parent_run_id=request.query_params.get("parentRunId"),
        )
        return _ok(submitted)

    @workspace_operation
    async def get_pipeline_run(self, request: Request) -> Response:
        return _ok(self.backend.get_pipeline_run(request.path_params["run_id"]))

    @workspace_operation
    async def list_pipeline_runs(self, request: Request) -> Response:
        return _ok(self.backend.list_pipeline_runs(request.path_params["pipeline_id"]))

    @workspace_operation
    async def get_node_statuses(self, request: Request) -> Response:
        path = await _node_path(request)
        return _ok(self.backend.get_node_statuses(request.path_params["run_id"], path))

    @workspace_operation
    async def get_node_status_codes(self, request: Request) -> Response:
        path = await _node_path(request)
        return _ok(self.backend.get_node_status_codes(request.path_params["run_id"], path))

    @workspace_operation
    async def get_node_status(self, request: Request) -> Response:
        path = await _node_path(request)
        return _ok(self.backend.get_node_status(request.path_params["run_id"], path))

    @workspace_operation
    async def get_node_status_code(self, request: Request) -> Response:
        path = await _node_path(request)
        return _ok(self.backend.get_node_status_code(request.path_params["run_id"], path))

    @workspace_operation
    async def get_node_outputs(self, request: Request) -> Response:
        path = await _node_path(request)
        return _ok(self.backend.get_node_outputs(request.path_params["run_id"], path))

    @workspace_operation
    async def get_pipeline_run_output(self, request: Request) -> Response:
        params = request.path_params
        return _ok(self.backend.get_pipeline_run_output(params["run_id"], params["output_name"]))

    @workspace_operation
    async def get_node_log(self, request: Request) -> Response:
        path = await _node_path(request)
        params = request.path_params
        text = self.backend.get_node_log(params["run_id"], path, params["log_type"])
        return PlainTextResponse(text, status_code=200)

    @workspace_operation
    async def cancel_pipeline_run(self, request: Request) -> Response:
        self.backend.cancel_pipeline_run(request.path_params["run_id"])
        return Response(status_code=200)


async def _node_path(request: Request) -> Any:
    """The node-id path of a node route; an empty body counts as ``[]``."""
    if not (await request.body()).strip():
        return []
    return await json_body(request)
