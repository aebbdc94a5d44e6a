"""Dagster only: assets, checks, resources, partitions, sensors, schedules and the `deidlake` CLI.

Assets are thin: read a table, call a transform, write a table, return PHI-free metadata.
"""
