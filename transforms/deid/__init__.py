"""Metadata de-identification of one DICOM dataset (DICOM PS3.15 Annex E), the pure domain layer.

Entry point: `deidentify_dataset(ds, options, keyring, text_cleaner=None) -> DeidResult`.
"""

from transforms.deid.errors import DeidError
from transforms.deid.header import DeidResult, deidentify_bytes, deidentify_dataset, deidentify_file, write_dataset
from transforms.deid.options import DeidOptions

__all__ = ["DeidError", "DeidOptions", "DeidResult", "deidentify_bytes", "deidentify_dataset",
           "deidentify_file", "write_dataset"]
