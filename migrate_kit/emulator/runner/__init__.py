"""The emulator's job runner: runs the steps of invoked v2 jobs and submitted v1 pipeline runs.

The families describe a job as a ``model.PipelineSpec`` and call ``runner_for(ctx).submit``;
the runner runs every step as a subprocess of the emulator's own Python in a scratch folder and
keeps one *run record* per pipeline and per step in the store, which the families render as v2
job resources, run-history runs or v1 ``PipelineRunEntity`` objects.

Run records: store kind ``runner.run``, key = run id, body (camelCase, like run history)::

    {"runId", "parentRunId" (None for the pipeline), "rootRunId", "experimentName",
     "displayName", "stepName" (StepSpec.name; None for the pipeline), "origin" ("v1"|"v2"),
     "status" (model.RUN_STATUSES), "createdUtc", "startTimeUtc", "endTimeUtc",
     "error": None | {"code", "message"},
     "inputs": {name: {"literal": str} | {"data": DataRef fields} | ...},
     "outputs": {name: {"account", "container", "path", "kind"}},
     "logs": {"user_logs/std_log.txt" | "user_logs/stdout.txt" | "user_logs/stderr.txt":
              {"account", "container", "path"}},
     "environment", "compute", "properties", "tags",
     "children": [run ids] (pipelines only, in graph order)}

Logs are blobs of the workspace storage account, container ``azureml``, under
``ExperimentRun/dcid.<run id>/``, as in Azure ML's artifact store.
"""
