"""Welch's test from summary statistics: the library call (scipy.stats.ttest_ind_from_stats, in
sim.runs.stats.welch_test) against the hand-written SE and Welch-Satterthwaite df it replaced
(sim.runs.stats.welch), on the committed baseline's numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from simtest import ROOT

from sim.baseline.settings import CHECKED_AREAS, CHECKED_METRICS, CONFIDENCE
from sim.runs.stats import se_from_ci, welch, welch_test


def baseline_pairs() -> pd.DataFrame:
    """Every checked (area, metric) of every policy scenario beside the monolith's, with both SEs."""
    summary = pd.read_csv(ROOT / "data" / "baseline" / "summary.csv")
    summary = summary[summary["metric"].isin(CHECKED_METRICS) & summary["area"].isin(CHECKED_AREAS)]
    summary = summary.assign(se=se_from_ci(summary["ci_low"], summary["ci_high"], summary["n"], CONFIDENCE))
    reference = summary[summary["scenario"] == "monolith"]
    others = summary[summary["scenario"] != "monolith"]
    pairs = others.merge(reference, on=["area", "metric"], suffixes=("", "_ref"))
    return pairs[(pairs["n"] >= 2) & (pairs["n_ref"] >= 2) & np.isfinite(pairs["se"]) & np.isfinite(pairs["se_ref"])
                 & ((pairs["se"] > 0) | (pairs["se_ref"] > 0))]


def test_library_welch_p_values_agree_with_the_hand_written_test_on_the_baseline() -> None:
    pairs = baseline_pairs()
    assert len(pairs) >= 40, len(pairs)  # 4 policies x the checked metrics and areas they define
    for _, r in pairs.iterrows():
        se, df = welch(r["se_ref"], int(r["n_ref"]), r["se"], int(r["n"]))
        t_hand = (r["mean"] - r["mean_ref"]) / se
        p_hand = 2 * stats.t.sf(abs(t_hand), df)
        t_lib, p_lib = welch_test(r["mean_ref"], r["se_ref"], int(r["n_ref"]), r["mean"], r["se"], int(r["n"]))
        label = f"{r['scenario']} {r['area']} {r['metric']}"
        assert p_lib == pytest.approx(p_hand, rel=0, abs=1e-12), label
        assert t_lib == pytest.approx(t_hand, rel=1e-12), label


def test_single_new_value_takes_the_reference_variance() -> None:
    t, p = welch_test(10.0, 0.5, 8, 11.0, math.nan, 1)
    se, df = welch(0.5, 8, math.nan, 1)
    assert se == pytest.approx(0.5 * 3) and df == 7  # sqrt(v1 + v1 * 8)
    assert t == pytest.approx(1.0 / se) and p == pytest.approx(2 * stats.t.sf(1.0 / se, 7))
    assert all(math.isnan(x) for x in welch_test(1.0, 0.5, 1, 2.0, 0.5, 5))  # no reference spread
