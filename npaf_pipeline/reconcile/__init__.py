"""Recompute NHS England's published NOF results and compare them, end to end and stage by stage."""

from npaf_pipeline.reconcile.compare import Reconciliation, reconcile

__all__ = ["Reconciliation", "reconcile"]
