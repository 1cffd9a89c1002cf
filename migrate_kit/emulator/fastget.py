"""GET routes that answer pre-serialised JSON, and the table that serves them without Starlette.

The inventory reads thousands of graphs, modules and data sources, one GET each. Going through
Starlette's router (a regex per route, in order), ``Request`` and ``Response`` objects and three
layers of ``send`` wrappers costs more CPU than the answer itself. A family declares such a
route as a ``JsonGetRoute``: its ``read`` function maps the path parameters to the JSON bytes of
a 200 answer (or raises a ``ServiceError``, which the server renders as usual).

A ``JsonGetRoute`` is an ordinary Starlette ``Route`` too (HEAD requests and anything that walks
the route table keep working). ``FastGets`` holds the ones found in the route table; the server
asks it first for every GET, after the request log, fault injection and the auth check ran.
Because that lookup comes before the route table, a ``JsonGetRoute`` path must not overlap any
other GET route (parameters match one path segment, so ``/Modules/{id}`` does not shadow
``/Modules/Hash/{h}``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Send

__all__ = ["FastGets", "JsonGetRoute", "send_json"]

Read = Callable[[dict[str, Any]], bytes]


class JsonGetRoute(Route):
    """``GET path`` answered with ``read(path_params)``: JSON bytes, status 200."""

    def __init__(self, path: str, read: Read, *, name: str) -> None:
        async def endpoint(request: Request) -> Response:
            return Response(read(request.path_params), media_type="application/json")

        super().__init__(path, endpoint, methods=["GET"], name=name)
        self.read = read

    def match_path(self, path: str) -> dict[str, Any] | None:
        """The converted path parameters when ``path`` is this route's, else None."""
        match = self.path_regex.match(path)
        if match is None:
            return None
        params = match.groupdict()
        return {key: self.param_convertors[key].convert(value) for key, value in params.items()}


class FastGets:
    """The ``JsonGetRoute`` entries of a route table, tried in table order for GET requests."""

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        self.routes = [route for route in routes if isinstance(route, JsonGetRoute)]
        # Only paths under one of these prefixes can match (the text before the first "{").
        self.prefixes = tuple({route.path.split("{", 1)[0] for route in self.routes})

    def find(self, path: str) -> tuple[Read, dict[str, Any]] | None:
        """The reader and path parameters for ``path``, or None when no fast route has it."""
        if not path.startswith(self.prefixes):
            return None
        for route in self.routes:
            params = route.match_path(path)
            if params is not None:
                return route.read, params
        return None


async def send_json(send: Send, body: bytes) -> None:
    """Send a 200 with ``body``, with the same headers as Starlette's JSON responses."""
    headers = [
        (b"content-length", str(len(body)).encode("latin-1")),
        (b"content-type", b"application/json"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
