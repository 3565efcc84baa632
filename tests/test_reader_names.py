"""Names a reader can follow: AMR and IMR spelled out in the README and the data dictionary, and examples in the
dictionary that differ where the columns differ (one domain's score is not every domain's score)."""

from __future__ import annotations

from pathlib import Path

from schemas.published import beside_columns, domain_columns

ROOT = Path(__file__).resolve().parent.parent
SPELLED = ("aggregated metric ranking (AMR)", "individual metric ranking (IMR)")


def test_amr_and_imr_are_spelled_out_in_the_readme_and_the_dictionary() -> None:
    for page in ("README.md", "docs/data-dictionary.md"):
        text = " ".join((ROOT / page).read_text(encoding="utf-8").split())
        for words in SPELLED:
            assert words in text, f"{page} never says {words}"


def _example(field: object) -> object:
    return field.metadata["example"]  # type: ignore[attr-defined]


def test_domain_columns_have_examples_that_differ_from_domain_to_domain() -> None:
    domains = ["access", "safety", "finance", "people", "experience", "operating", "outcomes", "quality"]
    columns = {d: domain_columns(d, d.title()) for d in domains}
    scores = [_example(columns[d][f"{d}_score"][1]) for d in domains]
    ranks = [_example(columns[d][f"{d}_rank"][1]) for d in domains]
    assert len(set(scores)) >= len(domains) - 1 and len(set(ranks)) >= len(domains) - 1
    for d in domains:  # each example segment is the one its example score falls in (cut-points 2.05, 2.32, 2.6)
        score, segment = _example(columns[d][f"{d}_score"][1]), _example(columns[d][f"{d}_segment"][1])
        assert segment == 1 + sum(score > cut for cut in (2.05, 2.32, 2.6))


def test_capability_columns_do_not_all_show_the_same_rating() -> None:
    examples = [_example(field) for _, field in beside_columns().values()]
    assert len(set(examples[1:])) >= 3
