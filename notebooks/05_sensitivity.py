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
# # 05 · What the policy ranking depends on
#
# The output studied is each policy's **effect**: its median time to merge minus the monolith's, all
# changes, in days. At every design point the monolith and the four policies run with the same seed
# (`sim.runs.compare.compare`, common random numbers), so the effect is a paired difference; every design
# point also uses the same seed, so moving a parameter changes the effect through the model, not through
# fresh noise.
#
# 1. **Morris screening** (SALib, elementary effects over trajectories): which of a handful of
#    parameters move the effects at all. `mu_star` is the mean absolute elementary effect (days), `sigma`
#    its spread (non-linearity or interaction).
# 2. **Sobol indices** (SALib, Saltelli's scheme on a Sobol' sequence) on the parameters that matter:
#    the share of the effect's variance each explains alone (`S1`) and with its interactions (`ST`).
#
# **The defaults are for smoke-testing only** (2 Morris trajectories, N = 4 Sobol base samples, one
# replication per point, 60 days of warm-up): they check that the pipeline runs, not what the answer is.
# For a study set `MORRIS_TRAJECTORIES = 20` (to 50), `SOBOL_N = 256` (a power of 2),
# `REPLICATIONS = 5`, `WARMUP_DAYS = -1` (the scenarios' full cycle of warm-up); the last cell estimates
# how long that takes on this machine, from this run's own speed.

# %% tags=["parameters"]
MORRIS_TRAJECTORIES = 2  # a study: 20 to 50
MORRIS_LEVELS = 4
SOBOL_N = 4  # base samples, a power of 2 (a study: 256 or more)
SOBOL_FACTORS = 2  # how many of the top Morris factors get Sobol indices
REPLICATIONS = 1  # per scenario per design point (a study: 5)
WARMUP_DAYS = 60.0  # discarded simulated days (-1: the scenarios' own, one cycle)
POLICIES = ["runways", "lieutenants", "split", "sponsorship"]  # each compared with the monolith
SEED = -1  # simulation seed shared by every design point (-1: the monolith's run.seed)
SAMPLE_SEED = 1  # seed of the SALib designs and bootstrap intervals
WORKERS = 2

# %%
# %matplotlib inline
import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from matplotlib.figure import Figure
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

import sim
from sim.paths import SCENARIOS
from sim.sensitivity import EffectRunner, Factor

pd.set_option("display.precision", 3)
OUTPUT, AREA = "time_to_merge_median_days", "all"

# %% [markdown]
# ## The parameters screened
#
# Fitted parameters vary around the calibrated monolith's value; policy parameters (assumptions in 2014)
# over a plausible range. A split-team capacity sets every driver team's (the default team and the
# per-driver teams of `split.toml`; at most 2.0 reviews/day each, so that at equal capacity the teams never take
# more than the schema allows of the cores' time). "Staffing from cores" is the share of the new roles'
# capacity taken from nova's cores (1: equal capacity, the shipped scenarios; 0: added people). Integer
# parameters are rounded when applied.

# %%
base = sim.load_scenario(SCENARIOS / "monolith.toml")
split_teams = sim.load_scenario(SCENARIOS / "split.toml").policy.split.teams
capacity, response = base.review.reviews_per_core_per_day, base.authors.response_median_days
sigma = base.review.attractiveness_sigma
FACTORS = {
    "review capacity": Factor(("review.reviews_per_core_per_day",), 0.75 * capacity, 1.25 * capacity),
    "author response median": Factor(("authors.response_median_days",), 0.5 * response, 2.0 * response),
    "attractiveness sigma": Factor(("review.attractiveness_sigma",), 0.5 * sigma, min(5.0, 1.5 * sigma)),
    "split team capacity": Factor(("policy.split.team.reviews_per_day",
                                   *[f"policy.split.teams.{d}.reviews_per_day" for d in split_teams]), 0.3, 2.0),
    "lieutenant capacity": Factor(("policy.lieutenants.reviews_per_day",), 0.5, 2.0),
    "staffing from cores": Factor(("policy.staffing.from_cores",), 0.0, 1.0),
    "runway author response": Factor(("policy.runways.author_response_factor",), 0.25, 1.0),
    "runway slots": Factor(("policy.runways.slots",), 3, 20, integer=True),
    "gate config jobs per driver": Factor(("gate.config_jobs_per_driver",), 0, 10, integer=True),
}
pd.DataFrame([(n, ", ".join(f.keys), f.low, f.high) for n, f in FACTORS.items()],
             columns=["factor", "keys", "low", "high"]).set_index("factor")

# %%
seed = base.run.seed if SEED < 0 else SEED
warmup = [f"run.warmup_days={WARMUP_DAYS}"] if WARMUP_DAYS >= 0 else []
runner = EffectRunner(FACTORS, POLICIES, SCENARIOS, REPLICATIONS, seed, metric=OUTPUT, area=AREA,
                      base_overrides=warmup, workers=WORKERS)
evaluate = runner.evaluate


# %% [markdown]
# ## Morris screening

# %%
names = list(FACTORS)
problem = {"num_vars": len(names), "names": names, "bounds": [[f.low, f.high] for f in FACTORS.values()]}
X = morris_sample.sample(problem, MORRIS_TRAJECTORIES, num_levels=MORRIS_LEVELS, seed=SAMPLE_SEED)
Y = evaluate(names, X)
print(f"Morris: {len(X)} design points x {1 + len(POLICIES)} scenarios x {REPLICATIONS} replication(s)")

# %%
assert X.shape == (MORRIS_TRAJECTORIES * (len(names) + 1), len(names))
bounds = np.array(problem["bounds"])
assert ((X >= bounds[:, 0] - 1e-9) & (X <= bounds[:, 1] + 1e-9)).all()
assert Y.shape == (len(X), len(POLICIES)) and np.isfinite(Y).all(), "a policy merged nothing at some point"

morris = {}
for j, policy in enumerate(POLICIES):
    Si = morris_analyze.analyze(problem, X, Y[:, j], num_levels=MORRIS_LEVELS, seed=SAMPLE_SEED)
    morris[policy] = pd.DataFrame({k: Si[k] for k in ("mu", "mu_star", "sigma", "mu_star_conf")}, index=names)
screening = pd.concat(morris, names=["policy", "factor"])
display(screening)

# %%
finite = screening[["mu_star", "sigma", "mu_star_conf"]].dropna()
assert (finite >= -1e-12).all().all(), "Morris mu_star, sigma and its interval are non-negative"
assert (screening["mu_star"] + 1e-9 >= screening["mu"].abs()).all(), "mean |EE| below |mean EE|"
mu_star = screening["mu_star"].unstack("policy")[POLICIES]
importance = mu_star.max(axis=1).sort_values(ascending=False)
top = list(importance.index[:SOBOL_FACTORS])

fig = Figure(figsize=(11, 4.5))
ax = fig.subplots()
mu_star.loc[importance.index].plot.barh(ax=ax)
ax.invert_yaxis()
ax.set_xlabel("Morris mu* of the effect on the median time to merge (days)")
ax.legend(title="policy minus monolith")
fig.tight_layout()
display(fig)

# %%
best = pd.Series(np.where(Y.min(axis=1) < 0, np.array(POLICIES)[Y.argmin(axis=1)], "monolith")).value_counts()
display(Markdown(
    f"Over {len(X)} design points, the parameters that move the policies' effects most are "
    + ", ".join(f"**{n}** (mu* up to {importance[n]:.2f} d)" for n in importance.index[:3])
    + f"; the least, {importance.index[-1]} ({importance.iloc[-1]:.2f} d). The shortest median time to merge "
    + "belongs to " + ", ".join(f"{name} at {k} point{'s' if k != 1 else ''}" for name, k in best.items())
    + (": the ranking depends on the parameters." if len(best) > 1 else ", whatever the parameters in this range.")
))
assert best.sum() == len(X)

# %% [markdown]
# ## Sobol indices on the factors that matter
#
# The other factors stay at the scenarios' own values.

# %%
problem2 = {"num_vars": len(top), "names": top, "bounds": [[FACTORS[n].low, FACTORS[n].high] for n in top]}
X2 = sobol_sample.sample(problem2, SOBOL_N, calc_second_order=False, seed=SAMPLE_SEED)
Y2 = evaluate(top, X2)
print(f"Sobol: {len(X2)} design points on {', '.join(top)}")

# %%
assert X2.shape == (SOBOL_N * (len(top) + 2), len(top)) and np.isfinite(Y2).all()
rows = {}
for j, policy in enumerate(POLICIES):
    if np.ptp(Y2[:, j]) == 0:  # the factors do not touch this policy's effect at all
        continue
    Si = sobol_analyze.analyze(problem2, Y2[:, j], calc_second_order=False, seed=SAMPLE_SEED)
    rows[policy] = pd.DataFrame({k: Si[k] for k in ("S1", "S1_conf", "ST", "ST_conf")}, index=top)
sobol = pd.concat(rows, names=["policy", "factor"])
display(sobol)

# %%
assert len(sobol) and np.isfinite(sobol.to_numpy()).all()
assert (sobol[["S1_conf", "ST_conf"]] >= 0).all().all()
lead = sobol["ST"].groupby(level="policy").idxmax()
display(Markdown("Largest total-order index: " + "; ".join(
    f"{p}: {f} (ST {sobol.loc[(p, f), 'ST']:.2f} ± {sobol.loc[(p, f), 'ST_conf']:.2f})" for p, (_, f) in lead.items()
) + f". With N = {SOBOL_N} these indices are noise-dominated; see the sizes above for a study."))

# %% [markdown]
# ## Cost of a real study on this machine

# %%
per_rep = runner.seconds / runner.replications_run
d, k, scen = len(names), len(top), 1 + len(POLICIES)
study_reps = (20 * (d + 1) + 256 * (k + 2)) * scen * 5
display(Markdown(
    f"This run: {runner.points} design points, {runner.replications_run} replications in "
    f"{runner.seconds:.0f} s ({per_rep:.2f} s per replication with {WORKERS} workers, warm-up "
    f"{'the scenarios’ own' if WARMUP_DAYS < 0 else f'{WARMUP_DAYS:g} days'}). A study with 20 Morris trajectories, "
    f"N = 256 Sobol samples and 5 replications runs {study_reps:,} replications: about "
    f"{study_reps * per_rep / 3600:.1f} h at this speed (more with the full warm-up)."
))
assert per_rep > 0
