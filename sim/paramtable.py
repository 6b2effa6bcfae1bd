"""The parameter table of MODEL.md, generated from the scenario schema (never written by hand)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from sim.params import allowed_range
from sim.scenario import Area, JobGroup, Scenario, ThirdPartyCI, _model_of

# Sections whose fields are documented under a placeholder key.
_NESTED_LABEL = {Area: "areas.<name>", JobGroup: "<jobs>[i]", ThirdPartyCI: "gate.third_party.<driver>"}


def _rows(model: type[BaseModel], prefix: str) -> list[tuple[str, ...]]:
    rows = []
    for name, info in model.model_fields.items():
        nested = _model_of(info.annotation)
        if nested is not None and nested is not model:
            label = _NESTED_LABEL.get(nested)
            if label is None:
                rows += _rows(nested, f"{prefix}{name}.")
                continue
            if nested is JobGroup:
                label = f"{prefix}{name}[i]"
            rows += [(f"{prefix}{name}", "-", _fmt(info.default), "", (info.json_schema_extra or {}).get("source", ""), info.description or "")]
            if not any(r[0].startswith(label + ".") for r in rows):
                rows += _rows(nested, f"{label}.")
            continue
        extra: dict[str, Any] = info.json_schema_extra or {}  # type: ignore[assignment]
        rows.append(
            (f"{prefix}{name}", extra.get("unit", ""), _fmt(info.default), allowed_range(info),
             extra.get("source", ""), info.description or "")
        )
    return rows


def _fmt(value: Any) -> str:
    if isinstance(value, BaseModel):
        return "(table)"
    if isinstance(value, tuple | list) and value and isinstance(value[0], BaseModel):
        return "; ".join(f"{v.name}: {v.count} x {v.false_failure_prob}" for v in value)  # JobGroup
    if isinstance(value, dict) and value and isinstance(next(iter(value.values())), BaseModel):
        return ", ".join(value)
    if value is None:
        return "none"
    return str(value)


def parameter_table() -> str:
    """Markdown table: parameter, unit, default, allowed range, source, meaning."""
    rows = [r for r in _rows(Scenario, "") if r[0] not in ("areas",)]
    header = "| parameter | unit | default | range | source | meaning |\n|---|---|---|---|---|---|"
    body = "\n".join("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows)
    return f"{header}\n{body}"
