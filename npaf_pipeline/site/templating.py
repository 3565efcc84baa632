"""The Jinja environment of the site: its filters, and the settings that keep rendering ~2,000 pages quick.

Templates are indented for reading; the indentation is taken out of the template source once, when a template
is loaded, rather than out of every page written. Page data are plain dictionaries, so a field is looked up as a
key first (Jinja's default tries the attribute first and catches the AttributeError, for every cell of every
table). Templates are compiled once per build: the files do not change while it runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from npaf_pipeline.site import charts
from npaf_pipeline.site.formats import fmt, metric_value
from npaf_pipeline.site.model import CHANGE_CLASSES, org_file, slug

INDENT = re.compile(r"\n[ \t]+")  # leading indentation of a template line: meaningless in HTML
DICT_METHODS = frozenset(dir(dict))


class _Loader(PackageLoader):
    """The package's templates with the indentation of each line removed."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = super().get_source(environment, template)
        return INDENT.sub("\n", source), filename, uptodate


class _Environment(Environment):
    def getattr(self, obj: Any, attribute: str) -> Any:
        """A dictionary's key before its attribute (but never shadowing a dict method such as ``items``)."""
        if type(obj) is dict and attribute in obj and attribute not in DICT_METHODS:
            return obj[attribute]
        return super().getattr(obj, attribute)


def environment() -> Environment:
    env = _Environment(
        loader=_Loader("npaf_pipeline.site", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["num"] = fmt
    env.filters["value"] = metric_value
    env.filters["slug"] = slug
    env.filters["orgfile"] = org_file
    env.globals["segment_colours"] = charts.SEGMENT_COLOURS
    env.globals["classes"] = CHANGE_CLASSES
    env.filters["segment"] = _segment_badges(env)
    return env


def _segment_badges(env: Environment) -> Callable[[Any], Any]:
    """The ``segment`` filter: the _macros.html badge of a segment, rendered once per value (1 to 5, or none)
    rather than on every use (a macro call costs more than the rest of a table row)."""
    macro = env.get_template("_macros.html").module.segment
    badges = {value: macro(value) for value in (None, 1, 2, 3, 4, 5)}

    def badge(value: Any) -> Any:
        found = badges.get(value) if not isinstance(value, bool) else None
        return found if found is not None else macro(value)

    return badge
