"""Calibration constants of the sample data, measured on NHS England's Q1 2025/26 files.

Sources: the NOF dashboard CSVs for Q1 2025/26 (acute trusts; mental health and community trusts), and for the
ambulance measures the AmbSYS time series (Q1 2025/26 computed by ``npaf_pipeline.sources.ambsys``, 11 services).
``tests/test_sample_data.py`` re-measures a selection from the real files when they are at hand, so the numbers
here cannot drift silently from what they claim to be. Values NHS England did not publish (ambulance trusts'
workforce and finance measures: their NOF file was not available) are assumptions and live in ``ASSUMED``.

A distribution is stored as its quantiles at ``PROBABILITIES`` (linear interpolation, as polars computes them):
the generator maps a standard-normal score through them, which keeps skew, floors and point masses (a plan of
exactly 0.0) that a mean and spread would lose.
"""

from __future__ import annotations

PROBABILITIES: tuple[float, ...] = (0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0)

# (metric, org type) -> quantiles at PROBABILITIES, NOF Q1 2025/26 values in the rule set's unit
QUANTILES: dict[tuple[str, str], tuple[float, ...]] = {
    ("OF0003", "acute"): (0.0, 0.085, 0.43, 1.33, 2.4, 3.325, 4.48, 5.03, 8.28),  # n=131
    ("OF0005", "acute"): (0.0, 0.0, 0.0, 0.037, 1.11, 6.397, 27.52, 52.611, 66.02),  # n=80
    ("OF0005", "mhc"): (0.0, 0.0, 0.0, 0.01, 0.7, 6.32, 16.82, 24.25, 64.62),  # n=41
    ("OF0010", "acute"): (57.51, 66.385, 68.901, 73.74, 76.875, 79.852, 82.235, 83.358, 88.55),  # n=118
    ("OF0011", "acute"): (42.19, 53.868, 58.233, 64.04, 71.12, 75.7, 79.347, 81.748, 87.27),  # n=118
    ("OF0013", "acute"): (50.9, 62.39, 66.82, 70.05, 76.0, 78.95, 82.76, 85.5, 97.1),  # n=123
    ("OF0014", "acute"): (0.0, 0.385, 2.052, 4.14, 8.36, 12.92, 16.226, 18.047, 25.3),  # n=123
    ("OF0016", "mhc"): (24.14, 34.21, 39.656, 47.93, 58.0, 71.83, 80.122, 85.476, 100.0),  # n=45
    ("OF0020", "acute"): (0.0, 0.0, 0.0, 1.0, 3.0, 5.0, 8.0, 10.0, 26.0),  # n=134
    ("OF0023", "acute"): (45.39, 51.825, 54.51, 56.905, 60.72, 65.92, 70.76, 72.875, 83.14),  # n=131
    ("OF0025", "acute"): (0.0, 0.0, 0.2, 0.5, 0.7, 1.0, 1.55, 1.775, 3.4),  # n=126
    ("OF0041", "acute"): (-22.79, -12.627, -0.378, 1.175, 7.98, 15.683, 20.821, 22.174, 47.68),  # n=22
    ("OF0041", "mhc"): (-15.7, -11.488, -6.81, 0.585, 4.575, 15.178, 25.96, 30.767, 38.95),  # n=46
    ("OF0048", "acute"): (0.67, 0.945, 0.98, 1.05, 1.16, 1.32, 1.481, 1.63, 2.4),  # n=130, unit rate
    ("OF0057", "acute"): (0.0, 66.955, 72.39, 78.54, 84.05, 90.465, 92.99, 96.285, 97.41),  # n=51
    ("OF0057", "mhc"): (39.21, 58.34, 69.726, 80.08, 85.58, 89.48, 93.292, 94.906, 97.45),  # n=37
    ("OF0061", "acute"): (5.48, 5.93, 6.06, 6.242, 6.42, 6.59, 6.777, 6.851, 7.51),  # n=134
    ("OF0061", "mhc"): (5.68, 6.14, 6.28, 6.57, 6.81, 6.95, 7.12, 7.2, 7.43),  # n=61
    ("OF0063", "mhc"): (10.61, 12.134, 16.61, 20.67, 24.67, 28.475, 31.758, 33.039, 35.34),  # n=47
    ("OF0079", "acute"): (-19.58, -9.161, -6.918, -3.987, -1.62, 0.0, 0.0, 0.54, 3.69),  # n=134
    ("OF0079", "mhc"): (-3.26, -1.85, -1.54, 0.0, 0.0, 0.0, 0.7, 1.41, 2.39),  # n=61
    ("OF0081", "acute"): (-5.99, -2.095, -1.444, -0.508, 0.0, 0.018, 0.19, 1.011, 3.06),  # n=134
    ("OF0081", "mhc"): (-4.2, -1.66, -0.32, 0.0, 0.0, 0.04, 0.23, 0.32, 4.47),  # n=61
    ("OF0082", "acute"): (3.49, 4.011, 4.231, 4.603, 5.215, 5.77, 6.276, 6.514, 7.09),  # n=134
    ("OF0082", "mhc"): (3.23, 4.17, 4.54, 5.01, 5.65, 6.26, 6.61, 6.95, 7.62),  # n=61
    ("OF0084", "acute"): (5.98, 6.46, 6.536, 6.71, 6.885, 7.04, 7.231, 7.35, 7.72),  # n=134
    ("OF0084", "mhc"): (6.32, 6.64, 6.76, 6.95, 7.08, 7.21, 7.31, 7.38, 7.49),  # n=61
    ("OF0085", "acute"): (-13.72, -3.216, -2.05, 0.318, 2.91, 5.192, 6.532, 8.088, 14.2),  # n=134
    ("OF0086", "mhc"): (66.59, 78.362, 84.984, 94.235, 105.385, 112.627, 122.289, 124.819, 138.61),  # n=60
    ("OF0088", "acute"): (0.78, 0.914, 0.99, 1.07, 1.22, 1.36, 1.594, 1.83, 5.0),  # n=129, unit rate
    ("OF0106", "acute"): (-6.86, -3.215, -2.49, -0.65, 0.99, 3.005, 4.67, 5.475, 10.34),  # n=131
    # AmbSYS, Q1 2025/26, the 11 services (10 ambulance trusts and the Isle of Wight)
    ("OF0017", "ambulance"): (20.533, 21.233, 21.933, 24.842, 26.083, 31.483, 33.767, 34.958, 36.15),
    ("OF0028", "ambulance"): (45.162, 45.571, 45.98, 48.577, 49.682, 52.761, 54.528, 55.296, 56.065),
}

# HCAI measures published as a count for small specialist trusts (unit 'count'), NOF Q1 2025/26
COUNT_QUANTILES: dict[str, tuple[float, ...]] = {
    "OF0048": (0.0, 0.0, 0.0, 0.0, 0.5, 1.25, 1.7, 1.85, 2.0),  # n=4
    "OF0088": (0.0, 0.2, 0.4, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0),  # n=5
}

# provided scores: (metric, org type) -> {score: trusts}, from the OF1xxx rows of NOF Q1 2025/26
SCORE_COUNTS: dict[tuple[str, str], dict[int, int]] = {
    ("OF0067", "acute"): {3: 15},
    ("OF0067", "mhc"): {2: 2, 3: 4},
    ("OF0046", "acute"): {1: 9, 2: 100, 3: 9},
    ("OF0069", "acute"): {1: 12, 2: 107, 3: 7, 4: 4},
    ("OF0035", "acute"): {2: 2},
    ("OF0035", "mhc"): {1: 2, 2: 44, 4: 1},
}

# Share of trusts of each NOF subtype with a value of the service's representative metric, NOF Q1 2025/26
COVERAGE_METRIC: dict[str, str] = {
    "ae": "OF0013",
    "rtt": "OF0023",
    "cancer": "OF0010",
    "community_waits": "OF0005",
    "ucr": "OF0057",
    "cyp_mh": "OF0041",
    "mh_inpatient": "OF0063",
    "crisis": "OF0016",
    "mh_survey": "OF0035",
    "ambulance": "OF0017",
    "shmi": "OF0046",
    "inpatient_survey": "OF0069",
    "discharge": "OF0025",
    "cqc_rating": "OF0067",
}
COVERAGE: dict[str, dict[str, float]] = {
    "ae": {
        "Acute - Teaching": 1.0,
        "Acute - Large": 1.0,
        "Acute - Medium": 1.0,
        "Acute - Small": 1.0,
        "Acute - Multi-Service": 1.0,
        "Acute - Specialist": 0.31,
    },
    "rtt": {
        "Acute - Teaching": 1.0,
        "Acute - Large": 1.0,
        "Acute - Medium": 1.0,
        "Acute - Small": 1.0,
        "Acute - Multi-Service": 1.0,
        "Acute - Specialist": 0.81,
    },
    "cancer": {
        "Acute - Teaching": 1.0,
        "Acute - Large": 1.0,
        "Acute - Medium": 1.0,
        "Acute - Small": 1.0,
        "Acute - Multi-Service": 1.0,
    },
    "community_waits": {
        "Acute - Teaching": 0.63,
        "Acute - Large": 0.7,
        "Acute - Medium": 0.65,
        "Acute - Small": 0.58,
        "Acute - Multi-Service": 0.86,
        "Acute - Specialist": 0.19,
        "Community": 1.0,
        "Mental Health and Learning Disability": 0.57,
        "Care Trust": 0.67,
    },
    "ucr": {
        "Acute - Teaching": 0.33,
        "Acute - Large": 0.39,
        "Acute - Medium": 0.55,
        "Acute - Small": 0.47,
        "Acute - Multi-Service": 0.86,
        "Community": 0.93,
        "Mental Health and Learning Disability": 0.52,
        "Care Trust": 0.33,
    },
    "cyp_mh": {
        "Acute - Teaching": 0.2,
        "Acute - Large": 0.09,
        "Acute - Medium": 0.2,
        "Acute - Small": 0.11,
        "Acute - Multi-Service": 0.29,
        "Acute - Specialist": 0.12,
        "Community": 0.36,
        "Mental Health and Learning Disability": 0.89,
        "Care Trust": 0.67,
    },
    "mh_inpatient": {
        "Acute - Multi-Service": 0.14,
        "Community": 0.07,
        "Mental Health and Learning Disability": 0.98,
        "Care Trust": 1.0,
    },
    "crisis": {
        "Acute - Specialist": 0.06,
        "Community": 0.07,
        "Mental Health and Learning Disability": 0.95,
        "Care Trust": 0.67,
    },
    "mh_survey": {
        "Acute - Multi-Service": 0.29,
        "Community": 0.07,
        "Mental Health and Learning Disability": 0.98,
        "Care Trust": 1.0,
    },
    "ambulance": {"Acute - Multi-Service": 0.14},
    "shmi": {
        "Acute - Teaching": 1.0,
        "Acute - Large": 1.0,
        "Acute - Medium": 1.0,
        "Acute - Small": 1.0,
        "Acute - Multi-Service": 1.0,
    },
    "inpatient_survey": {
        "Acute - Teaching": 1.0,
        "Acute - Large": 1.0,
        "Acute - Medium": 1.0,
        "Acute - Small": 1.0,
        "Acute - Multi-Service": 1.0,
        "Acute - Specialist": 0.75,
    },
    "discharge": {
        "Acute - Teaching": 0.96,
        "Acute - Large": 0.91,
        "Acute - Medium": 1.0,
        "Acute - Small": 0.79,
        "Acute - Multi-Service": 1.0,
        "Acute - Specialist": 1.0,
    },
    "cqc_rating": {
        "Acute - Teaching": 0.16,
        "Acute - Large": 0.04,
        "Acute - Medium": 0.1,
        "Acute - Small": 0.11,
        "Acute - Multi-Service": 0.14,
        "Acute - Specialist": 0.06,
        "Community": 0.21,
        "Mental Health and Learning Disability": 0.07,
    },
}

# Segmentation inputs, NOF Q1 2025/26: OF5004 (financial override) equals the deficit-plan proxy for every acute
# trust and 57 of 61 mental health and community trusts, so flags are derived from the generated plans;
# OF5007 (intensive support) share per org type, used to size the list.
OVERRIDE_SHARE: dict[str, float] = {"acute": 99 / 134, "mhc": 19 / 61}
INTENSIVE_SUPPORT_SHARE: dict[str, float] = {"acute": 14 / 134, "mhc": 3 / 61}

# Not published for ambulance trusts (their NOF file was not found): assumed, not measured.
ASSUMED: dict[tuple[str, str], tuple[float, ...]] = {
    ("OF0061", "ambulance"): (5.5, 5.7, 5.8, 5.95, 6.1, 6.25, 6.4, 6.5, 6.7),
    ("OF0084", "ambulance"): (5.7, 5.9, 6.0, 6.15, 6.3, 6.45, 6.6, 6.7, 6.9),
    ("OF0082", "ambulance"): (5.0, 5.6, 5.9, 6.4, 7.0, 7.6, 8.1, 8.4, 9.0),
    ("OF0079", "ambulance"): (-2.0, -1.2, -0.8, 0.0, 0.0, 0.0, 0.3, 0.6, 1.2),
    ("OF0081", "ambulance"): (-2.0, -1.0, -0.4, 0.0, 0.0, 0.05, 0.2, 0.4, 1.5),
    ("OF0086", "ambulance"): (82.0, 88.0, 91.0, 95.5, 100.0, 104.5, 109.0, 112.0, 118.0),
}
