"""The static scorecard and league-table site, built from a published snapshot (no server, no network)."""

from npaf_pipeline.site.build import SiteReport, build_site

__all__ = ["SiteReport", "build_site"]
