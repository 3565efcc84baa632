"""ICB assessment: provider data aggregated to ICBs, the six system-consideration tests and their evidence.

The tests produce the frame ``npaf_pipeline.engine.segment.adjust_segments(system_tests=...)`` reads; leadership
capability and segment descriptions sit beside the segment and never change it. See docs/icb.md.
"""

from npaf_pipeline.icb.aggregate import IcbAggregation, aggregate_to_icb, provider_months
from npaf_pipeline.icb.mapping import icb_codes, read_icb_lookup, trust_icb
from npaf_pipeline.icb.system_tests import SystemInputs, SystemTestResult, assess_system

__all__ = [
    "IcbAggregation",
    "SystemInputs",
    "SystemTestResult",
    "aggregate_to_icb",
    "assess_system",
    "icb_codes",
    "provider_months",
    "read_icb_lookup",
    "trust_icb",
]
