"""The fault matrix every registered source must pass, and how a source plugs into it.

A source joins by providing `tests/fetchers/cases/<registry name>.py` with a module-level

    CASE = FaultMatrixCase(
        source="imf",
        indicators=(make_indicator("imf_cpi_inflation", "imf", "PCPIPCH", unit="%"),),
        countries=("KAZ",),
        install=install_healthy_routes,        # ReplayServer -> None: serve recorded bodies
        fault_path="/external/datamapper/api/v1/PCPIPCH/KAZ",   # the data request to break
        healthy_body=(FIXTURES / "imf" / "PCPIPCH_KAZ.json").read_bytes(),
        schema_changed_body=b'{"values": {"PCPIPCH": ...}}',    # SYNTHETIC, say so
        empty_body=b'{"values": {}}',                           # SYNTHETIC or recorded
    )

`test_fault_matrix.py` runs every (registered source × fault) pair; a registered source without
a case fails the suite. For each pair the harness:

1. starts one replay server for the source (healthy routes from `install`, then the fault on
   `fault_path` on top) and one for a companion source that is healthy;
2. seeds the store with sentinel observations for the case's indicators × countries (so any
   write by the faulted source, partial or not, would show);
3. runs `flashpoint.refresh.refresh_sources` for both sources, with `max_retries=2`, a short
   timeout and a tiny Retry-After cap;
4. asserts: the source's report and fetch-run row say "error" and name the source and the
   cause; the requests that reached `fault_path` are bounded (exactly 1 + max_retries for
   the retryable faults); the observations table is byte-for-byte what it was; the companion
   source refreshed fine.

The base URL the fetcher sees is `server.url + case.base_path`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from indicators.catalogue import Frequency, Indicator, Normalisation
from tests.support.replay_server import (
    QueryMatch,
    ReplayServer,
    Reply,
    Script,
    hang,
    html_page,
    rate_limited,
    reset,
    server_error,
    truncated,
)


def make_indicator(
    indicator_id: str,
    source: str,
    source_code: str,
    *,
    unit: str = "",
    frequency: Frequency = "annual",
    higher_is_riskier: bool = True,
) -> Indicator:
    """A catalogue `Indicator` with test defaults for everything scoring-related."""
    return Indicator(
        id=indicator_id,
        name=indicator_id.replace("_", " "),
        pillar="context",
        factor="",
        source=source,
        source_code=source_code,
        unit=unit,
        higher_is_riskier=higher_is_riskier,
        frequency=frequency,
        normalisation=Normalisation(),
    )


@dataclass(frozen=True)
class FaultMatrixCase:
    """How to run one source against the replay server, healthy and broken.

    Attributes:
        source: registry name.
        indicators: catalogue indicators the source serves in this scenario.
        countries: countries to request.
        install: adds the healthy routes (recorded bodies) to a fresh server.
        fault_path: path (exact, or compiled regex) of the data request the faults replace.
        healthy_body: the body normally served on `fault_path` (truncated for that fault).
        schema_changed_body: a body with a field the parser needs missing or renamed (SYNTHETIC).
        empty_body: a well-formed answer with no data where data is expected.
        fault_query: optional query match narrowing `fault_path`.
        content_type: content type of `healthy_body` and the two synthetic bodies.
        base_path: appended to the server URL to form the source's `base_url`.
        settings: extra source settings (beyond base_url/timeout/retries/interval).
        env: environment variables to set (credentials for keyed sources; fake values).
        seed_period: period of the sentinel rows seeded before the faulted run.
        now: the refresh clock, for sources whose requests depend on today's date.
        cause_words: per fault name, words one of which must appear in the error (overrides).
        skip_faults: fault names that cannot apply to this source, with the reason why.
    """

    source: str
    indicators: tuple[Indicator, ...]
    countries: tuple[str, ...]
    install: Callable[[ReplayServer], None]
    fault_path: str | re.Pattern[str]
    healthy_body: bytes
    schema_changed_body: bytes
    empty_body: bytes
    fault_query: QueryMatch = None
    content_type: str = "application/json;charset=utf-8"
    base_path: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    seed_period: date = date(2019, 1, 1)
    now: datetime | None = None
    cause_words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    skip_faults: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fault:
    """One row of the matrix: what the server does and what the error must say."""

    name: str
    script: Callable[[FaultMatrixCase], Script]
    cause_words: tuple[str, ...]
    retried: bool  # True: the shared HTTP layer must retry it exactly max_retries times


# Harness parameters: small so the whole matrix runs in seconds.
MAX_RETRIES = 2
TIMEOUT_SECONDS = 0.3
RETRY_AFTER_CAP = 0.02


def _body_reply(body: Callable[[FaultMatrixCase], bytes]) -> Callable[[FaultMatrixCase], Script]:
    return lambda case: Reply(200, body(case), content_type=case.content_type)


FAULTS: tuple[Fault, ...] = (
    Fault("timeout", lambda case: hang(TIMEOUT_SECONDS * 6), ("timed out", "timeout"), True),
    Fault("connection_reset", lambda case: reset(), ("reset", "connection"), True),
    # Retry-After far beyond the cap: the test only finishes quickly if the cap is applied.
    Fault("rate_limited_429", lambda case: rate_limited("3600"), ("429", "rate limit"), True),
    Fault("http_500", lambda case: server_error(500), ("500",), True),
    Fault("http_502", lambda case: server_error(502), ("502",), True),
    Fault("http_503", lambda case: server_error(503), ("503",), True),
    Fault("html_instead_of_data", lambda case: html_page(), ("html",), False),
    Fault(
        "truncated_body",
        lambda case: truncated(case.healthy_body, content_type=case.content_type),
        ("truncated", "cut off", "incomplete"),
        False,
    ),
    Fault(
        "schema_changed",
        _body_reply(lambda case: case.schema_changed_body),
        ("layout", "schema", "missing", "changed", "unexpected"),
        False,
    ),
    Fault(
        "empty_result",
        _body_reply(lambda case: case.empty_body),
        ("empty", "no data", "no rows", "no observations"),
        False,
    ),
)

FAULTS_BY_NAME: dict[str, Fault] = {fault.name: fault for fault in FAULTS}


# -- settings doubles for `refresh_sources` ----------------------------------------------

@dataclass
class PlainSourceSettings:
    """Settings for a source the config does not know (the harness's companion source)."""

    base_url: str
    timeout_seconds: float = TIMEOUT_SECONDS
    max_retries: int = MAX_RETRIES
    min_interval_seconds: float = 0.0
    enabled: bool = True


def source_settings(name: str, **values: Any) -> Any:
    """The config's own settings model for `name` (validated), or plain settings if unknown."""
    from flashpoint.config import SourcesSettings

    field_info = SourcesSettings.model_fields.get(name)
    if field_info is None or field_info.annotation is None:
        known = {key: values[key] for key in ("base_url", "timeout_seconds", "max_retries",
                                             "min_interval_seconds", "enabled") if key in values}
        return PlainSourceSettings(**known)
    model: Any = field_info.annotation
    return model.model_validate(values)


@dataclass
class _General:
    countries: tuple[str, ...]


@dataclass
class _Sources:
    by_name: dict[str, Any]

    def names(self) -> tuple[str, ...]:
        return tuple(self.by_name)

    def get(self, name: str) -> Any:
        return self.by_name[name]


@dataclass
class HarnessSettings:
    """A minimal `flashpoint.refresh.RefreshSettings`: sources, countries, catalogue."""

    general: _General
    sources: _Sources
    indicators: tuple[Indicator, ...]

    def catalogue(self) -> Any:
        from indicators.catalogue import Catalogue

        return Catalogue(indicators=self.indicators, pillars=())


def harness_settings(
    sources: Mapping[str, Any], indicators: tuple[Indicator, ...], countries: tuple[str, ...]
) -> HarnessSettings:
    """Settings for `refresh_sources` from source settings objects and catalogue indicators."""
    return HarnessSettings(_General(countries), _Sources(dict(sources)), indicators)
