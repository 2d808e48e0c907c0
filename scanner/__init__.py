"""Image → facts: read scanned petition sheets into per-line verdicts and OCR'd names."""

PIPELINE_VERSION = "0.2.0"  # 0.2: handwriting read by the PP-OCR recognizer
