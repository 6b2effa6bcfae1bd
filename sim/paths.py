"""Where the project's own data live (inside the repository, never ../shared)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SCENARIOS = DATA / "scenarios"
# The governance comparison: the reference first, then each policy (data/scenarios/NAME.toml).
POLICY_SCENARIOS: tuple[str, ...] = ("monolith", "runways", "lieutenants", "split", "sponsorship")
BASELINE_SCENARIO = SCENARIOS / "monolith.toml"
MMC_SCENARIO = SCENARIOS / "mmc.toml"
CASES_DIR = DATA / "validation"  # the natural-experiment registry (sim validate cases)
