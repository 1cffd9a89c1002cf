"""migrate_kit: move Azure ML SDK v1 published pipelines to SDK v2 batch endpoints.

The public API is listed in ``__all__``; everything else is an implementation detail. The
emulator (``migrate_kit.emulator``) is a separate subpackage that the product never imports to
do its work. The report functions load on first use (they need pandas, which the command line's
inventory and migrate paths do without).
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from migrate_kit.capture import CaptureResult, capture
from migrate_kit.connection import Connection, WorkspaceRef, connect, find_config
from migrate_kit.convert import (
    ComponentPlan,
    DeploymentPlan,
    EndpointPlan,
    Finding,
    InvokeInput,
    OutputLink,
    PipelineComponentPlan,
    PipelinePlan,
    Plan,
    Severity,
    build_plan,
    plan,
    write_plan,
)
from migrate_kit.engine import MigrationResult, PipelineOutcome, Progress, migrate
from migrate_kit.errors import (
    AuthenticationError,
    ConfigurationError,
    MigrateKitError,
    NotFoundError,
    ServiceCallError,
    ServiceUnavailableError,
)
from migrate_kit.inventory import (
    BLOCKED,
    NEEDS_ATTENTION,
    READY,
    InventoryRow,
    inventory,
    inventory_rows,
    read_inventory,
)
from migrate_kit.ledger import Ledger
from migrate_kit.naming import assign_endpoint_names, endpoint_name, is_valid_endpoint_name
from migrate_kit.redact import redact
from migrate_kit.rollback import RollbackResult, rollback
from migrate_kit.snippets import EndpointCall, Snippets, V2Input, caller_snippets, snippets_markdown
from migrate_kit.v1.client import PipelinesClient
from migrate_kit.v1.models import (
    Argument,
    ArgumentKind,
    CodeSnapshot,
    DataInput,
    DataInputKind,
    Edge,
    EndpointVersion,
    EntityStatus,
    Graph,
    GraphParameter,
    ParameterType,
    PipelineEndpoint,
    Port,
    PublishedPipeline,
    Step,
)
from migrate_kit.v1.reader import V1Reader
from migrate_kit.verify import ParityResult, TestOutcome, test_deployments

if _TYPE_CHECKING:
    from migrate_kit.report import (
        REPORT_COLUMNS,
        export_all,
        export_report,
        ledger_frame,
        summary_by_blocking_reason,
        summary_by_status,
    )

__version__ = "0.1.0"

_LAZY = {
    name: "migrate_kit.report"
    for name in (
        "REPORT_COLUMNS",
        "export_all",
        "export_report",
        "ledger_frame",
        "summary_by_blocking_reason",
        "summary_by_status",
    )
}


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'migrate_kit' has no attribute {name!r}")


__all__ = [
    "BLOCKED",
    "NEEDS_ATTENTION",
    "READY",
    "REPORT_COLUMNS",
    "Argument",
    "ArgumentKind",
    "AuthenticationError",
    "CaptureResult",
    "CodeSnapshot",
    "ComponentPlan",
    "ConfigurationError",
    "Connection",
    "DataInput",
    "DataInputKind",
    "DeploymentPlan",
    "Edge",
    "EndpointCall",
    "EndpointPlan",
    "EndpointVersion",
    "EntityStatus",
    "Finding",
    "Graph",
    "GraphParameter",
    "InventoryRow",
    "InvokeInput",
    "Ledger",
    "MigrateKitError",
    "MigrationResult",
    "NotFoundError",
    "OutputLink",
    "ParameterType",
    "ParityResult",
    "PipelineComponentPlan",
    "PipelineEndpoint",
    "PipelineOutcome",
    "PipelinePlan",
    "PipelinesClient",
    "Plan",
    "Port",
    "Progress",
    "PublishedPipeline",
    "RollbackResult",
    "ServiceCallError",
    "ServiceUnavailableError",
    "Severity",
    "Snippets",
    "Step",
    "TestOutcome",
    "V1Reader",
    "V2Input",
    "WorkspaceRef",
    "__version__",
    "assign_endpoint_names",
    "build_plan",
    "caller_snippets",
    "capture",
    "connect",
    "endpoint_name",
    "export_all",
    "export_report",
    "find_config",
    "inventory",
    "inventory_rows",
    "is_valid_endpoint_name",
    "ledger_frame",
    "migrate",
    "plan",
    "read_inventory",
    "redact",
    "rollback",
    "snippets_markdown",
    "summary_by_blocking_reason",
    "summary_by_status",
    "test_deployments",
    "write_plan",
]
