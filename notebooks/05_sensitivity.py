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
# # 05 · What the policy effects depend on
#
# This notebook reads the committed sensitivity study (`data/sensitivity/`, written by
# `make sensitivity`, i.e. `python -m sim sensitivity`; `sim/sensitivity_study.py` says how) and shows
# what it found. Each output is a policy's **effect**: its paired difference from the monolith (common
# random numbers: the monolith and every policy share the seed at every design point) on driver and
# non-driver median time to merge, throughput, backlog and core load.
#
# 1. **Morris screening** (SALib) over every factor of `data/ensemble.toml`: the fitted parameters within
#    their calibration 95 % interval (log scale) and each policy assumption over its stated range.
#    `mu_star` is the mean absolute elementary effect (outcome units), `sigma` its spread.
# 2. **Sobol indices** (SALib, Saltelli's scheme, first and total order) on the top Morris factors, with
#    SALib's bootstrap 95 % intervals.
#
# `RERUN = True` runs a new study at the sizes below instead (CI does, at smoke size, into a temporary
# directory); the committed results are never overwritten from here.

# %% tags=["parameters"]
RERUN = False  # True: run a study at the sizes below instead of reading data/sensitivity/
TRAJECTORIES = 2  # Morris trajectories (the committed study states its own)
SOBOL_N = 2  # Sobol base samples, a power of 2
SOBOL_FACTORS = 2  # how many of the top Morris factors get Sobol indices
REPLICATIONS = 1  # per scenario per design point
WARMUP_DAYS = 0.0  # discarded simulated days (-1: the scenarios' own, one cycle)
WORKERS = 2

# %%
import json
import tempfile
from pathlib import Path

import pandas as pd
from IPython.display import Image, Markdown, display

from sim.cli import main as sim_main
from sim.paths import DATA
from sim.sensitivity_study import factor_ranking

pd.set_option("display.precision", 3)
results = DATA / "sensitivity"
if RERUN:
    results = Path(tempfile.mkdtemp(prefix="sensitivity-")) / "study"
    warmup = ["--set", f"run.warmup_days={WARMUP_DAYS}"] if WARMUP_DAYS >= 0 else []
    code = sim_main(["sensitivity", "--trajectories", str(TRAJECTORIES), "--sobol-n", str(SOBOL_N),
                     "--sobol-factors", str(SOBOL_FACTORS), "--replications", str(REPLICATIONS),
                     "--workers", str(WORKERS), *warmup, "--out", str(results), "--figures", str(results.parent)])
    assert code == 0
morris = pd.read_csv(results / "morris.csv")
sobol = pd.read_csv(results / "sobol.csv")
settings = json.loads((results / "sensitivity.json").read_text())
cost = settings["cost"]
display(Markdown(
    f"Study read from `{results}`: Morris {settings['morris']['trajectories']} trajectories over "
    f"{settings['morris']['factors']} factors, Sobol N = {settings['sobol']['N']} on "
    f"{', '.join(settings['sobol']['factors'])}; {cost['replications']:,} replications, {cost['wall_seconds']:.0f} s "
    f"wall and {cost['cpu_seconds']:.0f} s CPU ({cost['workers']} workers, {cost['machine']['cpus']} CPUs)."))

# %% [markdown]
# ## Morris screening: which factors move the effects at all
#
# A factor's rank is its mean, over the 20 policy x outcome effects, of `mu_star` divided by the largest
# `mu_star` of that effect (outcomes have different units).

# %%
ranking = factor_ranking(morris)
assert ranking.between(0, 1).all() and len(ranking) == settings["morris"]["factors"]
display(ranking.rename("mean relative mu*").to_frame().head(10))

# %%
wide = morris.pivot_table(index="factor", columns=["policy", "outcome"], values="mu_star").loc[ranking.index]
display(wide.head(8))

# %% [markdown]
# ## Sobol indices on the top factors

# %%
assert set(sobol["factor"]) == set(settings["sobol"]["factors"])
display(sobol.set_index(["policy", "outcome", "factor"])[["S1", "S1_conf", "ST", "ST_conf"]])
figure = results.parent / "sensitivity.png" if RERUN else DATA.parent / "figures" / "sensitivity.png"
if figure.exists():
    display(Image(filename=str(figure)))
