"""npaf-pipeline: the NHS Oversight Framework scoring engine (no Dagster import here)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("npaf-pipeline")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
