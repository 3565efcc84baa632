"""The scorecard site: rebuilt from the whole published snapshot after each publish, into <output>/site."""

import dagster as dg

from assets.ingest import OWNERS
from assets.partitions import quarterly
from assets.publish import published_snapshot
from assets.settings import NpafSettings
from npaf_pipeline.site import build_site

SITE_FOLDER = "site"


@dg.asset(
    group_name="publish",
    kinds={"html"},
    owners=OWNERS,
    partitions_def=quarterly,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[published_snapshot],
    description=(
        "Static scorecard and league-table site (league tables per quarter and type, a page per organisation, "
        "national and data-quality pages) built from every published quarter into <output>/site; opens from the "
        "folder with no server and no network."
    ),
)
def scorecard_site(context: dg.AssetExecutionContext, npaf: NpafSettings) -> dg.MaterializeResult:
    report = build_site(npaf.output, npaf.output / SITE_FOLDER)
    context.log.info(report.summary())
    return dg.MaterializeResult(
        metadata={
            "index": dg.MetadataValue.path(str(report.out / "index.html")),
            "pages": report.pages,
            "organisations": report.organisations,
            "quarters": ", ".join(report.quarters),
            "megabytes": round(report.bytes / 1e6, 2),
            "seconds": round(report.seconds, 2),
            "panels_omitted": ", ".join(report.missing) or "none",
        }
    )
