"""The asyncio client of the v1 pipelines service, for bulk reads (``V1Reader``).

``AsyncPipelinesClient`` reads the same routes as ``PipelinesClient`` and raises the same
errors (both build their calls and interpret the answers with ``_calls.Calls``), but runs
azure-core's ``AsyncPipeline`` on ``AioHttpTransport``: one event loop thread keeps ``limit``
keep-alive connections busy, which costs far less CPU per request than as many threads
contending for the GIL. Policies, outermost first: user agent, one redacted INFO line per call,
bounded retries (``Retry-After`` honoured), ``AsyncBearerTokenCredentialPolicy``.

Use it inside one event loop, as an async context manager (the aiohttp session belongs to the
loop it was opened in). The credential may be async or the usual sync azure-identity one; a
sync credential's ``get_token`` runs in a worker thread (``SyncCredentialAdapter``), which is
rare because the policy keeps the token until it nears expiry.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import AzureError
from azure.core.pipeline import AsyncPipeline
from azure.core.pipeline.policies import AsyncBearerTokenCredentialPolicy
from azure.core.pipeline.transport import AsyncHttpResponse, HttpRequest

from migrate_kit.v1._calls import Call, Calls, ClientSettings, retries_of
from migrate_kit.v1._policies import async_policies
from migrate_kit.v1._transport import aiohttp_transport, environment_proxy

__all__ = ["AsyncPipelinesClient", "SyncCredentialAdapter"]

logger = logging.getLogger(__name__)


class SyncCredentialAdapter:
    """An async credential that calls a sync ``TokenCredential`` in a worker thread.

    The event loop is never blocked by a token request (azure-identity may run ``az`` or call
    a token endpoint for seconds). Closing the adapter does not close the wrapped credential:
    its owner (the connection) keeps using it.
    """

    def __init__(self, credential: TokenCredential) -> None:
        self._credential = credential

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """Ask the wrapped credential for a token, in a thread of the loop's default executor."""
        options: dict[str, Any] = {"claims": claims, "tenant_id": tenant_id, **kwargs}
        if enable_cae:
            options["enable_cae"] = True
        options = {key: value for key, value in options.items() if value is not None}
        return await asyncio.to_thread(self._credential.get_token, *scopes, **options)

    async def close(self) -> None:
        """Nothing to release (the wrapped credential stays open for its owner)."""

    async def __aenter__(self) -> SyncCredentialAdapter:
        return self

    async def __aexit__(self, *args: object) -> None:
        return None


class AsyncPipelinesClient:
    """Async reads of one workspace's pipelines service; see the module docstring.

    ``settings`` are those of a ``PipelinesClient`` (``client.settings``); ``limit`` bounds the
    requests in flight (one keep-alive connection each).
    """

    def __init__(self, settings: ClientSettings, *, limit: int = 8) -> None:
        self.settings = settings
        self.limit = max(1, limit)
        self._calls = Calls(settings)
        self._proxy = environment_proxy(settings.base_url)
        self._pipeline: AsyncPipeline[HttpRequest, AsyncHttpResponse] | None = None

    async def __aenter__(self) -> AsyncPipelinesClient:
        credential = self.settings.credential
        adapted: Any = credential
        if not _is_async_credential(credential):
            adapted = SyncCredentialAdapter(cast(TokenCredential, credential))
        bearer = AsyncBearerTokenCredentialPolicy(adapted, self.settings.scope)
        transport = aiohttp_transport(verify=self.settings.connection_verify, limit=self.limit)
        self._pipeline = AsyncPipeline(transport, async_policies(self.settings, bearer))
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the aiohttp session (its connections)."""
        if self._pipeline is not None:
            pipeline, self._pipeline = self._pipeline, None
            await pipeline.__aexit__()

    def describe_workspace(self) -> str:
        """``Workspace 'ws' in resource group 'rg' (subscription ...)``, for messages."""
        return self._calls.describe_workspace()

    async def list_pipelines(self, *, active_only: bool = False) -> list[Any]:
        """``GET /Pipelines``: all published pipelines (``active_only=False`` includes disabled)."""
        call = self._calls.list_pipelines(active_only)
        return self._calls.entities(await self._get(call), call)

    async def get_pipeline(self, pipeline_id: str) -> Any:
        """``GET /Pipelines/{id}``: one published pipeline."""
        return await self._get(self._calls.pipeline(pipeline_id))

    async def get_graph(self, graph_id: str) -> Any:
        """``GET /Graphs/{id}``: nodes and edges of a published pipeline."""
        return await self._get(self._calls.graph(graph_id))

    async def get_graph_interface(self, graph_id: str) -> Any:
        """``GET /Graphs/{id}/Interface``: the pipeline parameters of a graph."""
        return await self._get(self._calls.graph_interface(graph_id))

    async def get_module(self, module_id: str) -> Any:
        """``GET /Modules/{id}``: ``{"Data": ModuleEntity, "Interface": ...}``."""
        return await self._get(self._calls.module(module_id))

    async def get_data_source(self, data_source_id: str) -> Any:
        """``GET /DataSources/{id}``: the location behind a ``DataReference`` input."""
        return await self._get(self._calls.data_source(data_source_id))

    async def _get(self, call: Call) -> Any:
        """GET ``call`` and return its decoded JSON body, or raise the mapped error."""
        if self._pipeline is None:
            raise RuntimeError("AsyncPipelinesClient is used outside its 'async with' block")
        options = {"proxy": self._proxy} if self._proxy else {}
        try:
            result = await self._pipeline.run(call.request(), **options)
        except AzureError as exc:
            raise self._calls.failure(call, exc) from exc
        response = result.http_response
        return self._calls.answer(
            call, response.status_code, response.body(), retries_of(result.context)
        )


def _is_async_credential(credential: object) -> bool:
    """Whether ``credential.get_token`` is a coroutine function (an azure-identity aio one)."""
    return asyncio.iscoroutinefunction(getattr(credential, "get_token", None))
