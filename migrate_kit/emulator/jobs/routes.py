"""URL table of the v2 job side. Routing ignores the query, so every ``api-version`` matches.

- the invoke, on the endpoint's scoring URI (``arm/endpoints.py`` ``SCORING_PATH``);
- ARM job resources under the workspace;
- the management front end's list of a batch endpoint's jobs (``{api}/mferp/managementfrontend``);
- run history v1.0 and the data-plane URI resolution that ``jobs.download`` uses.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Route

from migrate_kit.emulator.arm.routes import WS_PATH
from migrate_kit.emulator.config import Context
from migrate_kit.emulator.jobs.backend import backend_for
from migrate_kit.emulator.jobs.handlers import JobsHandlers

__all__ = ["SCORING_PATH", "routes"]

#: Path of a batch endpoint's scoring URI below the emulator's base URL (kept in step with
#: ``arm/endpoints.py``, which hands it out as ``properties.scoringUri``).
SCORING_PATH = "/batchEndpoints/{endpoint}/jobs"
_HISTORY = "/history/v1.0" + WS_PATH
_MFE = "/mferp/managementfrontend" + WS_PATH


def routes(ctx: Context) -> list[BaseRoute]:
    """The job side's routes, bound to the backend of ``ctx``."""
    h = JobsHandlers(backend_for(ctx))
    table: list[tuple[str, str, Any]] = [
        ("POST", SCORING_PATH, h.invoke),
        ("GET", WS_PATH + "/jobs", h.list_jobs),
        ("GET", WS_PATH + "/jobs/{name}", h.get_job),
        ("POST", WS_PATH + "/jobs/{name}/cancel", h.cancel_job),
        ("GET", _MFE + "/batchEndpoints/{endpoint}/jobs", h.list_endpoint_jobs),
        ("GET", _HISTORY + "/runs/{run_id}", h.get_run),
        ("GET", _HISTORY + "/experiments/{experiment}/runs/{run_id}", h.get_run),
        ("GET", _HISTORY + "/runs/{run_id}/details", h.get_run_details),
        ("GET", _HISTORY + "/experiments/{experiment}/runs/{run_id}/details", h.get_run_details),
        ("GET", _HISTORY + "/runs/{run_id}/children", h.list_children),
        ("GET", _HISTORY + "/experiments/{experiment}/runs/{run_id}/children", h.list_children),
        ("POST", _HISTORY + "/rundata", h.get_run_data),
        ("POST", "/data/v1.0" + WS_PATH + "/dataversion/batchGetResolvedUris", h.resolve_data_uris),
    ]
    return [
        Route(path, handler, methods=[method], name=f"jobs.{handler.__name__}")
        for method, path, handler in table
    ]
