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
# # 04 · What if…?
#
# Sliders for the levers of the 2014 debate: the size of the core team, runway slots, lieutenants per
# driver, which virt drivers move to their own repositories, and the gate's driver configuration jobs with
# their per-job false-failure rate. **Run simulation** reruns a few replications of the what-if and of the
# monolith as shipped, with common random numbers, and redraws the comparison in seconds.
#
# The what-if is the monolith (`data/scenarios/monolith.toml`; `split.toml` when a driver is split, for
# its driver-team sizes) with `section.key=value` overrides, printed with every run, so that any setting
# can be rerun from the shell: `python -m sim run data/scenarios/monolith.toml --set KEY=VALUE ...`.
# Both run with the scenario's own warm-up (182 simulated days, one cycle, discarded before measuring:
# the model starts empty). Replications are few, for speed: effects smaller than the printed confidence
# intervals cannot be told from noise; raise `REPLICATIONS` in the parameters cell for firmer numbers.
# A shorter `WARMUP_DAYS` runs faster but measures a system still filling up, which moves the absolute
# numbers (not only their noise): the notebook then measures that bias on the monolith and shows it
# beside every number. The parameters cell also holds the sliders' starting values; run headless
# (papermill), the notebook simulates those once and checks the result.

# %% tags=["parameters"]
REPLICATIONS = 3  # per scenario, per click (firmer: 10 or more)
WARMUP_DAYS = -1.0  # discarded simulated days; -1: the scenario's own (182, one cycle); shorter: bias shown
SEED = -1  # -1: the monolith's run.seed
WORKERS = 2
CORES = 15  # starting values of the sliders: here, Kilo's roster cut (20 -> 15) and nothing else
RUNWAY_SLOTS = 0  # 0: no runways
RUNWAYS_EXCLUSIVE = False  # True: a change without a slot waits unreviewed (the old reading, not as Nova ran them)
LIEUTENANTS_PER_DRIVER = 0  # 0: no lieutenants
SPLIT_DRIVERS = []  # e.g. ["libvirt", "vmwareapi"]
CONFIG_JOBS_PER_DRIVER = 0
CONFIG_JOB_FAILURE = 0.01
FROM_CORES = 1.0  # share of lieutenants' and driver teams' capacity taken from nova's cores (0: new people)
NODES = 0  # test nodes shared by every check and gate job (0: unbounded, the calibrated default)

# %%
# %matplotlib inline
import ipywidgets as widgets
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

import sim
from sim.outputs import plots
from sim.outputs.report import headline_frame
from sim.paths import SCENARIOS
from sim.runs.compare import compare
from sim.whatif import warmup_bias, warmup_overrides, what_if_overrides

pd.set_option("display.precision", 3)
base = sim.load_scenario(SCENARIOS / "monolith.toml")
DRIVERS = list(base.driver_areas)
seed = base.run.seed if SEED < 0 else SEED
print(f"monolith: {base.review.cores} cores, drivers {', '.join(DRIVERS)}; seed {seed}")
short_warmup = 0 <= WARMUP_DAYS < base.run.warmup_days

# %% [markdown]
# ## The warm-up's bias
#
# Only when `WARMUP_DAYS` is shorter than the scenario's own: the monolith at both warm-ups under the same
# seed, and the difference (short minus own, with its 95 % CI) in each headline number. The tables below
# show it again, as a column beside the numbers it distorts. It is measured on the monolith; a what-if
# that fills up faster or slower than the monolith is biased by a different amount.

# %%
bias = None
if short_warmup:
    bias = warmup_bias(SCENARIOS / "monolith.toml", WARMUP_DAYS, REPLICATIONS, seed, workers=WORKERS)
    display(bias)
    b = bias.loc["median time to merge (d)"]
    display(Markdown(
        f"A {WARMUP_DAYS:g}-day warm-up moves the monolith's median time to merge from "
        f"{b.iloc[0]:.1f} to {b.iloc[1]:.1f} days ({b['bias']:+.1f}, 95 % CI {b['bias CI low']:+.1f} to "
        f"{b['bias CI high']:+.1f}, {REPLICATIONS} replications)."
    ))
else:
    print(f"warm-up: the scenario's own, {base.run.warmup_days:g} days; no warm-up bias")

# %% [markdown]
# ## The what-if scenario
#
# Lieutenants apply to the drivers that are not split (a driver cannot have both). Their capacity, and the
# split driver teams', comes out of nova cores' time at `from cores` = 1 (equal total review capacity, the
# fair comparison) and from new people at 0; the headline table's "review capacity" row shows the total.

# %%
def simulate(cores, runway_slots, runways_exclusive, lieutenants, split, config_jobs, job_failure, from_cores,
             nodes):
    """Run the monolith and the what-if with common random numbers; show and return the comparison."""
    overrides = what_if_overrides(DRIVERS, cores=cores, runway_slots=runway_slots, lieutenants=lieutenants,
                                  split=split, config_jobs=config_jobs, job_failure=job_failure,
                                  from_cores=from_cores, runways_exclusive=runways_exclusive, nodes=nodes)
    warmup = warmup_overrides(WARMUP_DAYS if short_warmup else -1)
    what_if = sim.load_scenario(SCENARIOS / ("split.toml" if split else "monolith.toml"), warmup + overrides)
    monolith = sim.load_scenario(SCENARIOS / "monolith.toml", warmup)
    comparison = compare([monolith, what_if], REPLICATIONS, seed, workers=WORKERS)
    frame = headline_frame(comparison)
    monolith_rows = frame[frame["scenario"] == "monolith"].set_index("label")
    what_if_rows = frame[frame["scenario"] == "what-if"].set_index("label")
    shown = pd.DataFrame({
        "monolith": monolith_rows["mean"], "what-if": what_if_rows["mean"], "difference": what_if_rows["diff"],
        "CI low": what_if_rows["diff_ci_low"], "CI high": what_if_rows["diff_ci_high"],
    }).loc[list(dict.fromkeys(frame["label"]))]
    if bias is not None:  # beside the numbers it distorts (measured on the monolith)
        shown[f"warm-up bias ({WARMUP_DAYS:g} d)"] = bias["bias"]
    print("overrides:", " ".join(warmup + overrides))
    display(shown)
    fig, finding = plots.plot_time_to_merge(comparison)
    print(finding)
    display(fig)
    return comparison, shown


# %% [markdown]
# ## The sliders
#
# Move them, then press **Run simulation** (each run takes a few seconds). In a static copy of the
# notebook the widgets do not appear; the next section shows the starting values' result.

# %%
controls = {
    "cores": widgets.IntSlider(value=CORES, min=2, max=40, description="cores"),
    "runway_slots": widgets.IntSlider(value=RUNWAY_SLOTS, min=0, max=40, description="runway slots"),
    "runways_exclusive": widgets.Checkbox(value=RUNWAYS_EXCLUSIVE, description="exclusive runways"),
    "lieutenants": widgets.IntSlider(value=LIEUTENANTS_PER_DRIVER, min=0, max=4, description="lieutenants"),
    "split": widgets.SelectMultiple(options=DRIVERS, value=tuple(SPLIT_DRIVERS), description="split"),
    "config_jobs": widgets.IntSlider(value=CONFIG_JOBS_PER_DRIVER, min=0, max=20, description="jobs/driver"),
    "job_failure": widgets.FloatSlider(value=CONFIG_JOB_FAILURE, min=0.0, max=0.05, step=0.0025,
                                       readout_format=".4f", description="job failure"),
    "from_cores": widgets.FloatSlider(value=FROM_CORES, min=0.0, max=1.0, step=0.1, description="from cores"),
    "nodes": widgets.IntSlider(value=NODES, min=0, max=2000, step=50, description="test nodes"),
}
widgets.interact_manual.options(manual_name="Run simulation")(simulate, **controls);

# %% [markdown]
# ## The starting values, simulated once
#
# The same function with the parameters cell's values, so that a headless run shows (and checks) a result.

# %%
comparison, shown = simulate(CORES, RUNWAY_SLOTS, RUNWAYS_EXCLUSIVE, LIEUTENANTS_PER_DRIVER, SPLIT_DRIVERS,
                             CONFIG_JOBS_PER_DRIVER, CONFIG_JOB_FAILURE, FROM_CORES, NODES)

# %%
what_if = comparison.run("what-if").scenario
assert what_if.review.cores == CORES and what_if.gate.config_jobs_per_driver == CONFIG_JOBS_PER_DRIVER
assert ("split" in what_if.policy.mechanisms) == bool(SPLIT_DRIVERS)
assert ("runways" in what_if.policy.mechanisms) == bool(RUNWAY_SLOTS)
assert what_if.ci.nodes == (NODES or None) and what_if.policy.runways.exclusive == bool(RUNWAY_SLOTS and RUNWAYS_EXCLUSIVE)
t = comparison.comparison
medians = t[(t["metric"] == "time_to_merge_median_days") & (t["area"] == "all")].set_index("scenario")
assert np.isfinite(medians["mean"]).all() and (medians["mean"] > 0).all()
assert ((medians["ci_low"] <= medians["mean"]) & (medians["mean"] <= medians["ci_high"])).all()
d = shown["difference"]
assert ((shown["CI low"] <= d + 1e-9) & (d <= shown["CI high"] + 1e-9)).all()
arrivals = t[(t["metric"] == "arrivals_per_week") & (t["area"] == "all")].set_index("scenario")
if not SPLIT_DRIVERS:  # common random numbers: same arrivals unless split adds follow-up changes
    assert arrivals.loc["what-if", "diff"] == 0
settings_are_monolith = (CORES == base.review.cores and not RUNWAY_SLOTS and not LIEUTENANTS_PER_DRIVER
                         and not SPLIT_DRIVERS and CONFIG_JOBS_PER_DRIVER == base.gate.config_jobs_per_driver
                         and not NODES)
if settings_are_monolith:
    assert (d.fillna(0) == 0).all(), "the what-if is the monolith: every paired difference must be 0"
if bias is not None:  # the bias table's short-warm-up monolith is this comparison's monolith (same seed)
    both = shown["monolith"].notna()
    assert np.allclose(shown.loc[both, "monolith"], bias.loc[both, f"{WARMUP_DAYS:g}-day warm-up"], rtol=1e-12)
    assert (what_if.run.warmup_days == WARMUP_DAYS) and (bias.columns[0] == f"{base.run.warmup_days:g}-day warm-up")
else:
    assert what_if.run.warmup_days == base.run.warmup_days
util = shown.loc["nova core utilisation"]
if CORES < base.review.cores and not (RUNWAY_SLOTS or LIEUTENANTS_PER_DRIVER or SPLIT_DRIVERS):
    # Fewer cores doing the same work are busier (unless the monolith's cores are already saturated).
    assert util["what-if"] > util["monolith"] or util["monolith"] > 0.99, util

# %%
m = shown.loc["median time to merge (d)"]
beyond = m["CI low"] > 0 or m["CI high"] < 0
direction = "longer" if m["difference"] > 0 else "shorter"
display(Markdown(
    f"With these settings the median time to merge is **{m['what-if']:.1f} days** against {m['monolith']:.1f} under "
    f"the monolith (paired difference {m['difference']:+.1f}, 95 % CI {m['CI low']:+.1f} to {m['CI high']:+.1f}): "
    + (f"{direction} beyond noise" if beyond else "not distinguishable from noise")
    + f" with {REPLICATIONS} replications; core utilisation {util['monolith']:.0%} -> {util['what-if']:.0%}."
    + (f" Both use a {WARMUP_DAYS:g}-day warm-up, which moves the monolith's median by "
       f"{m[f'warm-up bias ({WARMUP_DAYS:g} d)']:+.1f} days"
       f" against its own {base.run.warmup_days:g}-day warm-up (measured above): compare the difference, not the"
       " absolute numbers, with other results." if bias is not None else
       f" Both use the scenario's own {base.run.warmup_days:g}-day warm-up.")
))
