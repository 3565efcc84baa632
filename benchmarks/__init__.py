"""Benchmarks: engine, pandas reference, ingest, orchestration and scaling (``python -m benchmarks``)."""
