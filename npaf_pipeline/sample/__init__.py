"""Synthetic sample data: a complete landing zone of fictional organisations in the real published layouts."""

from npaf_pipeline.sample.generate import generate

__all__ = ["generate"]
