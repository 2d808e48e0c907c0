"""Image → facts: read scanned petition sheets into per-line verdicts and OCR'd names."""

PIPELINE_VERSION = "0.1.0"
