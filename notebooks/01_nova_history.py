# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · What Nova's history shows
#
# Nova's merged-change history (`data/nova/nova_changes.csv.gz`, one row per change that landed on
# `master`, 2011 to 2016), read and checked by `sim.calibrate.data.load_changes` and summarised by
# `sim.calibrate.summaries`. Nothing here simulates: these are the numbers the model is calibrated on
# (notebook 02) and judged against.
#
# **To change what you see**, edit the parameters cell below (the cycle to detail, bootstrap
# resamples, whether suspect rows are kept) and rerun all cells; headless:
# `papermill 01_nova_history.ipynb out.ipynb -p CYCLE kilo` (build the `.ipynb` first with
# `jupytext --to ipynb notebooks/01_nova_history.py`).

# %% tags=["parameters"]
CYCLE = "juno"  # the release cycle detailed below (the September 2014 debate happened in Juno)
N_BOOT = 200  # bootstrap resamples for the quantile intervals (a real study: 2000)
INCLUDE_SUSPECT = False  # keep rows flagged suspect (pre-Gerrit, fast-forwards, cherry-picks...)

# %%
# %matplotlib inline
from itertools import pairwise

import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from matplotlib.figure import Figure

import sim
from sim.calibrate import summaries
from sim.calibrate.cli import load_changes_file
from sim.calibrate.data import (
    NOVA_CHANGES,
    NOVA_DRIVERS,
    load_changes,
    load_roster,
    model_areas,
    roster_size,
)
from sim.paths import DATA, SCENARIOS

pd.set_option("display.precision", 2)
pd.set_option("display.width", 160)

# %% [markdown]
# ## The rows and their caveats
#
# The loader checks every row and drops rows flagged *suspect* unless `INCLUDE_SUSPECT`. The reasons
# (a row may have several) are counted below. Read every number in this notebook with these caveats:
#
# * **Merged changes only.** Abandoned and still-open changes are not in git, so arrival rates are rates
#   of *eventually merged* work and time to merge is conditioned on merging.
# * **`authored_at` approximates the first upload**: work may sit locally before it is pushed, and
#   cherry-picks keep the original date. `committed_at` is the last upload or rebase, not the approval.
# * **Suspect rows**: pre-Gerrit (bzr-era) rows, fast-forwards without a merge time, branch merges,
#   cherry-picks, repeated Change-Ids, impossible time orders.
# * Master opens for cycle N+1 at N's first release candidate, so the last weeks labelled N hold N+1 work.

# %%
table = load_changes(NOVA_CHANGES, include_suspect=INCLUDE_SUSPECT)
frame = table.frame
print(table.report())
pd.Series(table.suspect_reasons, name="rows").rename_axis("suspect reason").to_frame()

# %%
# The counts the data README and the data portrait state (22,328 rows, 6,829 suspect, 1,733 Juno changes).
assert table.rows_read == 22_328, table.rows_read
assert table.suspect_rows == 6_829, table.suspect_rows
assert len(frame) == table.rows_read - table.excluded
if not INCLUDE_SUSPECT:
    assert (frame["release"] == "juno").sum() == 1_733
    assert (frame["release"] == "kilo").sum() == 1_847
    assert frame["time_to_merge_days"].min() >= 0, "a kept row merged before it was authored"

# %% [markdown]
# ## Every cycle at a glance
#
# `cycles_overview`: one row per release (cycle N runs from release N-1 to release N), changes merged,
# time-to-merge quantiles (days from `authored_at` to `merged_at`) and merges per cycle week.
# Bexar to Diablo are pre-Gerrit, so they vanish when suspect rows are dropped.

# %%
overview = summaries.cycles_overview(frame)
display(overview)

# %%
quantiles = overview[["time_to_merge_p50", "time_to_merge_p75", "time_to_merge_p90"]].to_numpy()
assert np.all(np.isfinite(quantiles)) and np.all(quantiles > 0)
assert np.all(np.diff(quantiles, axis=1) >= 0), "quantiles out of order"
assert (overview["merges_dispersion"] > 1).all(), "weekly merges are burstier than Poisson in every cycle"
assert CYCLE in overview.index, f"{CYCLE} has no rows (releases: {list(overview.index)})"

# %%
fig = Figure(figsize=(11, 4))
ax1, ax2 = fig.subplots(1, 2)
for q, style in (("p50", "o-"), ("p75", "s--"), ("p90", "^:")):
    ax1.plot(overview.index, overview[f"time_to_merge_{q}"], style, label=q)
ax1.set_yscale("log")
ax1.set_ylabel("time to merge (days, log scale)")
ax1.legend(title="quantile")
ax2.bar(overview.index, overview["merges_per_week"], color="grey")
ax2.set_ylabel("changes merged per week")
for ax in (ax1, ax2):
    ax.tick_params(axis="x", rotation=45)
fig.tight_layout()
display(fig)

# %%
first = overview.index[0]
peak = overview["time_to_merge_p50"].idxmax()
p50, per_week = overview["time_to_merge_p50"], overview["merges_per_week"]
display(Markdown(
    f"The median time to merge went from **{p50[first]:.1f} days** in {first} to **{p50[CYCLE]:.1f} days** in "
    f"{CYCLE} ({p50[CYCLE] / p50[first]:.1f}-fold; peak {p50[peak]:.1f} days in {peak}), while merges per week "
    f"went from {per_week[first]:.0f} to {per_week[CYCLE]:.0f} ({per_week[CYCLE] / per_week[first]:.1f}-fold)."
))

# %% [markdown]
# ## Arrivals by area and cycle
#
# Changes *authored* per cycle week (whenever they merged), grouped into the model's areas as the
# monolith scenario maps them (`[areas.NAME] data_areas`; data areas no model area lists go to `other`).
# The last weeks of each cycle run low: changes authored then had rarely merged by the data's end of
# cycle, and abandoned ones are never counted.

# %%
monolith = sim.load_scenario(SCENARIOS / "monolith.toml")
mapping = {name: list(area.data_areas) or [name] for name, area in monolith.areas.items()}
frame = frame.assign(model_area=model_areas(frame["area"], mapping, default="other").to_numpy())
cycles = list(overview.index)
summary = {c: summaries.cycle_summary(frame, c, area_col="model_area") for c in cycles}
arrivals = pd.DataFrame({c: s.weekly["arrivals_mean"] for c, s in summary.items()}).T.rename_axis("release")
arrivals = arrivals[[*monolith.area_names, "all"]]
display(arrivals)

# %%
by_area = arrivals.drop(columns="all")
assert np.allclose(by_area.sum(axis=1), arrivals["all"]), "areas do not add up to all"
assert (by_area.to_numpy() >= 0).all()

fig = Figure(figsize=(11, 4.5))
ax = fig.subplots()
bottom = np.zeros(len(by_area))
for name in by_area.columns:
    ax.bar(by_area.index, by_area[name], bottom=bottom, label=name)
    bottom += by_area[name].to_numpy()
ax.set_ylabel("changes authored per week (eventually merged)")
ax.legend(ncol=3, fontsize=8, title="model area")
ax.tick_params(axis="x", rotation=45)
fig.tight_layout()
display(fig)

# %% [markdown]
# ## Time to merge by area, drivers against the rest
#
# The changes merged in the detailed cycle; time to merge split into the **revision phase** (authored to
# last upload: review rounds and author revisions) and the **final phase** (last upload to merge: the
# last approvals and the gate). Quantile intervals are percentile bootstrap 90 % intervals.

# %%
rows = frame[frame["release"] == CYCLE]
detail = summary[CYCLE]
print(f"{CYCLE}: {detail.start:%Y-%m-%d} to {detail.end:%Y-%m-%d}, {detail.weeks} weeks, {len(rows)} changes merged")
display(detail.phases)

# %%
rows = rows.assign(group=np.where(rows["area"].isin(NOVA_DRIVERS), "virt drivers", "rest of nova"))
by_group = summaries.quantile_cis(rows, area_col="group", n_boot=N_BOOT)
display(by_group)

# %%
for q in ("p50", "p75", "p90"):
    assert (by_group[f"{q}_low"] <= by_group[q]).all() and (by_group[q] <= by_group[f"{q}_high"]).all()
assert by_group.loc["virt drivers", "n"] + by_group.loc["rest of nova", "n"] == by_group.loc["all", "n"]
drv, rest = by_group.loc["virt drivers"], by_group.loc["rest of nova"]
n_drv, n_rest = int(drv["n"]), int(rest["n"])
apart = drv["p50_low"] > rest["p50_high"] or drv["p50_high"] < rest["p50_low"]
slower = "slower" if drv["p50"] > rest["p50"] else "faster"
display(Markdown(
    f"In {CYCLE}, virt-driver changes took a median **{drv['p50']:.1f} days** to merge "
    f"(90 % interval {drv['p50_low']:.1f} to {drv['p50_high']:.1f}; n = {n_drv}), the rest of nova "
    f"**{rest['p50']:.1f} days** ({rest['p50_low']:.1f} to {rest['p50_high']:.1f}; n = {n_rest}): drivers "
    f"were {slower}" + (", and the intervals do not overlap." if apart else ", but the intervals overlap.")
))
if CYCLE == "juno" and not INCLUDE_SUSPECT:
    assert slower == "slower" and apart, "the portrait's finding: Juno driver changes merged more slowly"

# %%
fig = Figure(figsize=(11, 4.5))
ax = fig.subplots()
for name, sub in rows.groupby("group"):
    x = np.sort(sub["time_to_merge_days"].to_numpy())
    ax.step(x, np.arange(1, len(x) + 1) / len(x), where="post", label=f"{name} (n={len(x)})")
ax.set_xscale("log")
ax.set_xlabel("time to merge (days, log scale)")
ax.set_ylabel("share of merged changes")
ax.axhline(0.5, color="grey", lw=0.8, ls=":")
ax.legend()
display(fig)

# %%
p75 = detail.phases["revision_p75"]
order = [a for a in ("vmwareapi", "libvirt", "compute", "api", "other") if a in p75.index]
display(Markdown("Revision-phase p75 (days): " + ", ".join(f"{a} {p75[a]:.1f}" for a in order)))
if CYCLE == "juno" and not INCLUDE_SUSPECT:
    # The ordering the calibration criteria rely on (sim.calibrate.criteria.REVISION_ORDER).
    assert all(p75[a] > p75[b] for a, b in pairwise(order)), p75[order]

# %% [markdown]
# ## The core team
#
# The data hold authors, not reviewers: nova-core's roster is not in git. Its size over time comes
# from the fact sheet (§1.1, the `core-team` list of openstack/reviewstats), shipped as
# `data/nova/core_roster.csv`. The model reads none of it: its roster sizes are `review.cores` in the
# scenarios, the monolith's (the September 2014 roster) and the Kilo change in
# `data/calibration/kilo_changes.toml` (the December 2014 cut). The tables set the roster beside the
# sizes the package uses and each cycle's merged changes and distinct authors.

# %%
roster = load_roster()
display(roster)
kilo_file = DATA / "calibration" / "kilo_changes.toml"
kilo_changes = {key: (value, reason) for key, value, reason in load_changes_file(kilo_file)}
used = pd.Series(np.nan, index=cycles, name="cores in the model")
if "juno" in used.index:
    used["juno"] = monolith.review.cores
if "review.cores" in kilo_changes and "kilo" in used.index:
    used["kilo"] = kilo_changes["review.cores"][0]
people = pd.DataFrame({
    "merged": overview["n"],
    "authors": [summary[c].mix.loc["all", "authors"] for c in cycles],
    "roster at start": [roster_size(roster, pd.Timestamp(overview.loc[c, "start"], tz="UTC")) for c in cycles],
    "roster at end": [roster_size(roster, pd.Timestamp(overview.loc[c, "end"], tz="UTC")) for c in cycles],
    "cores in the model": used,
}).rename_axis("release")
people["merged per author"] = people["merged"] / people["authors"]
display(people)

# %%
assert (people["authors"] > 0).all() and (people["authors"] <= people["merged"]).all()
assert people.loc["juno", "cores in the model"] == monolith.review.cores
# The model's rosters are the facts': 20-21 on paper through Juno, 15 after the cut of 2014-12-17.
juno_sizes = roster[(roster["date"] >= pd.Timestamp("2014-04-17", tz="UTC"))
                    & (roster["date"] <= pd.Timestamp("2014-10-16", tz="UTC"))]["size"]
assert monolith.review.cores in {roster_size(roster, pd.Timestamp("2014-04-17", tz="UTC")), *juno_sizes}
if "review.cores" in kilo_changes:
    assert kilo_changes["review.cores"][0] < monolith.review.cores, "Kilo's roster was cut, not grown"
    assert kilo_changes["review.cores"][0] == roster_size(roster, pd.Timestamp("2014-12-17", tz="UTC"))
    print("Kilo:", kilo_changes["review.cores"][1])
