"""Cross-reference checks: the inconsistencies between tables that a single field cannot know."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from flashpoint.config.alerting import (
    _KINDS_NEEDING_THRESHOLD,
    AlertRule,
    EmailChannel,
    WebhookChannel,
)
from flashpoint.config.catalogue import IndicatorSettings
from flashpoint.config.settings import Settings
from flashpoint.config.sources import NON_FETCHER_SOURCES
from indicators.releases import bundled_release_calendars

Problem = tuple[str, str]


def check_references(settings: Settings) -> list[Problem]:
    """Every inconsistency between tables, as (key path, problem), in file order."""
    checks: tuple[Callable[[Settings], list[Problem]], ...] = (
        _check_general,
        _check_indicators,
        _check_pillars,
        _check_bands,
        _check_rules,
        _check_channels,
    )
    problems: list[Problem] = []
    for check in checks:
        problems.extend(check(settings))
    return problems


def _check_general(settings: Settings) -> list[Problem]:
    problems: list[Problem] = []
    general = settings.general
    if not general.countries:
        problems.append(("general.countries", "watch at least one country"))
    for index, count in _duplicates(general.countries):
        problems.append((f"general.countries[{index}]", f"{count!r} is listed twice"))
    if general.countries and general.default_country not in general.countries:
        problems.append(
            (
                "general.default_country",
                f"{general.default_country!r} is not one of general.countries",
            )
        )
    return problems


def _duplicates(values: Sequence[str]) -> list[tuple[int, str]]:
    seen: set[str] = set()
    out: list[tuple[int, str]] = []
    for index, value in enumerate(values):
        if value in seen:
            out.append((index, value))
        seen.add(value)
    return out


def _check_indicators(settings: Settings) -> list[Problem]:
    problems: list[Problem] = []
    ids = [item.id for item in settings.indicators]
    known_ids = set(ids)
    known_sources = set(settings.sources.names()) | set(NON_FETCHER_SOURCES)
    calendars = bundled_release_calendars().names
    for index, duplicate in _duplicates(ids):
        problems.append((f"indicators[{index}].id", f"duplicate indicator id {duplicate!r}"))
    for index, item in enumerate(settings.indicators):
        where = f"indicators[{index}]"
        if not item.id:
            problems.append((f"{where}.id", "every indicator needs an id"))
        if item.enabled and item.pillar not in settings.pillars:
            problems.append(
                (
                    f"{where}.pillar",
                    f"unknown pillar {item.pillar!r} (known: "
                    f"{', '.join(settings.pillars) or 'none'})",
                )
            )
        if item.source not in known_sources:
            problems.append(
                (
                    f"{where}.source",
                    f"unknown source {item.source!r} (known: {', '.join(sorted(known_sources))})",
                )
            )
        for position, base in enumerate(item.derived_from):
            if base.endswith("*") and len(base) > 1:
                continue  # a prefix: matches whatever indicators carry it (possibly none yet)
            if base not in known_ids:
                problems.append(
                    (f"{where}.derived_from[{position}]", f"unknown indicator {base!r}")
                )
            elif base == item.id:
                problems.append(
                    (f"{where}.derived_from[{position}]", "an indicator cannot derive from itself")
                )
        if item.source == "derived" and (item.derivation is None or not item.derived_from):
            problems.append(
                (where, "a derived indicator needs both `derivation` and `derived_from`")
            )
        if item.source != "derived" and item.derivation is not None:
            problems.append(
                (f"{where}.derivation", 'only `source = "derived"` indicators have a derivation')
            )
        if item.source == "derived" and item.in_force_sources:
            problems.append(
                (
                    f"{where}.in_force_sources",
                    "only base price series have price-in-force sources (a derived indicator's "
                    "rows are computed, not official revisions)",
                )
            )
        if item.release_calendar and item.release_calendar not in calendars:
            problems.append(
                (
                    f"{where}.release_calendar",
                    f"unknown release calendar {item.release_calendar!r} "
                    f"(known: {', '.join(sorted(calendars))})",
                )
            )
        low, high = item.valid_min, item.valid_max
        if low is not None and high is not None and low >= high:
            problems.append(
                (
                    f"{where}.valid_max",
                    f"valid_max ({high:g}) must be greater than valid_min ({low:g})",
                )
            )
        problems.extend(_check_normalisation(settings, where, item))
    return problems


def _check_normalisation(settings: Settings, where: str, item: IndicatorSettings) -> list[Problem]:
    norm = item.normalisation
    pillar = settings.pillars.get(item.pillar)
    scored = pillar is not None and pillar.kind != "context"
    if norm.method != "goalposts":
        return []
    if norm.lower is None or norm.upper is None:
        if scored and item.enabled:
            missing = "lower" if norm.lower is None else "upper"
            return [(f"{where}.normalisation.{missing}", "goalposts need both lower and upper")]
        return []
    if norm.lower >= norm.upper:
        return [
            (
                f"{where}.normalisation.upper",
                f"upper ({norm.upper:g}) must be greater than lower ({norm.lower:g})",
            )
        ]
    if norm.log and norm.lower <= -1:
        return [(f"{where}.normalisation.lower", "log goalposts need lower > -1 (log1p)")]
    return []


def _check_pillars(settings: Settings) -> list[Problem]:
    problems: list[Problem] = []
    weights: dict[str, list[float]] = {}
    for item in settings.indicators:
        if item.enabled:
            weights.setdefault(item.pillar, []).append(item.weight)
    for pillar_id, pillar in settings.pillars.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]*", pillar_id):
            problems.append((f"pillars.{pillar_id}", "pillar ids are lower-case identifiers"))
        pillar_weights = weights.get(pillar_id, [])
        if pillar.kind != "context" and pillar_weights and not any(pillar_weights):
            problems.append(
                (
                    f"pillars.{pillar_id}",
                    "every enabled indicator of this pillar has weight 0; give at least one a "
                    'positive weight or set the pillar\'s kind to "context"',
                )
            )
    for kind in ("structural", "trigger"):
        kind_weights = [p.weight for p in settings.pillars.values() if p.kind == kind]
        if kind_weights and not any(kind_weights):
            first = next(k for k, p in settings.pillars.items() if p.kind == kind)
            problems.append((f"pillars.{first}.weight", f"all {kind} pillars have weight 0"))
    return problems


def _check_bands(settings: Settings) -> list[Problem]:
    problems: list[Problem] = []
    if not settings.bands:
        return [("bands", "define at least one band")]
    if settings.bands[0].lower != 0:
        problems.append(("bands[0].lower", "the first band must start at 0"))
    for index in range(1, len(settings.bands)):
        previous, current = settings.bands[index - 1], settings.bands[index]
        if current.lower <= previous.lower:
            problems.append(
                (
                    f"bands[{index}].lower",
                    f"band cut-offs must increase: {current.lower:g} is not above "
                    f"{previous.lower:g} ({previous.name!r})",
                )
            )
    for index, name in _duplicates([band.name for band in settings.bands]):
        problems.append((f"bands[{index}].name", f"duplicate band name {name!r}"))
    return problems


def _check_rules(settings: Settings) -> list[Problem]:
    problems: list[Problem] = []
    rules = settings.alerts.rules
    indicator_ids = {item.id for item in settings.indicators}
    for index, duplicate in _duplicates([rule.id for rule in rules]):
        problems.append((f"alerts.rules[{index}].id", f"duplicate rule id {duplicate!r}"))
    for index, rule in enumerate(rules):
        where = f"alerts.rules[{index}]"
        if not rule.id:
            problems.append((f"{where}.id", "every rule needs an id"))
        target_problem = _target_problem(settings, rule, indicator_ids)
        if target_problem:
            problems.append((f"{where}.target", target_problem))
        if rule.kind in _KINDS_NEEDING_THRESHOLD and rule.threshold is None:
            problems.append((f"{where}.threshold", f"a {rule.kind} rule needs a threshold"))
        if rule.threshold is not None and rule.recovery is not None:
            wrong = (
                rule.recovery > rule.threshold
                if rule.condition == "above"
                else rule.recovery < rule.threshold
            )
            if wrong:
                safe = "at or below" if rule.condition == "above" else "at or above"
                problems.append(
                    (
                        f"{where}.recovery",
                        f"recovery ({rule.recovery:g}) must be {safe} the threshold "
                        f"({rule.threshold:g}) for a rule that fires {rule.condition} it",
                    )
                )
        if rule.margin and rule.kind != "band_change":
            problems.append((f"{where}.margin", "only a band_change rule has a margin"))
        for position, channel in enumerate(rule.channels):
            if channel not in settings.notifications.channels:
                problems.append(
                    (
                        f"{where}.channels[{position}]",
                        f"unknown channel {channel!r} (defined: "
                        f"{', '.join(settings.notifications.channels) or 'none'})",
                    )
                )
    return problems


def _target_problem(settings: Settings, rule: AlertRule, indicator_ids: set[str]) -> str:
    kind, target_id = rule.target_kind, rule.target_id
    if rule.target in ("composite", "trigger"):
        pass
    elif kind == "pillar":
        if target_id not in settings.pillars:
            return f"unknown pillar {target_id!r}"
    elif kind == "indicator":
        if target_id not in indicator_ids:
            return f"unknown indicator {target_id!r}"
    elif kind == "source":
        if target_id != "*" and target_id not in settings.sources.names():
            return f"unknown source {target_id!r}"
    else:
        return (
            f"{rule.target!r} is not a target: use composite, trigger, pillar:<id>, "
            "indicator:<id> or source:<name>"
        )
    allowed: dict[str, tuple[str, ...]] = {
        "level": ("composite", "pillar", "indicator"),
        "change": ("composite", "pillar", "indicator"),
        "spike": ("indicator",),
        "stale": ("indicator", "source", "trigger"),
        "band_change": ("composite",),
    }
    if kind not in allowed[rule.kind]:
        return f"a {rule.kind} rule cannot watch a {kind} (use: {', '.join(allowed[rule.kind])})"
    return ""


def _check_channels(settings: Settings) -> list[Problem]:
    problems: list[Problem] = []
    for name, channel in settings.notifications.channels.items():
        where = f"notifications.channels.{name}"
        if isinstance(channel, WebhookChannel) and not (channel.url or channel.url_env):
            problems.append((where, "a webhook channel needs `url` or `url_env`"))
        if isinstance(channel, EmailChannel) and channel.enabled and not channel.recipients:
            problems.append((f"{where}.recipients", "an e-mail channel needs recipients"))
    return problems
