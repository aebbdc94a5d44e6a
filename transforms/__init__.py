"""The domain: pure functions on one DICOM file or one frame, and thin Spark wrappers that apply
them per partition. Nothing here imports Dagster."""
