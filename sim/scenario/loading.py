"""Loading a scenario: TOML files that may ``extends`` another, ``--set`` overrides, declared names,
and one-line errors naming the file, the field and the allowed range.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from sim.errors import InputError
from sim.scenario.schema import (
    Scenario,
    allowed_range,
    did_you_mean,
    field_at,
    keyed_tables,
    model_of,
)


class ScenarioError(InputError):
    """A scenario file or override is invalid; the message is one line naming file and field."""


EXTENDS_MAX_DEPTH: Final = 32  # extends links a chain may follow from the file loaded
NEW_KEY: Final = "new"  # top-level key declaring new names, like extends removed before validation
# What an entry of a table keyed by user names is called in messages (any other such table: "entry").
ENTRY_LABELS: Final[dict[str, str]] = {"areas": "area", "gate.third_party": "third-party CI",
                                       "policy.split.teams": "driver team"}
# Tables keyed by driver areas: any driver area of the scenario is a known key there.
AREA_KEYED_TABLES: Final = frozenset({"gate.third_party", "policy.split.teams"})


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read, override (``section.key=value``) and validate a scenario TOML file.

    A file may start from another: ``extends = "monolith.toml"`` (relative to the file) takes
    every value of that scenario and overrides it table by table, key by key. Names of tables
    keyed by user names (``areas.NAME``, ``gate.third_party.NAME``, ``policy.split.teams.NAME``)
    must exist in the scenario extended, or be declared with ``new = ["areas.NAME"]`` (in the file)
    or ``--set new=areas.NAME`` (an override).
    Raises :class:`ScenarioError` with a one-line message naming the file and field.
    """
    path = Path(path)
    raw = read_scenario_tables(path)
    raw = apply_overrides(raw, overrides, origin=str(path))
    return validate_scenario(raw, origin=str(path))


def read_scenario_tables(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The plain tables of a scenario file, with the file it ``extends`` merged underneath.

    A chain of ``extends`` is at most :data:`EXTENDS_MAX_DEPTH` files deep and never circular;
    each file's names are checked against the scenario it extends (:func:`check_names`).
    """
    if len(_seen) > EXTENDS_MAX_DEPTH:
        raise ScenarioError(
            f"{_seen[0]}: extends: chain of more than {EXTENDS_MAX_DEPTH} extends (allowed: <= {EXTENDS_MAX_DEPTH}; "
            f"stopped at {path})"
        )
    if not path.is_file():
        origin = f"{_seen[-1]}: extends" if _seen else str(path)
        raise ScenarioError(f"{origin}: file not found" + (f": {path}" if _seen else ""))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise ScenarioError(f"{path}: file is empty")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: malformed TOML: {exc}") from None
    base = raw.pop("extends", None)
    declared = declared_names(raw.pop(NEW_KEY, []), f"{path}: {NEW_KEY}")
    if base is None:
        check_declared(declared, {}, raw, origin=f"{path}: {NEW_KEY}", where="", defined_by="the file")
        return raw
    if not isinstance(base, str):
        raise ScenarioError(f"{path}: extends = {base!r}: expected a file name")
    base_path = (path.parent / base).resolve()
    if base_path in _seen or base_path == path.resolve():
        raise ScenarioError(f"{path}: extends {base!r}: circular")
    tables = read_scenario_tables(base_path, (*_seen, path.resolve()))
    where = f"the scenario it extends, {path.parent / base}"
    check_declared(declared, tables, raw, origin=f"{path}: {NEW_KEY}", where=where, defined_by="the file")
    check_names(raw, tables, declared, origin=str(path), where=where, how='new = ["{key}"]')
    return merge_tables(tables, raw)


def merge_tables(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = _deep_copy(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_tables(merged[key], value)
        else:
            merged[key] = _deep_copy(value)
    return merged


def validate_scenario(raw: Mapping[str, Any], origin: str = "<scenario>") -> Scenario:
    """Validate a plain dict as a :class:`Scenario`; errors name ``origin`` and the field."""
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(_describe(exc, origin)) from None


def apply_overrides(raw: Mapping[str, Any], overrides: Iterable[str], origin: str = "--set") -> dict[str, Any]:
    """Return a copy of ``raw`` with each ``dotted.key=value`` applied (value parsed as TOML).

    A name in a table keyed by user names must be one ``raw`` has (:func:`check_names`) or be
    declared with the special override ``new=areas.NAME`` (or ``new=["areas.a", "areas.b"]``).
    """
    result: dict[str, Any] = _deep_copy(raw)
    parsed = [_parse_override(item, origin) for item in overrides]
    declared = tuple(name for parts, value in parsed if parts == [NEW_KEY]
                     for name in declared_names(value, f"{origin}: --set {NEW_KEY}"))
    for parts, value in parsed:
        if parts == [NEW_KEY]:
            continue
        key = ".".join(parts)
        check_names(_nested(parts, value), result, declared, origin=origin, field=f"--set {key}",
                    where="the scenario", how="--set new={key}")
        node = result
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ScenarioError(f"{origin}: --set {key}: {part} is not a table")
            node = child
        node[parts[-1]] = value
    check_declared(declared, raw, result, origin=f"{origin}: --set {NEW_KEY}", where="the scenario", defined_by="--set")
    return result


def _parse_override(item: str, origin: str) -> tuple[list[str], Any]:
    """The dotted key (as parts) and TOML value of one ``key=value`` override (a bare word is a string)."""
    if "=" not in item:
        raise ScenarioError(f"{origin}: --set {item!r}: expected section.key=value")
    key, _, text = item.partition("=")
    parts = [p for p in key.strip().split(".") if p]
    if len(parts) < 2 and parts != [NEW_KEY]:
        raise ScenarioError(f"{origin}: --set {item!r}: key must be section.key (or {NEW_KEY}=areas.NAME to declare a name)")
    try:
        value = tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = text.strip()
    return parts, value


def _nested(parts: list[str], value: Any) -> dict[str, Any]:
    """``{"a": {"b": value}}`` for the parts ``["a", "b"]``."""
    node: Any = value
    for part in reversed(parts):
        node = {part: node}
    return node


# ---------------------------------------------------------------------------- names


def _table(tables: Mapping[str, Any], dotted: str) -> Mapping[str, Any]:
    """The table at a dotted path of plain nested tables ({} when absent or not a table)."""
    node: Any = tables
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def _split_declared(key: str) -> tuple[str, str] | None:
    """``("areas", "mydriver")`` for ``"areas.mydriver"``; None unless a keyed table's entry."""
    for table in keyed_tables():
        if key.startswith(table + ".") and len(key) > len(table) + 1:
            return table, key[len(table) + 1:]
    return None


def declared_names(value: Any, origin: str) -> tuple[str, ...]:
    """The names a ``new`` declaration lists (``"areas.x"`` or a list of them), each checked to be
    an entry of a table keyed by user names."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ScenarioError(f'{origin} = {value!r}: expected a list of names such as ["areas.mydriver"]')
    for name in names:
        if _split_declared(name) is None:
            allowed = ", ".join(f"{t}.NAME" for t in keyed_tables())
            raise ScenarioError(f"{origin}: {name!r} is not an entry of a table keyed by names (allowed: {allowed})")
    return tuple(names)


def check_declared(declared: Collection[str], before: Mapping[str, Any], after: Mapping[str, Any], *,
                   origin: str, where: str, defined_by: str) -> None:
    """A declared name must be new (not in ``before``: a declaration would hide a silent merge)
    and be defined (in ``after``: a declaration without a definition is likely a typo)."""
    for key in declared:
        table, name = _split_declared(key)  # type: ignore[misc]  # checked by declared_names
        if name in _table(before, table):
            raise ScenarioError(
                f"{origin}: {key} already exists in {where}; declaring it new would silently change it "
                f"(allowed: names not in {where}, which has {_listing(_table(before, table))})"
            )
        if name not in _table(after, table):
            raise ScenarioError(f"{origin}: {key} is declared new but {defined_by} defines no {key}")


def check_names(top: Mapping[str, Any], known: Mapping[str, Any], declared: Collection[str], *, origin: str,
                where: str, how: str, field: str | None = None) -> None:
    """Refuse a name ``top`` uses in a table keyed by user names (``areas.NAME``, ...) that the
    tables ``known`` lack and ``declared`` does not list, with the nearest known name.

    In a table keyed by driver areas (:data:`AREA_KEYED_TABLES`) every driver area is known, so the
    way to a new name there is a new driver area. ``how`` is the declaration's syntax, with ``{key}``.
    """
    drivers = [name for name, area in merge_tables(_table(known, "areas"), _table(top, "areas")).items()
               if isinstance(area, Mapping) and area.get("driver") is True]
    for table, name in _user_names(top):
        key = f"{table}.{name}"
        names = list(_table(known, table))
        if table in AREA_KEYED_TABLES:
            names += [d for d in drivers if d not in names]
        if name in names or key in declared:
            continue
        hint = did_you_mean(name, names)
        declare = (f"a new driver area with {how.format(key=f'areas.{name}')} (driver = true)"
                   if table in AREA_KEYED_TABLES else f"a new one with {how.format(key=key)}")
        raise ScenarioError(
            f"{origin}: {field or key}: unknown {ENTRY_LABELS.get(table, 'entry')} {name!r} (not in {where}; "
            f"known: {_listing(names)}){hint}{' Declare' if hint else '; declare'} {declare}"
        )


def _user_names(tables: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(table, name) for every entry ``tables`` sets in a table keyed by user names."""
    for table in keyed_tables():
        for name in _table(tables, table):
            yield table, name


def _listing(names: Iterable[str]) -> str:
    return ", ".join(names) or "none"


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def _describe(exc: ValidationError, origin: str) -> str:
    """One line per error (first error only shown first), naming field, value and range."""
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            lines.append(f"{origin}: unknown key {field!r}{_nearest_key(err['loc'])}")
            continue
        if err["type"] == "missing":
            lines.append(f"{origin}: {field}: required field is missing")
            continue
        rng = _range_of(err["loc"])
        allowed = f" (allowed {rng})" if rng else ""
        msg = err["msg"].removeprefix("Value error, ")
        value = f" = {err['input']!r}" if "input" in err and not isinstance(err["input"], dict) else ""
        lines.append(f"{origin}: {field}{value}: {msg}{allowed}" if field else f"{origin}: {msg}")
    return lines[0] if len(lines) == 1 else lines[0] + f" (and {len(lines) - 1} more: " + "; ".join(
        line.split(": ", 1)[1] for line in lines[1:]
    ) + ")"


def _nearest_key(loc: tuple[Any, ...]) -> str:
    """Did-you-mean hint for the unknown key at ``loc``, or the keys its table allows."""
    if len(loc) > 1:
        info = field_at(loc[:-1])
        model = model_of(info.annotation) if info is not None else None
        known = list(getattr(model, "model_fields", {}))
    else:
        known = [*Scenario.model_fields, "extends", NEW_KEY]
    if not known:
        return ""
    return did_you_mean(str(loc[-1]), known) or f" (allowed: {', '.join(known)})"


def _range_of(loc: tuple[Any, ...]) -> str:
    """Allowed range of the field at ``loc`` in the schema ('' if unknown or unbounded)."""
    info = field_at(loc)
    return allowed_range(info) if info is not None else ""


