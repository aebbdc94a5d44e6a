"""The pixel path of one DICOM file, frame by frame: access, decoding, OCR preparation, text
detection, OCR, redaction, lossless re-encoding and output assembly (pure functions, no Spark)."""
