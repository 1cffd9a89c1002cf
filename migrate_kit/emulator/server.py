"""The emulator's ASGI application: one app for every emulated service.

Each request passes these steps, in order:

1. **admin routes** (``/_emulator/*``, ``admin.py``) are answered first: only for clients on
   127.0.0.1 (403 otherwise), without token, fault or request-log entry;
2. **request log**: method, host, path, query without SAS signatures, status, start time and
   duration are recorded with a growing ``seq`` (``/_emulator/requests``) and logged at DEBUG;
3. **fault injection** (``faults.py``): a matching fault rule delays, fails, garbles or drops
   it; otherwise the fault settings may add latency, throttle an ARM write, or answer
   429/500/503 or drop the connection at their seeded rates (except on the cloud metadata and
   managed-identity routes, which stand in for what a client has locally against Azure);
4. **auth check**: a request needs ``Authorization: Bearer <anything>``, except the cloud
   metadata, the managed-identity token route (it checks its own secret header), discovery, the
   ``/_emulator/*`` admin routes and blob requests (those carry a SAS). Without one the answer is
   401 in the family's error shape;
5. **dispatch**: blob requests go to the content family's blob app, GETs of a ``JsonGetRoute``
   (``fastget.py``: the single-entity reads the inventory makes by the thousand) straight to
   their reader, everything else to the route table (admin, ARM, then the ``pipelines`` and
   ``content`` families when present).

The request headers are decoded into a dict once per request and shared by these steps.

Blob requests come in two styles and both reach the same blob app in host style:

- host style ``https://{account}.blob.localhost:PORT/{container}/{blob}`` (what the v1 SDK
  rebuilds from a SAS URL) is passed on unchanged;
- path style ``https://127.0.0.1:PORT/{account}/{container}/{blob}?...&sig=...`` (what the v2
  SDK uses) is rewritten to host style: the account segment leaves the path and the ``Host``
  header becomes ``{account}.blob.localhost:PORT``.

In both cases the account is also in ``request.state.blob_account``. The blob app comes from
``migrate_kit.emulator.content.routes``: ``blob_app(ctx)`` or ``blob_routes(ctx)``, returning a
list of routes (paths ``/{container}/{blob:path}``) or an ASGI app.

Errors: a ``ServiceError`` becomes its own response; any other exception becomes a 500 in the
family's shape (``<family>.errors.service_error``), and is logged with its traceback.

Not emulated: more than one workspace; one emulator (and one state folder) serves exactly one.
Not emulated: throttling, outages and slow answers, except those injected as faults (rules or
settings).
Not emulated: ARM's real throttling: per-subscription read and write budgets, the
``x-ms-ratelimit-remaining-*`` headers on every answer; only the settings' write token bucket.
Not emulated: IPv6 and any address other than 127.0.0.1; HTTP/2.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import logging
import time
from collections.abc import Callable
from http import HTTPStatus
from types import ModuleType
from typing import NoReturn
from urllib.parse import parse_qs

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from migrate_kit.emulator.admin import PREFIX as ADMIN_PREFIX
from migrate_kit.emulator.admin import AdminRoutes, forbidden, is_loopback
from migrate_kit.emulator.arm import routes as arm_routes
from migrate_kit.emulator.arm.errors import ArmError, AuthenticationFailed
from migrate_kit.emulator.arm.errors import service_error as arm_service_error
from migrate_kit.emulator.chaos import Chaos
from migrate_kit.emulator.config import Context
from migrate_kit.emulator.errors import ServiceError
from migrate_kit.emulator.fastget import FastGets, send_json
from migrate_kit.emulator.faults import Fault, FaultSet, RequestLog

__all__ = ["EmulatorApp"]

logger = logging.getLogger(__name__)

_FAMILIES = ("pipelines", "content", "jobs")
_EXEMPT = ("/metadata/endpoints", "/msi/token", "/msi/token/", "/discovery")
#: Routes that stand in for what a client has locally against Azure (the SDK's built-in cloud
#: list, the machine's managed-identity endpoint): the fault settings spare them; rules still
#: apply. azure-ai-ml fetches the cloud metadata on every MLClient and turns a failed fetch
#: into "Unknown cloud environment", which no Azure ML request could cause.
_LOCAL = frozenset({"/metadata/endpoints", "/msi/token", "/msi/token/"})
_BLOB_HOST_SUFFIX = ".blob.localhost"
#: First path segments that belong to services, never to a path-style blob account.
_SERVICE_SEGMENTS = frozenset(
    {
        "subscriptions",
        "pipelines",
        "content",
        "discovery",
        "metadata",
        "msi",
        "datastore",
        "rp",
        "history",
        "mferp",
        "_emulator",
    }
)


class _DropConnection(Exception):
    """Raised to make the server close the connection (see ``_drop_connection``)."""


class _QuietDrops(logging.Filter):
    """Keeps uvicorn from logging an injected drop as "Exception in ASGI application"."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, _DropConnection)


_QUIET_DROPS = _QuietDrops()


class EmulatorApp:
    """The ASGI app; ``reset`` is called by ``POST /_emulator/reset`` to clear and reseed."""

    def __init__(
        self,
        ctx: Context,
        *,
        identity_secret: str,
        faults: FaultSet,
        log: RequestLog,
        reset: Callable[[], None],
    ) -> None:
        self.ctx = ctx
        self.faults = faults
        self.log = log
        logging.getLogger("uvicorn.error").addFilter(_QUIET_DROPS)  # adds it once

        admin = AdminRoutes(
            ctx, faults=faults, log=log, reset=reset, blob_storage=lambda: self.blob_app is not None
        )
        routes = admin.routes() + arm_routes.routes(ctx, identity_secret=identity_secret)
        for family in _FAMILIES:
            module = _import_family(family, "routes")
            if module is not None:
                routes += module.routes(ctx)
        self.router = Router(routes=routes, default=self._not_found)
        self.fast_gets = FastGets(routes)
        self.blob_app = _load_blob_app(ctx)

    # -- the request pipeline ----------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"].startswith(ADMIN_PREFIX):
            await self._admin(scope, receive, send)
            return
        started = time.perf_counter()
        headers = _headers(scope)
        status: int | None = None
        fault: Fault | None = None
        chaos: Chaos | None = None
        recorded = False

        def record() -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                kind = chaos.kind if chaos is not None else None
                duration_ms = self.log.record(
                    scope, status, started, fault, headers=headers, chaos=kind
                )
                logger.debug("%s %s -> %s (%.1f ms)", scope["method"], scope["path"],
                             status, duration_ms)  # fmt: skip

        async def send_recorded(message: Message) -> None:
            # Recorded before the last body chunk leaves, so that a client that got its answer
            # always finds the request in the log.
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                record()
            await send(message)

        # A rule takes precedence; the settings draw only for requests no rule matched.
        fault = self.faults.take(scope["method"], scope["path"])
        if fault is None and scope["path"] not in _LOCAL:
            chaos = self.faults.draw(scope["method"], scope["path"])
        try:
            if fault is not None:
                proceed = await self._apply_fault(fault, scope, receive, send_recorded)
            elif chaos is not None:
                proceed = await self._apply_chaos(chaos, scope, receive, send_recorded)
            else:
                proceed = True
            if proceed:
                await self._dispatch(scope, headers, receive, send_recorded)
        except _DropConnection:
            if chaos is not None:
                status = None  # nothing was sent
            raise
        finally:
            record()

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Admin routes: loopback clients only; no faults, no request-log entry."""
        if not is_loopback(scope):
            logger.warning("Refused admin request %s %s from %s", scope["method"],
                           scope["path"], scope.get("client"))  # fmt: skip
            await forbidden(scope)(scope, receive, send)
            return
        await self._dispatch(scope, _headers(scope), receive, send)

    async def _dispatch(
        self, scope: Scope, headers: dict[str, str], receive: Receive, send: Send
    ) -> None:
        blob_scope = _blob_scope(scope, headers)
        family = "content" if blob_scope is not None else _family_of(scope["path"])
        try:
            if blob_scope is None and not _is_exempt(scope) and not _has_bearer(headers):
                raise self._unauthorized(family)
            if blob_scope is not None:
                if self.blob_app is None:
                    raise _family_error(family, 404, "NotFound", "Blob storage is not available.")
                await self.blob_app(blob_scope, receive, send)
                return
            fast = self.fast_gets.find(scope["path"]) if scope["method"] == "GET" else None
            if fast is not None:
                read, params = fast
                await send_json(send, read(params))
            else:
                await self.router(scope, receive, send)
        except ServiceError as error:
            await error.to_response()(scope, receive, send)
        except Exception:
            logger.exception("Unhandled error for %s %s", scope["method"], scope["path"])
            failure = _family_error(family, 500, "InternalServerError", "The emulator failed.")
            await failure.to_response()(scope, receive, send)

    def _unauthorized(self, family: str) -> ServiceError:
        if family == "arm":
            return AuthenticationFailed(self.ctx.config.tenant_id)
        message = "Authentication failed: the request has no 'Authorization: Bearer' header."
        return _family_error(family, 401, "AuthenticationFailed", message)

    async def _apply_fault(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> bool:
        """Act out the rule ``fault``; True when the request should still reach its handler."""
        logger.info("Injecting fault %s into %s %s", fault.id, scope["method"], scope["path"])
        if fault.delay:
            await asyncio.sleep(fault.delay)

        if fault.drop:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-length", b"4096"),
                        (b"content-type", b"application/json"),
                    ],
                }
            )
            raise _DropConnection(f"fault {fault.id}: dropping the connection")

        if not fault.malformed and fault.status is None:
            return True
        await _fault_response(fault, _family_of(scope["path"]))(scope, receive, send)
        return False

    async def _apply_chaos(self, chaos: Chaos, scope: Scope, receive: Receive, send: Send) -> bool:
        """Act out what the settings drew; True when the request should reach its handler."""
        if chaos.delay:
            await asyncio.sleep(chaos.delay)
        if chaos.kind is None:
            return True

        logger.info("Injecting %s into %s %s", chaos.kind, scope["method"], scope["path"])
        if chaos.kind == "drop":
            await _drop_connection(send)
        response = self._chaos_response(chaos, _family_of(scope["path"]), scope["path"])
        await response(scope, receive, send)
        return False

    def _chaos_response(self, chaos: Chaos, family: str, path: str) -> Response:
        status = chaos.status or 500
        if chaos.kind == "throttle":
            error: ServiceError = ArmWriteThrottled(_subscription_of(path), chaos.retry_after or 1)
        else:
            code = HTTPStatus(status).phrase.replace(" ", "")
            seed = self.faults.settings.seed
            message = f"Injected fault (rate_{status}, seed {seed}): {status} {code}."
            error = _family_error(family, status, code, message)
        response = error.to_response()
        if chaos.retry_after is not None:
            response.headers["Retry-After"] = f"{chaos.retry_after:g}"
        return response

    async def _not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"No emulated route for {scope['method']} {scope['path']}."
        error = _family_error(_family_of(scope["path"]), 404, "NotFound", message)
        await error.to_response()(scope, receive, send)


# -- helpers -----------------------------------------------------------------------------------


@functools.cache
def _import_family(family: str, module: str) -> ModuleType | None:
    """``migrate_kit.emulator.<family>.<module>``, or None while that family is not written yet.

    Only a missing module is tolerated; an error inside an existing one propagates.
    """
    name = f"migrate_kit.emulator.{family}.{module}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            logger.warning(
                "Emulator family %s has no %s module yet; not serving it", family, module
            )
            return None
        raise


def _load_blob_app(ctx: Context) -> ASGIApp | None:
    module = _import_family("content", "routes")
    factory = getattr(module, "blob_app", None) or getattr(module, "blob_routes", None)
    if factory is None:
        return None
    app = factory(ctx)
    blob_app: ASGIApp = Router(routes=list(app)) if isinstance(app, list) else app
    return blob_app


def _family_of(path: str) -> str:
    for family in _FAMILIES:
        if path.startswith(f"/{family}/"):
            return family
    return "arm"


def _family_error(family: str, status: int, code: str, message: str) -> ServiceError:
    module = _import_family(family, "errors") if family != "arm" else None
    factory = getattr(module, "service_error", arm_service_error)
    error: ServiceError = factory(status, code, message)
    return error


def _fault_response(fault: Fault, family: str) -> Response:
    status = fault.status or 200
    headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
    if fault.malformed:
        return Response('{"error": {"code": "Trunc', status, headers, "application/json")
    if isinstance(fault.body, str):
        return PlainTextResponse(fault.body, status, headers)
    if fault.body is not None:
        return JSONResponse(fault.body, status, headers)

    try:
        code = HTTPStatus(status).phrase.replace(" ", "")
    except ValueError:
        code = "Error"
    error = _family_error(family, status, code, f"Injected fault {fault.id}: {status} {code}.")
    response = error.to_response()
    response.headers.update(headers)
    return response


class ArmWriteThrottled(ArmError):
    """429 of the settings' ARM write throttle, in ARM's shape, with ``Retry-After``.

    The message follows ARM's subscription write throttling message in substance.
    """

    status = 429
    code = "TooManyRequests"

    def __init__(self, subscription_id: str, retry_after: float) -> None:
        super().__init__(
            f"Number of 'write' requests for subscription '{subscription_id}' exceeded. Please "
            f"try again after '{retry_after:g}' seconds after additional tokens are available."
        )
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {
            "Retry-After": f"{self.retry_after:g}",
            "x-ms-ratelimit-remaining-subscription-writes": "0",
        }


async def _drop_connection(send: Send) -> NoReturn:
    """Close the connection before any byte of the answer: the client sees a connection error.

    ASGI has no message for that. Both uvicorn HTTP implementations mark the response as
    started, then refuse a header value with a line break before writing anything, and close
    the connection when the application raises after a started response; so a refused
    ``http.response.start`` followed by an exception closes it without an answer
    (``test_faults_settings.py`` checks this stays true).
    """
    # The server raises RuntimeError (httptools) or h11.LocalProtocolError: nothing was written.
    with contextlib.suppress(Exception):
        await send({"type": "http.response.start", "status": 500,
                    "headers": [(b"x-emulator-drop", b"\n")]})  # fmt: skip
    raise _DropConnection("fault settings: dropping the connection")


def _subscription_of(path: str) -> str:
    """The subscription id of an ARM path (``/subscriptions/{id}/...``)."""
    parts = path.split("/")
    return parts[2] if len(parts) > 2 else ""


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _is_exempt(scope: Scope) -> bool:
    path: str = scope["path"]
    return path in _EXEMPT or path.startswith("/_emulator/")


def _has_bearer(headers: dict[str, str]) -> bool:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def _blob_scope(scope: Scope, headers: dict[str, str]) -> Scope | None:
    """The scope to hand to the blob app (host style), or None if this is no blob request."""
    host, _, port = headers.get("host", "").partition(":")
    if host.lower().endswith(_BLOB_HOST_SUFFIX):
        account = host[: -len(_BLOB_HOST_SUFFIX)]
        return {**scope, "state": {**scope.get("state", {}), "blob_account": account}}

    segments = scope["path"].lstrip("/").split("/", 1)
    if len(segments) < 2 or segments[0] in _SERVICE_SEGMENTS:
        return None  # checked first: the service routes never need the query parsed
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if "sig" not in query:
        return None

    account, rest = segments
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("latin-1")
    raw_rest = raw_path.lstrip(b"/").split(b"/", 1)[1]
    new_host = f"{account}{_BLOB_HOST_SUFFIX}:{port}" if port else f"{account}{_BLOB_HOST_SUFFIX}"
    new_headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"host"]
    new_headers.append((b"host", new_host.encode("latin-1")))
    return {
        **scope,
        "path": "/" + rest,
        "raw_path": b"/" + raw_rest,
        "headers": new_headers,
        "state": {**scope.get("state", {}), "blob_account": account},
    }
