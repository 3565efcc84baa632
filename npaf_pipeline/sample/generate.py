"""``generate``: a complete synthetic landing zone, every source in its real published layout.

The same arguments always give byte-identical files: every random number is keyed by what it is for
(``randomness``), rows are sorted, and workbooks carry fixed creation metadata (``xlsx``).
"""

from __future__ import annotations

import shlex
from collections import Counter
from pathlib import Path

from npaf_pipeline.quarters import Quarter, parse_quarter
from npaf_pipeline.ruleset import load_ruleset
from npaf_pipeline.sample import (
    ae_monthly,
    ambsys,
    canonical,
    chs_waiting_lists,
    cwt_crs,
    icb_inputs,
    reference,
    rtt_full,
)
from npaf_pipeline.sample.icbs import write_icb_reference
from npaf_pipeline.sample.model import targets
from npaf_pipeline.sample.organisations import build_population

FRAMEWORK = "nof-2025-26"
SOURCES = (
    "ods_etr",
    "trust_reference",
    "ae_monthly",
    "cwt_crs",
    "chs_waiting_lists",
    "ambsys",
    "rtt_full",
    "canonical",
    "override_flags",
    "intensive_support",
    "rtt_monthly",
    "icb_reference",
    "icb_values",
    "system_finance",
    "uec_tier1",
    "leadership",
)
ICB_SOURCES = SOURCES[SOURCES.index("rtt_monthly") :]
"""Folders only the ICB assessment reads (frameworks that segment ICBs); the others feed every framework."""


def command_line(quarters: int, seed: int, first: str, scale: int) -> str:
    """The command that regenerates a landing zone (the output folder left as DIR)."""
    return (
        f"npaf sample-data --quarters {quarters} --seed {seed} --first {shlex.quote(first)} --scale {scale} --out DIR"
    )


def generate(out: str | Path, quarters: int, seed: int, first: str = "2025-26 Q1", scale: int = 1) -> dict:
    """Write the landing zone under ``out``; returns organisations by type and, per source, files and rows."""
    if quarters < 1:
        raise ValueError(f"--quarters must be at least 1, got {quarters}")
    out = Path(out)
    start = parse_quarter(first)
    span: list[Quarter] = [start.shift(i) for i in range(quarters)]
    rs = load_ruleset(FRAMEWORK)
    pop = build_population(seed, scale, rs)
    icbs = pop.icbs
    values = targets(pop, span, seed, rs)
    folders = {source: out / source for source in SOURCES}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    written = {
        "ods_etr": [reference.write_etr(pop, folders["ods_etr"])],
        "trust_reference": [reference.write_trust_reference(pop, folders["trust_reference"])],
        "ae_monthly": ae_monthly.write(pop, span, values, seed, folders["ae_monthly"]),
        "cwt_crs": cwt_crs.write(pop, span, values, seed, folders["cwt_crs"], scale),
        "chs_waiting_lists": chs_waiting_lists.write(pop, span, values, seed, folders["chs_waiting_lists"]),
        "ambsys": ambsys.write(pop, span, values, seed, folders["ambsys"]),
        "rtt_full": rtt_full.write(pop, span, values, seed, folders["rtt_full"], scale),
        "canonical": canonical.write_values(span, values, folders["canonical"]),
        "override_flags": canonical.write_override_flags(values, folders["override_flags"]),
        "intensive_support": canonical.write_intensive_support(pop, span, seed, folders["intensive_support"]),
        "rtt_monthly": rtt_full.write_other_months(pop, span, values, seed, folders["rtt_monthly"], scale),
        "icb_reference": write_icb_reference(icbs, folders["icb_reference"]),
        "icb_values": icb_inputs.write_values(icbs, span, seed, folders["icb_values"]),
        "system_finance": icb_inputs.write_finance(icbs, span, seed, folders["system_finance"]),
        "uec_tier1": icb_inputs.write_tier_one(icbs, span, seed, folders["uec_tier1"]),
        "leadership": icb_inputs.write_leadership(icbs, span, seed, folders["leadership"]),
    }
    readme = out / "README.md"
    hosting = len(pop.hosting_icbs())
    text = _readme(command_line(quarters, seed, start.label, scale), seed, span, written, (len(icbs), hosting))
    readme.write_text(text, encoding="utf-8")
    files = {
        source: [{"path": str(path), "rows": rows, "bytes": path.stat().st_size} for path, rows in sorted(items)]
        for source, items in written.items()
    }
    return {
        "out": str(out),
        "quarters": [q.label for q in span],
        "seed": seed,
        "scale": scale,
        "organisations": dict(sorted(Counter(o.org_type for o in pop.organisations).items())),
        "subtypes": dict(sorted(Counter(o.subtype for o in pop.organisations).items())),
        "icbs": {"total": len(icbs), "hosting_trusts": hosting},
        "files": files,
        "bytes": sum(f["bytes"] for items in files.values() for f in items) + readme.stat().st_size,
    }


def _readme(
    command: str, seed: int, span: list[Quarter], written: dict[str, list[tuple[Path, int]]], icbs: tuple[int, int]
) -> str:
    lines = [
        "# Synthetic landing zone",
        "",
        "**Every file here is synthetic.** The organisations are fictional (trust codes `Z..`, ICB codes `QZ.`, `QQ.`,",
        'names starting "Synthetic" and ending "(synthetic)"); the numbers are invented, calibrated to the spread',
        "of NHS England's published Q1 2025/26 NHS Oversight Framework figures. They are not NHS statistics.",
        "",
        "Generated by `npaf sample-data` with:",
        "",
        "```",
        command,
        "```",
        "",
        f"DIR is this folder; the seed is {seed}. The same command writes the same bytes.",
        f"Quarters: {span[0].label} to {span[-1].label}.",
        f"ICBs: {icbs[0]}, as many as England has, {icbs[1]} of them hosting trusts (of the ODS list).",
        f"The folders from `{ICB_SOURCES[0]}/` on are read only by frameworks that segment ICBs.",
        "",
        "| folder | files | rows |",
        "|---|---|---|",
    ]
    lines += [f"| `{source}/` | {len(items)} | {sum(r for _, r in items):,} |" for source, items in written.items()]
    lines += ["", "Layouts and calibration: `docs/sample-data.md` in the npaf-pipeline repository.", ""]
    return "\n".join(lines)
