"""What-if scenarios: one governance setting as scenario overrides of the monolith (for sliders)."""

from __future__ import annotations

from collections.abc import Sequence


def what_if_overrides(
    drivers: Sequence[str],
    *,
    cores: int,
    runway_slots: int = 0,
    lieutenants: int = 0,
    split: Sequence[str] = (),
    config_jobs: int = 0,
    job_failure: float = 0.01,
    from_cores: float = 1.0,
) -> list[str]:
    """``section.key=value`` overrides of the monolith for one setting.

    ``runway_slots`` 0 means no runways, ``lieutenants`` 0 no lieutenants; ``split`` lists the
    drivers moved to their own repositories. Lieutenants go to the drivers that stay in nova (a
    driver cannot have both). Split drivers keep the team sizes of the scenario they are applied to.
    ``from_cores``: the share of the lieutenants' and driver teams' capacity taken from nova's cores
    (1: equal total review capacity; 0: they are new people), ``policy.staffing.from_cores``.
    """
    split = [d for d in drivers if d in split]
    kept = [d for d in drivers if d not in split]
    mechanisms = (["runways"] if runway_slots else []) + (["lieutenants"] if lieutenants and kept else [])
    mechanisms += ["split"] if split else []
    out = ['scenario.name="what_if"', 'policy.name="what-if"', f"policy.mechanisms={_toml(mechanisms)}",
           f"review.cores={cores}", f"gate.config_jobs_per_driver={config_jobs}",
           f"gate.config_job_false_failure_prob={job_failure}", f"policy.staffing.from_cores={from_cores}"]
    if runway_slots:
        out.append(f"policy.runways.slots={runway_slots}")
    if lieutenants and kept:
        out += [f"policy.lieutenants.per_driver={lieutenants}", f"policy.lieutenants.drivers={_toml(kept)}"]
    if split:
        out.append(f"policy.split.drivers={_toml(split)}")
    return out


def _toml(names: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{n}"' for n in names) + "]"
