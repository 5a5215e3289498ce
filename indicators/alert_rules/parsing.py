"""Rules from stored or submitted definitions: parsing, validation, effective thresholds."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import asdict
from typing import Any, Final, get_args

from indicators.alert_rules.model import (
    _ISO3,
    _KINDS_NEEDING_THRESHOLD,
    _RULE_ID,
    ALLOWED_TARGETS,
    DEFAULT_SOURCE_MAX_AGE_DAYS,
    WATCHED,
    AlertRule,
    Condition,
    FieldError,
    RuleKind,
    Severity,
)
from indicators.catalogue import Catalogue

_FIELDS: Final = frozenset(AlertRule.__dataclass_fields__)
# A band_change margin beyond this would ask for more than a band's width (bands are 1.5–3 wide).
MAX_BAND_MARGIN: Final = 1.5


def _as_number(value: object) -> float | None:
    """A finite float from a number or numeric text; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _as_int(value: object) -> int | None:
    number = _as_number(value)
    if number is None or not number.is_integer():
        return None
    return int(number)


def _as_names(value: object) -> tuple[str, ...] | None:
    if isinstance(value, str):
        parts = [part.strip() for part in value.replace(";", ",").split(",")]
        return tuple(part for part in parts if part)
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(str(item).strip() for item in value if str(item).strip())
    return None


def parse_rule(definition: Mapping[str, Any]) -> tuple[AlertRule | None, list[FieldError]]:
    """Build a rule from a loose definition (config entry, stored JSON or form values).

    Types are checked here (a threshold of "abc" is refused as `threshold`); meaning is checked
    by `validate_rule`. Numeric text ("25", "2,5") is accepted, as a form would send it; empty
    text for `threshold`/`recovery` means "not set".

    Args:
        definition: field name → value; unknown field names are errors.

    Returns:
        (the rule, []) or (None, the errors naming each bad field).
    """
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    for key in definition:
        if key not in _FIELDS:
            errors.append(FieldError(str(key), "unknown field"))
    for key in ("id", "name", "target", "description"):
        if key in definition:
            raw = definition[key]
            if isinstance(raw, str):
                values[key] = raw.strip()
            else:
                errors.append(FieldError(key, f"must be text, got {raw!r}"))
    literal_fields: dict[str, tuple[str, ...]] = {
        "kind": get_args(RuleKind),
        "condition": get_args(Condition),
        "severity": get_args(Severity),
    }
    for key, allowed in literal_fields.items():
        if key in definition:
            raw = definition[key]
            if raw in allowed:
                values[key] = raw
            else:
                errors.append(FieldError(key, f"must be one of {', '.join(allowed)}; got {raw!r}"))
    for key in ("threshold", "recovery"):
        if key in definition:
            raw = definition[key]
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                values[key] = None
                continue
            number = _as_number(raw)
            if number is None:
                errors.append(FieldError(key, f"must be a number, got {raw!r}"))
            else:
                values[key] = number
    if "margin" in definition:
        raw = definition["margin"]
        number = 0.0 if raw is None or (isinstance(raw, str) and not raw.strip()) else None
        number = _as_number(raw) if number is None else number
        if number is None:
            errors.append(FieldError("margin", f"must be a number, got {raw!r}"))
        else:
            values["margin"] = number
    if "renotify_hours" in definition:
        number = _as_number(definition["renotify_hours"])
        if number is None:
            errors.append(
                FieldError(
                    "renotify_hours", f"must be a number, got {definition['renotify_hours']!r}"
                )
            )
        else:
            values["renotify_hours"] = number
    for key in ("window_days", "pending_evaluations"):
        if key in definition:
            integer = _as_int(definition[key])
            if integer is None:
                errors.append(FieldError(key, f"must be a whole number, got {definition[key]!r}"))
            else:
                values[key] = integer
    for key in ("scope", "channels"):
        if key in definition:
            names = _as_names(definition[key])
            if names is None:
                errors.append(FieldError(key, f"must be a list of names, got {definition[key]!r}"))
            else:
                values[key] = names
    if "enabled" in definition:
        if isinstance(definition["enabled"], bool):
            values["enabled"] = definition["enabled"]
        else:
            errors.append(
                FieldError("enabled", f"must be true or false, got {definition['enabled']!r}")
            )
    if "id" not in values and not any(error.field == "id" for error in errors):
        errors.append(FieldError("id", "every rule needs an id"))
    if errors:
        return None, errors
    return AlertRule(**values), []


def rule_to_definition(rule: AlertRule) -> dict[str, Any]:
    """The JSON-serialisable definition stored in `alert_rules.definition` and the audit log."""
    data = asdict(rule)
    data["scope"] = list(rule.scope)
    data["channels"] = list(rule.channels)
    return data


def validate_rule(
    rule: AlertRule,
    catalogue: Catalogue,
    *,
    sources: Collection[str] | None = None,
    channels: Collection[str] | None = None,
    countries: Collection[str] | None = None,
) -> list[FieldError]:
    """Everything wrong with a rule's meaning, each error naming its field.

    Args:
        rule: the parsed rule.
        catalogue: indicators and pillars a target may name.
        sources: source names a `source:<name>` target may name (default: the catalogue's).
        channels: configured channel names (None: not checked).
        countries: ISO3 codes a scope may name (None: any three capital letters).

    Returns:
        The errors; empty when the rule is valid.
    """
    errors: list[FieldError] = []
    if not _RULE_ID.fullmatch(rule.id):
        errors.append(
            FieldError(
                "id",
                f"{rule.id!r} is not a valid id (lower-case letters, digits and underscores, "
                "starting with a letter)",
            )
        )
    target_error = _target_error(rule, catalogue, sources)
    if target_error:
        errors.append(FieldError("target", target_error))
    if rule.threshold is None and rule.kind in _KINDS_NEEDING_THRESHOLD:
        errors.append(FieldError("threshold", f"a {rule.kind} rule needs a threshold"))
    for name in ("threshold", "recovery"):
        number = getattr(rule, name)
        if number is not None and (isinstance(number, bool) or not isinstance(number, int | float)):
            errors.append(FieldError(name, f"must be a number, got {number!r}"))
        elif number is not None and not math.isfinite(number):
            errors.append(FieldError(name, "must be a finite number"))
    if (
        isinstance(rule.threshold, int | float)
        and isinstance(rule.recovery, int | float)
        and not any(error.field in ("threshold", "recovery") for error in errors)
    ):
        wrong = (
            rule.recovery > rule.threshold
            if rule.condition == "above"
            else rule.recovery < rule.threshold
        )
        if wrong:
            safe = "at or below" if rule.condition == "above" else "at or above"
            errors.append(
                FieldError(
                    "recovery",
                    f"recovery ({rule.recovery:g}) must be {safe} the threshold "
                    f"({rule.threshold:g}) for a rule that fires {rule.condition} it",
                )
            )
    if isinstance(rule.margin, bool) or not isinstance(rule.margin, int | float):
        errors.append(FieldError("margin", f"must be a number, got {rule.margin!r}"))
    elif not math.isfinite(rule.margin) or not 0 <= rule.margin <= MAX_BAND_MARGIN:
        errors.append(
            FieldError("margin", f"must be between 0 and {MAX_BAND_MARGIN:g} score points")
        )
    elif rule.margin and rule.kind != "band_change":
        errors.append(FieldError("margin", "only a band_change rule has a margin"))
    if rule.kind == "stale" and rule.condition != "above":
        errors.append(FieldError("condition", "a stale rule fires when data is older: use above"))
    if rule.window_days < 1:
        errors.append(FieldError("window_days", "must be at least 1"))
    if rule.pending_evaluations < 1:
        errors.append(FieldError("pending_evaluations", "must be at least 1"))
    if rule.renotify_hours < 0:
        errors.append(FieldError("renotify_hours", "must be 0 (never) or more"))
    if not rule.scope and rule.target_kind != "source":
        errors.append(FieldError("scope", 'name at least one country, or "watched"'))
    for item in rule.scope:
        if item == WATCHED:
            continue
        if not _ISO3.fullmatch(item) or (countries is not None and item not in countries):
            errors.append(FieldError("scope", f"{item!r} is not a known ISO3 country code"))
    if channels is not None:
        for name in rule.channels:
            if name not in channels:
                known = ", ".join(sorted(channels)) or "none"
                errors.append(
                    FieldError("channels", f"unknown channel {name!r} (defined: {known})")
                )
    return errors


def _target_error(rule: AlertRule, catalogue: Catalogue, sources: Collection[str] | None) -> str:
    kind, target_id = rule.target_kind, rule.target_id
    if rule.target in ("composite", "trigger"):
        pass
    elif kind == "pillar":
        if target_id not in {pillar.id for pillar in catalogue.pillars}:
            return f"unknown pillar {target_id!r}"
    elif kind == "indicator":
        if target_id not in {indicator.id for indicator in catalogue.indicators}:
            return f"unknown indicator {target_id!r}"
    elif kind == "source":
        known = set(sources) if sources is not None else _catalogue_sources(catalogue)
        if target_id != "*" and target_id not in known:
            return f"unknown source {target_id!r}"
    else:
        return (
            f"{rule.target!r} is not a target: use composite, trigger, pillar:<id>, "
            "indicator:<id> or source:<name>"
        )
    allowed = ALLOWED_TARGETS.get(rule.kind, ())
    if kind not in allowed:
        return f"a {rule.kind} rule cannot watch a {kind} (use: {', '.join(allowed)})"
    return ""


def _catalogue_sources(catalogue: Catalogue) -> set[str]:
    return {indicator.source for indicator in catalogue.indicators if indicator.source != "derived"}


def effective_threshold(rule: AlertRule, catalogue: Catalogue | None = None) -> float:
    """The threshold `step` compares against, with the documented defaults filled in."""
    if rule.threshold is not None:
        return float(rule.threshold)
    if rule.kind == "stale":
        if rule.target_kind == "trigger":
            return 0.0  # blind for any day at all
        if rule.target_kind == "indicator" and catalogue is not None:
            try:
                return float(catalogue.indicator(rule.target_id).max_age_days)
            except KeyError:
                pass
        return DEFAULT_SOURCE_MAX_AGE_DAYS
    return 0.0


def _effective_recovery(rule: AlertRule, threshold: float) -> float:
    return threshold if rule.recovery is None else float(rule.recovery)
