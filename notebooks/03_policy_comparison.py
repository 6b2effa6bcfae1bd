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
# # 03 · The five policies, compared with common random numbers
#
# The monolith (Nova in 2014), runways, lieutenants, split repositories and sponsorship, each a scenario
# in `data/scenarios/` that extends the calibrated monolith. `sim.runs.compare.compare` runs every scenario with
# the same seed, so replication *r* of each policy sees the same arrivals, sizes, defects and patience;
# the effect of a policy is the **paired difference** from the monolith, replication by replication, with
# its 95 % confidence interval. A difference is called real only when that interval excludes 0.
#
# **Staffing.** The shipped policies all have the monolith's total review capacity: lieutenants' and driver
# teams' time comes out of nova cores' (`policy.staffing.from_cores = 1`), so a difference is the policy's
# structure, not added people. The last section asks what added people buy, and whether the same capacity
# would do more as nova core time.
#
# **To change what you see**, edit the parameters cell (replications, seed, a shorter warm-up, extra
# `section.key=value` overrides applied to every policy) and rerun all cells. The defaults are small, for a
# quick run; the committed figures (`make figures`) use 10 replications per policy; a study should use 20
# or more and check that the conclusions do not move.

# %% tags=["parameters"]
REPLICATIONS = 3  # per policy (a study: 20 or more)
SEED = -1  # root seed shared by every policy (-1: the monolith's run.seed)
WARMUP_DAYS = -1.0  # discarded simulated days before measuring (-1: the scenarios' own, one cycle)
OVERRIDES = []  # extra overrides for every policy: strings as given to the CLI's --set
POLICIES = ["monolith", "runways", "lieutenants", "split", "sponsorship"]  # the first is the reference
WORKERS = 2

# %%
# %matplotlib inline
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

import sim
from sim.cases import format_cases, load_cases, run_cases
from sim.outputs import plots
from sim.outputs.findings import Effect, sentence_name, table_effects
from sim.outputs.report import headline_frame
from sim.paths import SCENARIOS
from sim.runs.compare import compare
from sim.runs.sweeps import STAFFING_PAIRS, cores_plus, staffing_scenarios

pd.set_option("display.precision", 2)
pd.set_option("display.width", 160)

# %%
overrides = [*OVERRIDES, *([f"run.warmup_days={WARMUP_DAYS}"] if WARMUP_DAYS >= 0 else [])]
scenarios = [sim.load_scenario(SCENARIOS / f"{name}.toml", overrides) for name in POLICIES]
seed = scenarios[0].run.seed if SEED < 0 else SEED
comparison = compare(scenarios, REPLICATIONS, seed, workers=WORKERS)
table = comparison.comparison
reference = comparison.names[0]
measured = scenarios[0].cycle_days * scenarios[0].run.cycles
print(f"{len(scenarios)} policies x {REPLICATIONS} replications, seed {seed}; reference: {reference}; "
      f"warm-up {scenarios[0].run.warmup_days:g} days, measured {measured:g} days")

# %% [markdown]
# ## Headline numbers
#
# Mean over replications with its 95 % CI, for all changes unless the row names a group.

# %%
def cell(row: pd.Series) -> str:
    return f"{row['mean']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}]" if np.isfinite(row["mean"]) else "n/a"


frame = headline_frame(comparison)
headline = frame.assign(cell=frame.apply(cell, axis=1)).pivot(index="label", columns="scenario", values="cell")
headline = headline.loc[list(dict.fromkeys(frame["label"])), comparison.names]
display(headline)

# %%
medians = table[(table["metric"] == "time_to_merge_median_days") & (table["area"] == "all")].set_index("scenario")
assert np.isfinite(medians["mean"]).all() and (medians["mean"] > 0).all(), "every policy merges changes"
defined = table[(table["n"] >= 2) & np.isfinite(table["mean"])]
assert ((defined["ci_low"] <= defined["mean"] + 1e-9) & (defined["mean"] <= defined["ci_high"] + 1e-9)).all()
p90 = table[(table["metric"] == "time_to_merge_p90_days") & (table["area"] == "all")].set_index("scenario")
assert (p90["mean"] >= medians["mean"]).all(), "p90 below the median"
ref_rows = table[table["scenario"] == reference]
assert (ref_rows["diff"].fillna(0) == 0).all(), "the reference differs from itself"
# Common random numbers: a policy that creates no changes of its own sees exactly the monolith's arrivals.
arrivals = table[(table["metric"] == "arrivals_per_week") & (table["area"] == "all")].set_index("scenario")
for sc in scenarios:
    if "split" not in sc.policy.mechanisms:
        assert arrivals.loc[sc.scenario.name, "diff"] == 0, f"{sc.scenario.name} saw other arrivals"

# %% [markdown]
# ## The governance figures
#
# Drawn by `sim.outputs.plots` from the comparison above (the same functions write `figures/`); each title is the
# finding, computed from the numbers, and states a difference only when its paired 95 % CI excludes 0.

# %%
capacity = table[(table["metric"] == "review_capacity_per_day") & (table["area"] == "all")].set_index("scenario")["mean"]
display(capacity.rename("review capacity (reviews/day)").to_frame())
if {"lieutenants", "split"} & set(capacity.index):  # the shipped policies: equal capacity by default
    assert (abs(capacity / capacity[reference] - 1) <= 0.02).all() or OVERRIDES, capacity

# %%
findings = {}
fig, findings["time to merge"] = plots.plot_time_to_merge(comparison)
display(fig)

# %%
fig, findings["backlog"] = plots.plot_backlog(comparison)
display(fig)

# %%
fig, findings["where the time goes"] = plots.plot_time_buckets(comparison)
display(fig)

# %%
fig, findings["reviewer load"] = plots.plot_reviewer_load(comparison)
display(fig)

# %%
if "split" in comparison.names:
    fig, findings["interface usable"] = plots.plot_interface_usable(comparison, names=[reference, "split"])
    display(fig)

# %%
assert all(isinstance(f, str) and f for f in findings.values())
display(Markdown("\n".join(f"* **{name}**: {text}" for name, text in findings.items())))

# %% [markdown]
# ## A reading of each policy
#
# Generated from the paired differences: "beyond noise" means the 95 % CI of the paired difference
# excludes 0 with this many replications; "within noise" means it does not, which is not evidence of no
# effect when the interval is wide. Rerun with more replications before reading much into either.

# %%
READING = [  # (metric, area, what, unit, digits)
    ("time_to_merge_median_days", "group:drivers", "driver changes' median time to merge", "d", 1),
    ("time_to_merge_median_days", "group:non-drivers", "non-driver changes' median time to merge", "d", 1),
    ("time_to_merge_p90_days", "all", "the p90 time to merge", "d", 0),
    ("reviews_per_core_per_week", "all", "reviews per nova core per week", "", 1),
    ("abandoned_fraction", "all", "the abandoned share", "", 3),
    ("held_days_mean", "all", "days a merged change is held by the policy", "d", 1),
]


def phrase(e: Effect, what: str, unit: str, digits: int) -> tuple[str, int]:
    """A sentence on one paired effect, and the direction it states (+1, -1, or 0 for within noise)."""
    u = f" {unit}" if unit else ""
    ci = f"paired 95 % CI {e.low:+.{digits}f} to {e.high:+.{digits}f}"
    if not np.isfinite(e.diff):
        return f"{what}: undefined", 0
    if e.significant:
        direction = 1 if e.diff > 0 else -1
        verb = "rises" if direction > 0 else "falls"
        return (f"{what} {verb} from {e.ref_value:.{digits}f} to {e.value:.{digits}f}{u} "
                f"({e.diff:+.{digits}f}; {ci}), beyond noise"), direction
    return f"{what}: {e.ref_value:.{digits}f} vs {e.value:.{digits}f}{u}, within noise ({ci})", 0


readings, checked = {name: [] for name in comparison.names[1:]}, 0
for metric, area, what, unit, digits in READING:
    for e in table_effects(table, metric, area):
        text, direction = phrase(e, what, unit, digits)
        readings[e.scenario].append(text)
        if direction:  # the sign stated in the text is the sign of the whole interval
            assert e.low <= e.diff <= e.high and np.sign(e.low) == np.sign(e.high) == direction, (e, text)
            checked += 1
        elif np.isfinite(e.diff) and e.n >= 2:
            assert e.low <= 0 <= e.high, (e, text)
for name, lines in readings.items():
    display(Markdown(f"**{sentence_name(name).capitalize()}** vs {sentence_name(reference)} "
                     f"({REPLICATIONS} replications): " + "; ".join(lines) + "."))
print(f"{checked} differences beyond noise, each with the sign its sentence states")

# %% [markdown]
# ## Who staffs the new roles
#
# Lieutenants and split repositories add reviewer roles. At equal capacity (above) their time is taken from
# nova's cores. Here each also runs with its roles as **new people** (`*_added.toml`), and the monolith runs
# with **the same added capacity given to its cores** (`sim.runs.sweeps.staffing_scenarios`): is it the
# structure or the people that make a difference? Figure 8 of `figures/` shows the same comparison.

# %%
if POLICIES[0] == "monolith" and {"lieutenants", "split"} <= set(POLICIES):
    staffed = staffing_scenarios(SCENARIOS, overrides)
    groups = [(equal, added, cores_plus(added)) for equal, added in STAFFING_PAIRS]
    equal = [s for s in scenarios if s.scenario.name in {g[0] for g in groups}]
    staffing_comparison = compare([scenarios[0], *equal, *staffed], REPLICATIONS, seed, workers=WORKERS)
    fig, findings["who staffs the new roles"] = plots.plot_staffing(staffing_comparison, groups)
    display(fig)
    caps = staffing_comparison.comparison.query("metric == 'review_capacity_per_day' and area == 'all'")
    caps = caps.set_index("scenario")["mean"]
    for _, added, cores in groups:  # the cores got exactly the capacity the new people add
        assert abs(caps[added] - caps[cores]) < 1e-9 * caps[added], (added, caps[added], caps[cores])

# %% [markdown]
# ## Does the model predict what Nova lived through? The natural experiments
#
# A policy finding is only as good as the model's response to a change. `data/validation/` holds the changes
# Nova really went through (its core team cut for Kilo, the Icehouse -> Juno roster and load, Liberty's gate
# jobs and roster), each with what the data show before and after; `python -m sim validate cases` predicts them
# with common random numbers (MODEL.md §4.1 says what each miss means for which policy conclusion). A case can
# be added without code: a TOML file in that directory.

# %%
cases = run_cases(load_cases(), REPLICATIONS, seed, workers=WORKERS)
print(format_cases(cases))
assert np.isfinite(cases["predicted_ratio"]).all() and (cases["replications"] == REPLICATIONS).all()
held = cases.groupby("case")["holds"].mean()
display(Markdown("Share of each case's outcomes the model predicts within the case's factor: "
                 + "; ".join(f"{name} {share:.0%}" for name, share in held.items())
                 + ". A case that fails says the model's response to that kind of change is not to be trusted "
                   "as is: read the findings that rest on it (the assumptions table of MODEL.md) with that in mind."))
