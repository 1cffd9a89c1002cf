"""The emulator's job runner: runs the steps of invoked v2 jobs and submitted v1 pipeline runs.

The families describe a job as a ``model.PipelineSpec`` and call ``runner_for(ctx).submit``;
the runner runs every step as a subprocess of the emulator's own Python in a scratch folder and
keeps one *run record* per pipeline and per step in the store, which the families render as v2
job resources, run-history runs or v1 ``PipelineRunEntity`` objects.

Run records: store kind ``runner.run``, key = run id, body (camelCase, like run history)::

    {"runId", "parentRunId" (None for the pipeline), "rootRunId" (the pipeline's run id),
     "experimentName", "displayName" (StepSpec.display_name or the step name; the pipeline's
     display name or its run id), "stepName" (StepSpec.name; None for the pipeline),
     "origin" ("v1"|"v2"), "jobType" ("pipeline"|"command"|"parallel"),
     "status" (model.RUN_STATUSES),
     "statusHistory": [{"status", "time"}, ...] (every status the run went through, in order),
     "createdUtc", "startTimeUtc" (first Running), "endTimeUtc" (terminal), all ISO 8601 "Z",
     "error": None | {"code": "UserError"|"SystemError", "message"},
     "inputs": {name: {"literal": str} | {"data": DataRef fields}
                      | {"upstream": {"step", "output"}} | {} (optional, left empty)},
     "outputs": {name: {"account", "container", "path", "kind"}} (the destinations),
     "logs": {log name: {"account", "container", "path"}},
     "environment" (recorded only), "environmentBuilt": False (steps run in the emulator's
     own Python), "compute" (StepSpec.compute, else the pipeline's default_compute),
     "properties", "tags",
     "children": [run ids] (pipelines only, in graph order),
     "settings": {"continueOnStepFailure", "defaultCompute"} (pipelines only)}

Log names: a step has ``user_logs/std_log.txt`` (stdout and stderr as they came),
``user_logs/stdout.txt`` and ``user_logs/stderr.txt`` once its process ended; a pipeline has
``logs/azureml/executionlogs.txt`` (a line per step event) from its submission. Logs are blobs
of the workspace storage account, container ``azureml``, under ``ExperimentRun/dcid.<run id>/``,
as in Azure ML's artifact store. ``Runner.read_log`` also reads a running step's log live.

Step run ids are ``StepSpec.run_id`` when set, else fresh uuid4 strings.
"""
