"""migrate_kit: move Azure ML SDK v1 published pipelines to SDK v2 batch endpoints.

The public API is listed in ``__all__``; everything else is an implementation detail. The
emulator (``migrate_kit.emulator``) is a separate subpackage that the product never imports to
do its work.
"""

from migrate_kit.connection import Connection, WorkspaceRef, connect, find_config
from migrate_kit.convert import (
    ComponentPlan,
    DeploymentPlan,
    EndpointPlan,
    Finding,
    PipelineComponentPlan,
    PipelinePlan,
    Plan,
    Severity,
    build_plan,
    plan,
    write_plan,
)
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
from migrate_kit.naming import assign_endpoint_names, endpoint_name, is_valid_endpoint_name
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

__version__ = "0.1.0"

__all__ = [
    "BLOCKED",
    "NEEDS_ATTENTION",
    "READY",
    "Argument",
    "ArgumentKind",
    "AuthenticationError",
    "CodeSnapshot",
    "ComponentPlan",
    "ConfigurationError",
    "Connection",
    "DataInput",
    "DataInputKind",
    "DeploymentPlan",
    "Edge",
    "EndpointPlan",
    "EndpointVersion",
    "EntityStatus",
    "Finding",
    "Graph",
    "GraphParameter",
    "InventoryRow",
    "MigrateKitError",
    "NotFoundError",
    "ParameterType",
    "PipelineComponentPlan",
    "PipelineEndpoint",
    "PipelinePlan",
    "PipelinesClient",
    "Plan",
    "Port",
    "PublishedPipeline",
    "ServiceCallError",
    "ServiceUnavailableError",
    "Severity",
    "Step",
    "V1Reader",
    "WorkspaceRef",
    "__version__",
    "assign_endpoint_names",
    "build_plan",
    "connect",
    "endpoint_name",
    "find_config",
    "inventory",
    "inventory_rows",
    "is_valid_endpoint_name",
    "plan",
    "read_inventory",
    "write_plan",
]
