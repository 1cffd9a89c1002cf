"""Wire bodies of the reference's worked example (v1-pipelines-service.md §7).

Shared by the v1 reader tests; ``conftest.py`` hands out fresh copies as fixtures.
"""

from __future__ import annotations

import json
from typing import Any

PIPELINE_ID = "b3f7a1e2-0000-4000-8000-000000000001"
GRAPH_ID = "c4e8b2f3-0000-4000-8000-000000000001"
PREP_MODULE = "d5f9c3a4-0000-4000-8000-000000000002"
TRAIN_MODULE = "d5f9c3a4-0000-4000-8000-000000000001"
PREP_NODE = "e2d8b423"
TRAIN_NODE = "ee8b045d"
DATASET_NODE = "ebeb343c"

RUNCONFIG = {
    "script": None,
    "arguments": [],
    "target": "local",
    "framework": "Python",
    "communicator": "None",
    "nodeCount": 1,
    "environment": {
        "name": "my-env",
        "python": {"condaDependencies": {"dependencies": ["python=3.10.18"]}},
        "docker": {"baseImage": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"},
    },
}


def _node_params(script: str, extra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"ValueType": "0", "Name": "Target", "Value": "cpu-cluster"},
        {"ValueType": "0", "Name": "AutoPrepareEnvironment", "Value": "true"},
        {"ValueType": "0", "Name": "MLCComputeType", "Value": "AmlCompute"},
        {"ValueType": "0", "Name": "Framework", "Value": "Python"},
        {"ValueType": "0", "Name": "Script", "Value": script},
        {"ValueType": "0", "Name": "Arguments", "Value": "USE_STRUCTURED_ARGUMENTS"},
        {"ValueType": "0", "Name": "PrepareEnvironment", "Value": "true"},
        {"ValueType": "0", "Name": "DockerEnabled", "Value": "true"},
        {"ValueType": "0", "Name": "CondaDependencies"},
        *extra,
    ]


PIPELINE: dict[str, Any] = {
    "Id": PIPELINE_ID,
    "Name": "demo-pipeline",
    "Description": "two step demo",
    "Version": "1.0",
    "GraphId": GRAPH_ID,
    "TotalRunSteps": 2,
    "ParameterAssignments": {"learning_rate": "0.01"},
    "DataSetDefinitionValueAssignments": {},
    "Url": "https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/0/PipelineSubmit/x",
    "EntityStatus": "Active",
    "CreatedDate": "2024-01-01T00:00:00.000Z",
    "LastModifiedDate": "2024-01-01T00:00:00.000Z",
    "Properties": {},
}

GRAPH: dict[str, Any] = {
    "Id": GRAPH_ID,
    "EntityStatus": "Active",
    "ModuleNodes": [
        {
            "Id": PREP_NODE,
            "ModuleId": PREP_MODULE,
            "ModuleParameters": _node_params("prep.py", []),
            "ModuleMetadataParameters": [{"ValueType": "0", "Name": "TargetType", "Value": "mlc"}],
            "ModuleOutputSettings": [
                {
                    "Name": "prepared",
                    "DataStoreName": "workspaceblobstore",
                    "DataStoreMode": "mount",
                    "DataReferenceName": "prepared",
                }
            ],
            "ModuleInputSettings": [],
            "Runconfig": json.dumps(RUNCONFIG, indent=4),
            "RegenerateOutput": False,
        },
        {
            "Id": TRAIN_NODE,
            "ModuleId": TRAIN_MODULE,
            "ModuleParameters": _node_params(
                "train.py", [{"ValueType": "1", "Name": "learning_rate", "Value": "learning_rate"}]
            ),
            "ModuleMetadataParameters": [{"ValueType": "0", "Name": "TargetType", "Value": "mlc"}],
            "ModuleOutputSettings": [],
            "ModuleInputSettings": [],
            "Runconfig": json.dumps(RUNCONFIG, indent=4),
            "RegenerateOutput": False,
        },
    ],
    "DatasetNodes": [
        {
            "Id": DATASET_NODE,
            "DataSetDefinition": {
                "DataTypeShortName": "AzureMLDataset",
                "Value": {"DataSetReference": {"Id": "reg-ds-0001", "Version": "3"}},
            },
        }
    ],
    "Edges": [
        {
            "SourceOutputPort": {"NodeId": DATASET_NODE, "PortName": "data"},
            "DestinationInputPort": {"NodeId": PREP_NODE, "PortName": "raw_input"},
        },
        {
            "SourceOutputPort": {"NodeId": PREP_NODE, "PortName": "prepared"},
            "DestinationInputPort": {"NodeId": TRAIN_NODE, "PortName": "prepared"},
        },
    ],
}

INTERFACE: dict[str, Any] = {
    "Parameters": [
        {"Name": "learning_rate", "DefaultValue": "0.01", "IsOptional": True, "Type": "1"}
    ],
    "DataPathParameters": [],
    "DataPathParameterList": [],
}


def _module(
    module_id: str,
    name: str,
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    arguments: list[dict[str, Any]],
    parameters: list[dict[str, Any]],
) -> dict[str, Any]:
    run_after = {
        "Name": "_run_after_output",
        "DataTypeId": "AnyFile",
        "SkipProcessing": True,
        "DataReferenceName": "_run_after_output",
    }
    return {
        "Data": {
            "Id": module_id,
            "Name": name,
            "Description": name,
            "IsDeterministic": True,
            "ModuleExecutionType": "escloud",
            "StepType": "PythonScriptStep",
            "UploadState": "Completed",
            "EntityStatus": "Active",
            "DataLocation": {"StorageType": "Snapshot", "StorageId": f"snap-{name}"},
            "StructuredInterface": {
                "CommandLinePattern": "",
                "Inputs": inputs,
                "Outputs": [*outputs, run_after],
                "Parameters": [
                    {"Name": "Target", "ParameterType": "String", "IsOptional": False},
                    *parameters,
                ],
                "MetadataParameters": [{"Name": "TargetType", "ParameterType": "String"}],
                "Arguments": arguments,
            },
        },
        "Interface": {
            "Parameters": [{"Name": "Target", "IsOptional": False, "Type": "String"}],
            "Ports": {
                "Inputs": [
                    {"Name": i["Name"], "DataTypesIds": i["DataTypeIdsList"]} for i in inputs
                ],
                "Outputs": [{"Name": "_run_after_output", "DataTypeId": "AnyFile"}],
            },
        },
    }


PREP = _module(
    PREP_MODULE,
    "prep",
    inputs=[
        {
            "Name": "raw_input",
            "Label": "raw_input",
            "DataTypeIdsList": ["AzureMLDataset"],
            "IsOptional": False,
            "DataStoreMode": "mount",
            "DataReferenceName": "raw_input",
        }
    ],
    outputs=[
        {
            "Name": "prepared",
            "DataTypeId": "AnyFile",
            "DataStoreName": "workspaceblobstore",
            "DataStoreMode": "mount",
            "DataReferenceName": "prepared",
        }
    ],
    arguments=[
        {"ValueType": "Literal", "Value": "--input"},
        {"ValueType": "Literal", "Value": "DatasetConsumptionConfig:raw_input"},
        {"ValueType": "Literal", "Value": "--out"},
        {"ValueType": "Output", "Value": "prepared"},
    ],
    parameters=[],
)

TRAIN = _module(
    TRAIN_MODULE,
    "train",
    inputs=[
        {
            "Name": "prepared",
            "DataTypeIdsList": ["AnyFile", "AnyDirectory"],
            "IsOptional": False,
            "DataStoreMode": "mount",
            "DataReferenceName": "prepared",
        }
    ],
    outputs=[],
    arguments=[
        {"ValueType": "Literal", "Value": "--data"},
        {"ValueType": "Input", "Value": "prepared"},
        {"ValueType": "Literal", "Value": "--lr"},
        {"ValueType": "Parameter", "Value": "learning_rate"},
    ],
    parameters=[
        {
            "Name": "learning_rate",
            "ParameterType": "String",
            "DefaultValue": "0.01",
            "SetEnvironmentVariable": True,
            "EnvironmentVariableOverride": "AML_PARAMETER_learning_rate",
        }
    ],
)

DATA_SOURCE: dict[str, Any] = {
    "Id": "ds-ref-in",
    "Name": "ref_in",
    "DataTypeId": None,
    "UploadState": "Completed",
    "EntityStatus": "Active",
    "DataLocation": {
        "DataReference": {
            "Type": "AzureBlob",
            "AzureBlobReference": {
                "RelativePath": "ref/path",
                "AmlDataStoreName": "workspaceblobstore",
            },
        }
    },
}
