"""The fictional organisations: trusts of every NOF type and subtype, their ICBs and regions.

Codes cannot clash with real ODS codes: real NHS trust codes start with R or T (the Nov 2025 etr list has one
new-style code, G6V2S; none starts with Z) and real ICB codes are Q plus two characters, none of them QZ or QQ.
Trusts are ``Z`` plus two letters (``ZAB``; three letters past 600 organisations), ICBs ``QZ`` then ``QQ`` plus
one character (``QZ1`` ... ``QZZ``, ``QQ1`` ... ``QQ7``), sub-ICB commissioning locations ``Z`` plus two digits and
a letter (``Z04A``). Names say "Synthetic" and end "(synthetic)". Proportions follow the real 2025/26 NOF
population (134 acute, 61 mental health and community, 10 ambulance), at about a fifth of it for scale 1.

There are always England's 42 ICBs, as many per region as England has. Trusts are dealt to them in turn, in a
seeded order of ICBs: every ICB hosts a trust of the ODS list once there are 42 such trusts (scale 2 and up), and
below that no ICB hosts two while another hosts none.
"""

from __future__ import annotations

import itertools
import string
from dataclasses import dataclass, replace

import numpy as np

from npaf_pipeline.ruleset import RuleSet
from npaf_pipeline.sample.calibration import COVERAGE
from npaf_pipeline.sample.randomness import stream


@dataclass(frozen=True)
class Region:
    code: str
    name: str  # NOF spelling
    letter: str  # ODS high-level health geography letter, etr field 24
    icbs: int  # ICBs in the region in England (trust_reference_2025_26.csv)

    @property
    def upper(self) -> str:
        return self.name.upper()


REGIONS: tuple[Region, ...] = (
    Region("Y56", "London", "H", 5),
    Region("Y58", "South West", "K", 7),
    Region("Y59", "South East", "J", 6),
    Region("Y60", "Midlands", "E", 11),
    Region("Y61", "East of England", "G", 6),
    Region("Y62", "North West", "B", 3),
    Region("Y63", "North East and Yorkshire", "D", 4),
)
REGION_BY_CODE = {r.code: r for r in REGIONS}
ICB_COUNT = sum(r.icbs for r in REGIONS)
"""ICBs in every landing zone, at any scale: England's 42."""

# (rule-set org type, NOF Trust_type, NOF Trust_subtype, trusts at scale 1, name pattern)
SUBTYPES: tuple[tuple[str, str, str, int, str], ...] = (
    ("acute", "Acute trust", "Acute - Teaching", 8, "{place} University Hospitals NHS Foundation Trust"),
    ("acute", "Acute trust", "Acute - Large", 4, "{place} Hospitals NHS Foundation Trust"),
    ("acute", "Acute trust", "Acute - Medium", 4, "{place} Hospitals NHS Trust"),
    ("acute", "Acute trust", "Acute - Small", 4, "{place} District Hospital NHS Trust"),
    ("acute", "Acute trust", "Acute - Multi-Service", 1, "{place} Health and Care NHS Trust"),
    ("acute", "Acute trust", "Acute - Specialist", 3, "{place} {kind} NHS Foundation Trust"),
    (
        "mhc",
        "Mental health and community trust",
        "Mental Health and Learning Disability",
        8,
        "{place} Mental Health NHS Foundation Trust",
    ),
    ("mhc", "Mental health and community trust", "Community", 3, "{place} Community Health NHS Trust"),
    ("mhc", "Mental health and community trust", "Care Trust", 1, "{place} Care Trust"),
    ("ambulance", "Ambulance trust", "Ambulance", 4, "{place} Ambulance Service NHS Trust"),
)

# specialist kinds in turn; the services each provides (the NOF shows specialists' gaps follow their specialty)
SPECIALIST_KINDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("Children's Hospital", frozenset({"ae", "rtt", "community_waits", "cyp_mh", "inpatient_survey", "discharge"})),
    ("Cancer Centre", frozenset({"inpatient_survey", "discharge"})),
    ("Orthopaedic Hospital", frozenset({"rtt", "inpatient_survey", "discharge"})),
    ("Heart and Chest Hospital", frozenset({"rtt", "inpatient_survey", "discharge"})),
    ("Eye Hospital", frozenset({"ae", "rtt", "discharge"})),
    ("Women's Hospital", frozenset({"ae", "rtt", "inpatient_survey", "discharge"})),
)
CARE_TRUST = "Care Trust"
"""The subtype whose trusts are not in the ODS etr list (as TAD, TAH and TAJ are not)."""
SPECIALIST_RULED = frozenset({"ae", "rtt", "cancer", "community_waits", "cyp_mh", "inpatient_survey", "shmi"})
"""Services a specialist provides only when its kind does; other services follow the measured shares."""
METRIC_SERVICE: dict[str, str] = {
    "OF0013": "ae",
    "OF0014": "ae",
    "OF0023": "rtt",
    "OF0003": "rtt",
    "OF0106": "rtt",
    "OF0010": "cancer",
    "OF0011": "cancer",
    "OF0005": "community_waits",
    "OF0057": "ucr",
    "OF0041": "cyp_mh",
    "OF0063": "mh_inpatient",
    "OF0016": "crisis",
    "OF0035": "mh_survey",
    "OF0017": "ambulance",
    "OF0028": "ambulance",
    "OF0046": "shmi",
    "OF0069": "inpatient_survey",
    "OF0025": "discharge",
    "OF0067": "cqc_rating",
}
"""The service behind a metric: only trusts providing it have a value. Metrics not listed: every trust of the type."""
COUNT_UNIT_KINDS = frozenset({"Orthopaedic Hospital", "Eye Hospital", "Women's Hospital"})
"""Small specialists whose HCAI measures NHS England publishes as counts, not rates against a threshold."""

# relative activity (A&E attendances, waiting list, referrals) by subtype
SIZE = {
    "Acute - Teaching": 1.5,
    "Acute - Large": 1.2,
    "Acute - Medium": 0.95,
    "Acute - Small": 0.7,
    "Acute - Multi-Service": 0.45,
    "Acute - Specialist": 0.4,
    "Mental Health and Learning Disability": 0.6,
    "Community": 0.8,
    "Care Trust": 0.4,
    "Ambulance": 1.0,
}

_STEMS = ("Ash", "Bram", "Cold", "Dun", "Elm", "Fern", "Glen", "Hart", "Ivy", "Kings", "Lark", "Marsh", "North", "Oak")
_STEMS += ("Pen", "Quarry", "Rook", "Stan", "Thorn", "Up", "Vale", "Wold", "Wren", "Yew")
_SUFFIXES = ("field", "ford", "ham", "ley", "bury", "wick", "mouth", "dale", "stead", "worth", "by", "combe")
ICB_CHARACTERS = string.digits[1:] + string.ascii_uppercase
"""The third character of a fictional ICB code: 35 per prefix."""
ICB_PREFIXES = ("QZ", "QQ")
"""No real ICB code starts with these (real ones use QE, QF, QG, QH, QJ, QK, QM, QN, QO, QP, QR, QS, QT, QU...)."""
ICB_CODES = tuple(p + c for p in ICB_PREFIXES for c in ICB_CHARACTERS)[:ICB_COUNT]
"""The fictional ICB codes in order: QZ1 ... QZZ, then QQ1 ... QQ7."""
_PREFIXES = ("", "New ", "Upper ", "Lower ", "Great ", "Little ")


@dataclass(frozen=True)
class Icb:
    code: str
    name: str
    region: Region
    sub_icbs: tuple[str, ...]


@dataclass(frozen=True)
class Organisation:
    code: str
    name: str
    org_type: str
    type_label: str
    subtype: str
    kind: str | None
    icb: Icb
    size: float
    postcode: str
    open_date: str
    services: frozenset[str]
    count_units: bool

    @property
    def region(self) -> Region:
        return self.icb.region

    @property
    def in_etr(self) -> bool:
        """Care trusts are not in the ODS etr list of NHS trusts (as TAD, TAH and TAJ are not)."""
        return self.subtype != CARE_TRUST


@dataclass(frozen=True)
class ClosedTrust:
    """A trust that closed before the first quarter: in etr (with its close date), in no other file."""

    code: str
    name: str
    icb: Icb
    postcode: str
    open_date: str
    close_date: str


@dataclass(frozen=True)
class Population:
    organisations: tuple[Organisation, ...]
    icbs: tuple[Icb, ...]
    closed: tuple[ClosedTrust, ...]

    def of_type(self, org_type: str) -> list[Organisation]:
        return [o for o in self.organisations if o.org_type == org_type]

    def with_service(self, service: str) -> list[Organisation]:
        return [o for o in self.organisations if service in o.services]

    def hosting_icbs(self) -> tuple[Icb, ...]:
        """ICBs that host a trust of the ODS list (care trusts are not in it, so they place no trust in an ICB)."""
        codes = {o.icb.code for o in self.organisations if o.in_etr}
        return tuple(c for c in self.icbs if c.code in codes)


def service_of(metric_id: str) -> str:
    return METRIC_SERVICE.get(metric_id, "all")


def build_population(seed: int, scale: int, rs: RuleSet) -> Population:
    """Every fictional organisation for ``scale`` (1: about 40 trusts; 5: about 200)."""
    if scale < 1:
        raise ValueError(f"scale must be a whole number of at least 1, got {scale}")
    counts = [(spec, max(1, round(spec[3] * scale))) for spec in SUBTYPES]
    n_trusts = sum(n for _, n in counts)
    n_closed = max(1, round(2 * scale))
    n_icbs = ICB_COUNT
    places = _places(seed, n_trusts + n_closed + n_icbs)
    codes = _trust_codes(seed, n_trusts + n_closed)
    icbs = _icbs(seed, places[:n_icbs])
    hosts = _hosts(seed, [spec[2] for spec, n in counts for _ in range(n)], icbs)
    rng = stream(seed, "organisations")
    orgs: list[Organisation] = []
    k = 0
    for (org_type, label, subtype, _, pattern), n in counts:
        for i in range(n):
            kind = SPECIALIST_KINDS[i % len(SPECIALIST_KINDS)][0] if subtype == "Acute - Specialist" else None
            place = places[n_icbs + k]
            name = f"Synthetic {pattern.format(place=place, kind=kind or '')} (synthetic)"
            icb = hosts[k]
            orgs.append(
                Organisation(
                    code=codes[k],
                    name=name,
                    org_type=org_type,
                    type_label=label,
                    subtype=subtype,
                    kind=kind,
                    icb=icb,
                    size=round(SIZE[subtype] * float(rng.lognormal(0.0, 0.25)), 3),
                    postcode=_postcode(k),
                    open_date=_date(rng, 1993, 2020),
                    services=frozenset(),
                    count_units=kind in COUNT_UNIT_KINDS,
                )
            )
            k += 1
    orgs = _assign_services(seed, orgs, rs)
    closed = [
        ClosedTrust(
            code=codes[n_trusts + j],
            name=f"Synthetic {places[n_icbs + n_trusts + j]} Hospitals NHS Trust (synthetic, closed)",
            icb=icbs[j % len(icbs)],
            postcode=_postcode(n_trusts + j),
            open_date=_date(rng, 1993, 2005),
            close_date=_date(rng, 2010, 2020),
        )
        for j in range(n_closed)
    ]
    return Population(tuple(sorted(orgs, key=lambda o: o.code)), tuple(icbs), tuple(closed))


def _places(seed: int, n: int) -> list[str]:
    base = [f"{p}{s}{x}" for p in _PREFIXES for s in _STEMS for x in _SUFFIXES]
    if n > len(base):
        raise ValueError(f"scale too large: {n} place names needed, {len(base)} available")
    order = stream(seed, "places").permutation(len(base))
    return [base[i] for i in order[:n]]


def _trust_codes(seed: int, n: int) -> list[str]:
    width = 2 if n <= 600 else 3
    pool = ["Z" + "".join(t) for t in itertools.product(string.ascii_uppercase, repeat=width)]
    if n > len(pool):
        raise ValueError(f"scale too large: {n} organisation codes needed, {len(pool)} available")
    picked = stream(seed, "codes").choice(len(pool), size=n, replace=False)
    return [pool[i] for i in picked]


def _icbs(seed: int, places: list[str]) -> list[Icb]:
    """England's 42 ICBs: ``Region.icbs`` per region, regions dealt to the codes in a seeded order."""
    slots = [r for r in REGIONS for _ in range(r.icbs)]
    order = stream(seed, "icbs").permutation(len(slots))
    out = []
    for i, code in enumerate(ICB_CODES):
        subs = tuple(f"Z{i:02d}{letter}" for letter in "ABC")
        name = f"NHS Synthetic {places[i]} Integrated Care Board (synthetic)"
        out.append(Icb(code, name, slots[int(order[i])], subs))
    return sorted(out, key=lambda c: c.code)


def _hosts(seed: int, subtypes: list[str], icbs: list[Icb]) -> list[Icb]:
    """The ICB of each trust (``subtypes`` in build order): the trusts dealt to the ICBs in turn.

    The ICBs are taken in a seeded order, one trust each per round, trusts of the ODS list first (care trusts are
    not in it, so they would host nothing the ICB assessment can see) and in build order (acute trusts first,
    so as many ICBs as possible have a trust with RTT and cancer data). So every ICB hosts a trust of the ODS
    list once there are as many such trusts as ICBs, and the numbers of trusts of any two ICBs differ by one
    at most.
    """
    order = stream(seed, "icb_hosts").permutation(len(icbs))
    dealt = sorted(range(len(subtypes)), key=lambda k: (subtypes[k] == CARE_TRUST, k))
    hosts: list[Icb] = [icbs[0]] * len(subtypes)
    for turn, k in enumerate(dealt):
        hosts[k] = icbs[int(order[turn % len(icbs)])]
    return hosts


def _postcode(k: int) -> str:
    """Postcode area ZZ does not exist."""
    return f"ZZ{k % 99 + 1} {k % 9 + 1}ZZ"


def _date(rng: np.random.Generator, first_year: int, last_year: int) -> str:
    year = int(rng.integers(first_year, last_year + 1))
    month = int(rng.choice([4, 7, 10, 1]))
    return f"{year}{month:02d}01"


def _eligible(o: Organisation, service: str) -> bool:
    if o.subtype == "Acute - Specialist" and service in SPECIALIST_RULED:
        return service in dict(SPECIALIST_KINDS)[o.kind or ""]
    return True


def _assign_services(seed: int, orgs: list[Organisation], rs: RuleSet) -> list[Organisation]:
    """Which services each trust provides: the measured share of each subtype, in a seeded order.

    Exactly ``round(share * n)`` trusts of a subtype get a service (not a coin toss each), so small populations
    keep the real proportions; specialists follow their kind for the services in ``SPECIALIST_RULED``. Where
    rounding leaves an organisation type of a metric with no trust at all (one acute trust runs an ambulance
    service in the real data), the most likely subtype gets one, so every metric is exercised.
    """
    services: dict[str, set[str]] = {
        o.code: {"all"} | ({"ambulance"} if o.org_type == "ambulance" else set()) for o in orgs
    }
    subtypes = sorted({o.subtype for o in orgs})
    for service, shares in sorted(COVERAGE.items()):
        for subtype in subtypes:
            group = [o for o in orgs if o.subtype == subtype and _eligible(o, service)]
            if subtype == "Acute - Specialist" and service in SPECIALIST_RULED:
                chosen = group
            else:
                order = stream(seed, "service", service, subtype).permutation(len(group))
                chosen = [group[i] for i in order[: round(shares.get(subtype, 0.0) * len(group))]]
            for o in chosen:
                services[o.code].add(service)
    for metric in rs.metrics:
        service = service_of(metric.id)
        for org_type in metric.org_types:
            typed = [o for o in orgs if o.org_type == org_type]
            if not typed or any(service in services[o.code] for o in typed):
                continue
            shares = COVERAGE.get(service, {})
            best = max(typed, key=lambda o: (shares.get(o.subtype, 0.0), _eligible(o, service), -typed.index(o)))
            services[best.code].add(service)
    return [replace(o, services=frozenset(services[o.code])) for o in orgs]
