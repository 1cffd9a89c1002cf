"""The ARM family: cloud metadata, managed-identity tokens, subscriptions, the workspace,
discovery, and the v1 default-datastore and compute-list routes."""
