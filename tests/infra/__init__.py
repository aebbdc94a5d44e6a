"""Real services the integration tests start and stop themselves: PostgreSQL, a Spark standalone
cluster, `dagster dev`. Each runs on free loopback ports, in a temporary folder, as a process group
that is stopped at the end (nothing is left running, nothing is reached over the network)."""
