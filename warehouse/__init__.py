"""The warehouse: where every table lives, what its schema is, and how Spark reaches it.

One place for each schema (`schemas`), each table location (`layout`, `tables`) and each
Spark setting (`spark_session`). Zones: bronze (identified, restricted), silver (processing
results, no PHI in clear), gold (published, de-identified), metrics (PHI-free figures).
"""
