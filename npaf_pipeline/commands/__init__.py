"""Sub-commands of ``npaf``: one module each, discovered by :mod:`npaf_pipeline.cli`."""

from pathlib import Path


def shipped_rule_sets() -> list[str]:
    """Ids of the rule sets in npaf_pipeline/frameworks/ (file names: nothing is parsed, so help stays fast)."""
    return sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "frameworks").glob("*.yaml"))
