"""Thin Spark wrappers: each applies a pure transform per partition (mapInPandas), never per row."""
