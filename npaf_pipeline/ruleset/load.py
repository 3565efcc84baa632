"""Load a rule set from YAML and turn validation failures into messages that name file, metric and field."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from npaf_pipeline.ruleset.model import RuleSet

FRAMEWORKS_DIR = Path(__file__).resolve().parent.parent / "frameworks"


class RuleSetError(ValueError):
    """A rule set that cannot be used; the message names the file and each bad field."""


def available() -> list[str]:
    """Ids of the rule sets shipped with the package."""
    return sorted(p.stem for p in FRAMEWORKS_DIR.glob("*.yaml"))


def load_ruleset(name_or_path: str | Path) -> RuleSet:
    """Load a shipped rule set by id (``nof-2025-26``) or any YAML file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = FRAMEWORKS_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise RuleSetError(f"unknown rule set {str(name_or_path)!r}; shipped: {', '.join(available())}")
    return _load_path(path.resolve())


@cache
def _load_path(path: Path) -> RuleSet:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RuleSetError(f"{path}: rule set file not found") from None
    except yaml.YAMLError as exc:
        raise RuleSetError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise RuleSetError(f"{path}: a rule set must be a mapping at the top level")
    return parse_ruleset(raw, source=str(path))


def parse_ruleset(raw: dict[str, Any], source: str = "<rule set>") -> RuleSet:
    """Validate a rule set already read into Python objects."""
    try:
        return RuleSet.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{source}: invalid rule set ({exc.error_count()} problem(s))"]
        for err in exc.errors():
            lines.append(f"  - {_where(raw, err['loc'])}: {err['msg']}")
        raise RuleSetError("\n".join(lines)) from None


def _where(raw: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """Render a pydantic location, replacing list indexes with the metric/domain/item id found there."""
    parts: list[str] = []
    node: Any = raw
    for key in loc:
        if isinstance(key, int) and isinstance(node, list) and 0 <= key < len(node):
            node = node[key]
            ident = node.get("id") if isinstance(node, dict) else None
            parts[-1] = f"{parts[-1]}[{ident if ident is not None else key}]" if parts else f"[{key}]"
            continue
        # pydantic adds the union member tag (e.g. 'gate_fail') to the path; keep it readable
        node = node.get(key) if isinstance(node, dict) else None
        parts.append(str(key))
    return ".".join(parts) if parts else "(top level)"
