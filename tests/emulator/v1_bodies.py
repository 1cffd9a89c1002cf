"""Request bodies the v1 SDK sends when publishing, shaped after the reference's worked example.

Source: v1-pipelines-service.md §7 (graph, interface, module structured interface, as sent by
SDK 1.62) and §11 (body key sets). Each function returns a fresh dict, so tests may edit it.
"""

from __future__ import annotations

from typing import Any

PREP_HASH = "1a499fab1c7459d04b593401e56bfe0e64e7d8e35442730603e38c315d379c2f_a88"
TRAIN_HASH = "2b5a0fbc2d856ae15c6a4512f67c0f1f75f8e9f46553841714f49d426e48ad30_b99"

_SCRIPT_PARAMS = (
    ("Target", False, None),
    ("AutoPrepareEnvironment", False, "true"),
    ("MLCComputeType", True, None),
    ("Framework", True, None),
    ("Script", True, None),
    ("Arguments", True, None),
    ("PrepareEnvironment", False, "true"),
    ("DockerEnabled", True, None),
)


def _parameters(extra: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    params = []
    for name, optional, default in _SCRIPT_PARAMS:
        item: dict[str, Any] = {
            "Name": name,
            "ParameterType": "String",
            "IsOptional": optional,
            "SetEnvironmentVariable": False,
        }
        if default is not None:
            item["DefaultValue"] = default
        params.append(item)
    return params + (extra or [])


def module_creation(name: str = "prep", *, storage_id: str = "snap-prep") -> dict[str, Any]:
    """``POST /Modules`` body of the ``prep`` (or ``train``) PythonScriptStep."""
    if name == "prep":
        inputs = [
            {"Name": "raw_input", "Label": "raw_input", "DataTypeIdsList": ["AzureMLDataset"],
             "IsOptional": False, "SkipProcessing": False, "IsResource": False,
             "DataStoreMode": "mount", "Overwrite": False, "DataReferenceName": "raw_input"}
        ]  # fmt: skip
        outputs = [
            {"Name": "prepared", "Label": "prepared", "DataTypeId": "AnyFile",
             "SkipProcessing": False, "DataStoreName": "workspaceblobstore",
             "DataStoreMode": "mount", "DataReferenceName": "prepared"},
        ]  # fmt: skip
        arguments = [
            {"ValueType": "Literal", "Value": "--input"},
            {"ValueType": "Literal", "Value": "DatasetConsumptionConfig:raw_input"},
            {"ValueType": "Literal", "Value": "--out"},
            {"ValueType": "Output", "Value": "prepared"},
        ]
        extra: list[dict[str, Any]] = []
        identifier_hash = PREP_HASH
    else:
        inputs = [
            {"Name": "prepared", "Label": "prepared",
             "DataTypeIdsList": ["AnyFile", "AnyDirectory"], "IsOptional": False,
             "SkipProcessing": False, "IsResource": False,
             "DataStoreMode": "mount", "DataReferenceName": "prepared"}
        ]  # fmt: skip
        outputs = []
        arguments = [
            {"ValueType": "Literal", "Value": "--data"},
            {"ValueType": "Input", "Value": "prepared"},
            {"ValueType": "Literal", "Value": "--lr"},
            {"ValueType": "Parameter", "Value": "learning_rate"},
        ]
        extra = [
            {"Name": "learning_rate", "ParameterType": "String", "IsOptional": False,
             "DefaultValue": "0.01", "SetEnvironmentVariable": True,
             "EnvironmentVariableOverride": "AML_PARAMETER_learning_rate"}
        ]  # fmt: skip
        identifier_hash = TRAIN_HASH
    outputs.append(
        {"Name": "_run_after_output", "DataTypeId": "AnyFile", "SkipProcessing": True,
         "DataReferenceName": "_run_after_output"}
    )  # fmt: skip
    return {
        "Name": name,
        "Description": name,
        "IsDeterministic": True,
        "ModuleExecutionType": "escloud",
        "IdentifierHash": identifier_hash,
        "StructuredInterface": {
            "CommandLinePattern": "",
            "Inputs": inputs,
            "Outputs": outputs,
            "Parameters": _parameters(extra),
            "MetadataParameters": [
                {
                    "Name": "TargetType",
                    "ParameterType": "String",
                    "IsOptional": False,
                    "SetEnvironmentVariable": False,
                }
            ],
            "Arguments": arguments,
        },
        "StorageId": storage_id,
        "IsInterfaceOnly": False,
        "Properties": {},
        "StepType": "PythonScriptStep",
    }


def _node_params(script: str, extra: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    values = {
        "Target": "cpu-cluster",
        "AutoPrepareEnvironment": "true",
        "MLCComputeType": "AmlCompute",
        "Framework": "Python",
        "Script": script,
        "Arguments": "USE_STRUCTURED_ARGUMENTS",
        "PrepareEnvironment": "true",
        "DockerEnabled": "true",
    }
    params = [{"ValueType": "0", "Name": k, "Value": v} for k, v in values.items()]
    return params + (extra or [])


def pipeline_creation(prep_module: str, train_module: str) -> dict[str, Any]:
    """``POST /Pipelines/Create`` body of the two-step demo pipeline (§7)."""
    learning_rate = {"ValueType": "1", "Name": "learning_rate", "Value": "learning_rate"}
    meta = [{"ValueType": "0", "Name": "TargetType", "Value": "mlc"}]
    return {
        "Name": "demo-pipeline",
        "Description": "two step demo",
        "Version": "1.0",
        "Graph": {
            "ModuleNodes": [
                {
                    "Id": "e2d8b423",
                    "ModuleId": prep_module,
                    "ModuleParameters": _node_params("prep.py"),
                    "ModuleMetadataParameters": meta,
                    "ModuleOutputSettings": [
                        {
                            "Name": "prepared",
                            "DataStoreName": "workspaceblobstore",
                            "DataStoreMode": "mount",
                            "DataReferenceName": "prepared",
                        }
                    ],
                    "ModuleInputSettings": [],
                    "Runconfig": "{}",
                    "RegenerateOutput": False,
                },
                {
                    "Id": "ee8b045d",
                    "ModuleId": train_module,
                    "ModuleParameters": _node_params("train.py", [learning_rate]),
                    "ModuleMetadataParameters": meta,
                    "ModuleOutputSettings": [],
                    "ModuleInputSettings": [],
                    "Runconfig": "{}",
                    "RegenerateOutput": False,
                },
            ],
            "DatasetNodes": [
                {
                    "Id": "ebeb343c",
                    "DataSetDefinition": {
                        "DataTypeShortName": "AzureMLDataset",
                        "Value": {"DataSetReference": {"Id": "reg-ds-0001", "Version": "3"}},
                    },
                }
            ],
            "Edges": [
                {
                    "SourceOutputPort": {"NodeId": "ebeb343c", "PortName": "data"},
                    "DestinationInputPort": {"NodeId": "e2d8b423", "PortName": "raw_input"},
                },
                {
                    "SourceOutputPort": {"NodeId": "e2d8b423", "PortName": "prepared"},
                    "DestinationInputPort": {"NodeId": "ee8b045d", "PortName": "prepared"},
                },
            ],
        },
        "GraphInterface": {
            "Parameters": [
                {"Name": "learning_rate", "DefaultValue": "0.01", "IsOptional": True, "Type": "1"}
            ],
            "DataPathParameters": [],
            "DataPathParameterList": [],
        },
        "DataSetDefinitionValueAssignments": {},
        "Properties": {},
    }


def data_source_creation() -> dict[str, Any]:
    """``POST /DataSources`` body of a DataReference input (§7, as sent by the SDK)."""
    return {
        "Name": "ref_in",
        "DataStoreName": "workspaceblobstore",
        "PathOnDataStore": "ref/path",
        "IdentifierHash": "9f0c" * 16,
    }


def endpoint_creation(pipeline_id: str, name: str = "demo-endpoint") -> dict[str, Any]:
    """``POST /PipelineEndpoints/Create`` body (§11)."""
    return {"Name": name, "Description": "demo", "PipelineId": pipeline_id, "Properties": {}}
