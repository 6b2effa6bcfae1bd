"""How a scenario parameter is declared: value range, unit, default and source in one call.

Every field of the scenario schema is built with :func:`param`, so the parameter table in
``MODEL.md`` (``python -m sim params``) is generated from the schema rather than written twice.

Source strings follow one convention:
``fact: <reference>`` (a published number, see ``../shared/research/facts.md``),
``data: <what was computed>`` (measured from Nova's merged-change history, ``nova_changes.csv``),
``fitted: <how>`` (chosen by calibration), or ``assumption: <why>``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field


def param(
    default: Any,
    *,
    unit: str,
    source: str,
    description: str,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> Any:
    """A schema field with its unit, source and allowed range recorded for errors and docs."""
    return Field(
        default,
        ge=ge,
        gt=gt,
        le=le,
        lt=lt,
        description=description,
        json_schema_extra={"unit": unit, "source": source},
    )


def upper_bound(field_info: Any) -> float | None:
    """The field's inclusive upper bound (``le``), None if it has none."""
    for constraint in field_info.metadata:
        if getattr(constraint, "le", None) is not None:
            return constraint.le
    return None


def allowed_range(field_info: Any) -> str:
    """Human-readable allowed range of a pydantic field, e.g. ``0 <= x <= 1``; '' if unbounded."""
    lower = upper = ""
    for constraint in field_info.metadata:
        for attr, symbol in (("ge", "<="), ("gt", "<")):
            if getattr(constraint, attr, None) is not None:
                lower = f"{getattr(constraint, attr)} {symbol} "
        for attr, symbol in (("le", "<="), ("lt", "<")):
            if getattr(constraint, attr, None) is not None:
                upper = f" {symbol} {getattr(constraint, attr)}"
    if not lower and not upper:
        return ""
    return f"{lower}x{upper}"
