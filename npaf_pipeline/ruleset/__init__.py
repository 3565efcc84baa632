"""Framework rule sets: the declarative model and its loader."""

from npaf_pipeline.ruleset.load import RuleSetError, available, load_ruleset
from npaf_pipeline.ruleset.model import Metric, RuleSet

__all__ = ["Metric", "RuleSet", "RuleSetError", "available", "load_ruleset"]
