"""Vega-Lite specifications of the site's charts (drawn in the page by the bundled Vega-Lite).

Each chart's numbers are also in an HTML table next to it; the spec carries a ``description`` that Vega turns
into the SVG's accessible label. Specs are plain Vega-Lite dictionaries (no per-chart validation pass at build
time). A chart that is the same on every page (the drivers and history of an organisation) is written once, at the
head of assets/site.js, with the shared look (fonts, axes), and the page fills it from the table beside it; the
national page's chart carries its data inline.
"""

from __future__ import annotations

import json
from typing import Any

# Okabe-Ito colours (distinguishable with the common colour-vision deficiencies); segments also show their number.
SEGMENT_COLOURS = {1: "#009E73", 2: "#56B4E9", 3: "#E69F00", 4: "#D55E00", 5: "#CC79A7"}
NHS_BLUE = "#005EB8"
FONT = "Segoe UI, Helvetica Neue, Arial, sans-serif"

CONFIG: dict[str, Any] = {
    "font": FONT,
    "view": {"stroke": None},
    "axis": {"labelColor": "#212B32", "titleColor": "#212B32", "gridColor": "#E8EDEE", "labelFontSize": 12},
    "legend": {"labelFontSize": 12, "titleFontSize": 12},
}


def _segment_colour(field: str, title: str = "Segment") -> dict[str, Any]:
    return {
        "field": field,
        "type": "ordinal",
        "title": title,
        "scale": {"domain": list(SEGMENT_COLOURS), "range": list(SEGMENT_COLOURS.values())},
    }


def history_chart() -> dict[str, Any]:
    """Average score per quarter with its likely range (a rule) and the segment as the point's colour. The same
    on every organisation page, so it is kept once per site; its data are read from the page's history table (see
    site.js): the chart and its table cannot disagree and the numbers are written once."""
    y = {"scale": {"domain": [1, 4], "reverse": True}, "title": "Average score (1 best, 4 worst)"}
    x = {"field": "quarter", "type": "ordinal", "title": None, "axis": {"labelAngle": 0}}
    return {
        "description": "Average score per quarter with its likely range, coloured by segment; the numbers are in the "
        "history table.",
        "width": "container",
        "height": 220,
        "transform": [{"filter": "isValid(datum.average)"}],
        "layer": [
            {
                "mark": {"type": "rule", "strokeWidth": 3, "color": "#AEB7BD"},
                "encoding": {"x": x, "y": {"field": "low", "type": "quantitative", **y}, "y2": {"field": "high"}},
            },
            {
                "mark": {"type": "line", "color": NHS_BLUE, "strokeWidth": 1.5},
                "encoding": {"x": x, "y": {"field": "average", "type": "quantitative", **y}},
            },
            {
                "mark": {"type": "point", "filled": True, "size": 140, "stroke": "#212B32", "strokeWidth": 1},
                "encoding": {
                    "x": x,
                    "y": {"field": "average", "type": "quantitative", **y},
                    "color": _segment_colour("segment"),
                    "tooltip": [
                        {"field": "quarter", "title": "Quarter"},
                        {"field": "average", "title": "Average score"},
                        {"field": "low", "title": "Likely range from"},
                        {"field": "high", "title": "to"},
                        {"field": "segment", "title": "Segment"},
                    ],
                },
            },
        ],
    }


def distribution_chart(rows: list[dict[str, Any]], description: str) -> dict[str, Any]:
    """Organisations per segment, one stacked bar per organisation type."""
    return {
        "description": description,
        "width": "container",
        "height": {"step": 34},
        "data": {"values": rows},
        "mark": {"type": "bar", "stroke": "#FFFFFF", "strokeWidth": 1},
        "encoding": {
            "y": {"field": "type", "type": "nominal", "title": None, "sort": None},
            "x": {
                "field": "organisations",
                "type": "quantitative",
                "stack": "normalize",
                "title": "Share of organisations",
                "axis": {"format": "%"},
            },
            "color": _segment_colour("segment"),
            "order": {"field": "segment", "type": "ordinal"},
            "tooltip": [
                {"field": "type", "title": "Type"},
                {"field": "segment", "title": "Segment"},
                {"field": "organisations", "title": "Organisations"},
            ],
        },
    }


def drivers_chart() -> dict[str, Any]:
    """Each item's pull against the type's mean (bars right pull the average towards worse). The same on every
    page, so it is kept once per site; its data are read from the drivers table of the page (see site.js), so the
    chart and its table cannot disagree and the numbers are not written twice."""
    return {
        "description": "Pull of each item on the average score against the type's mean; the numbers are in the "
        "drivers table.",
        "width": "container",
        "height": {"step": 18},
        "transform": [
            {"filter": "isValid(datum.pull)"},
            {"calculate": "datum.pull > 0 ? 'towards worse' : 'towards better'", "as": "direction"},
        ],
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "item", "type": "nominal", "title": None, "sort": "-x", "axis": {"labelLimit": 320}},
            "x": {"field": "pull", "type": "quantitative", "title": "Pull on the average against the type's mean"},
            "color": {
                "field": "direction",
                "type": "nominal",
                "title": None,
                "scale": {"domain": ["towards better", "towards worse"], "range": ["#009E73", "#D55E00"]},
            },
            "tooltip": [{"field": "item", "title": "Item"}, {"field": "pull", "title": "Pull", "format": ".3f"}],
        },
    }


# Charts whose spec is the same on every page: written once into site.js, filled from a table of the page.
TABLE_CHARTS = {"drivers": drivers_chart, "history": history_chart}


def config_script() -> str:
    """The look shared by every chart and the specs of the table-filled charts, set once per site (at the head of
    assets/site.js), not in every page."""
    templates = {name: make() for name, make in TABLE_CHARTS.items()}
    return (
        f"window.NPAF_CHART_CONFIG = {json.dumps(CONFIG)};\n"
        f"window.NPAF_CHART_TEMPLATES = {json.dumps(templates, separators=(',', ':'))};\n"
    )


def spec_json(spec: dict[str, Any]) -> str:
    """The spec as JSON safe inside a <script type="application/json"> element."""
    text = json.dumps(spec, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("</", "<\\/")
