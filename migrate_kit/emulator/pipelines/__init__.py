"""The emulated v1 pipelines service (routes, handlers, backend, errors)."""
