"""migrate_kit: move Azure ML SDK v1 published pipelines to SDK v2 batch endpoints."""
