"""Writing a scenario as TOML with every value annotated by its source (``data``, ``fitted``, ``fact``...).

TOML libraries drop comments, so the file is written here: the schema decides which entries are
tables (``[areas.libvirt]``) and which are inline values, and each value line ends with
``# <source>``: the caller's annotation when given, else the schema's ``source`` of the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from sim.scenario import Scenario, field_at, model_of


def annotated_toml(scenario: Scenario, sources: Mapping[str, str], header: str = "") -> str:
    """The scenario as TOML; ``sources`` maps dotted keys to their annotation."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines += _table((), scenario.to_toml_dict(), Scenario, sources)
    return "\n".join(lines) + "\n"


def _table(path: tuple[str, ...], table: Mapping[str, Any], model: type[BaseModel],
           sources: Mapping[str, str]) -> list[str]:
    own, nested = [], []
    for key, value in table.items():
        here = (*path, key)
        annotation = model.model_fields[key].annotation
        inner = model_of(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            nested.append((here, value, annotation))
        elif isinstance(value, dict) and inner is not None:  # tables keyed by user names (areas.libvirt)
            nested += [((*here, name), sub, inner) for name, sub in value.items()]
        else:
            own.append(f"{key} = {_value(value)}  # {_source(here, sources)}")
    out = ["", f"[{'.'.join(path)}]", *own] if path and (own or not nested) else []
    for here, value, inner in nested:
        out += _table(here, value, inner, sources)
    return out


def _source(path: tuple[str, ...], sources: Mapping[str, str]) -> str:
    key = ".".join(path)
    if key in sources:
        return " ".join(sources[key].split())  # one line: a newline would end the comment
    info = field_at(path)
    extra = (info.json_schema_extra or {}) if info is not None else {}
    return " ".join(str(extra.get("source", "-")).split())  # type: ignore[union-attr]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")  # TOML forbids a raw DEL
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")
