"""Build `FetchRequest`s and sessions for one source from the packaged default config, for tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from fetchers.base import FetchRequest, HttpValidator
from fetchers.http import FlashpointSession, make_session
from flashpoint.config import load_config


def make_request(
    source: str,
    *,
    base_url: str | None = None,
    countries: tuple[str, ...] = (),
    since: Mapping[tuple[str, str], dt.date] | None = None,
    validators: Mapping[str, HttpValidator] | None = None,
    now: dt.datetime = dt.datetime(2026, 9, 1, 6, 0),
    include_disabled: bool = False,
    **settings_overrides: Any,
) -> FetchRequest:
    """A request for `source` with the default catalogue's indicators and overridden settings."""
    settings = load_config(None)
    source_settings = settings.source(source)
    updates = dict(settings_overrides)
    if base_url is not None:
        updates["base_url"] = base_url
    source_settings = source_settings.model_copy(update=updates)
    indicators = tuple(
        item
        for item in settings.catalogue().indicators
        if item.source == source and (item.enabled or include_disabled)
    )
    return FetchRequest(
        source=source,
        settings=source_settings,
        indicators=indicators,
        countries=countries,
        validators=dict(validators or {}),
        since=dict(since or {}),
        now=now,
    )


class FakeClock:
    """A monotonic clock that only moves when the fake sleep is called."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_test_session(
    *, max_retries: int = 2, min_interval_seconds: float = 0.0, clock: FakeClock | None = None
) -> FlashpointSession:
    """A real Flashpoint session with instant backoff and a fake clock for the rate limiter."""
    clock = clock or FakeClock()
    return make_session(
        max_retries=max_retries,
        backoff_factor=0.0,
        retry_after_cap=0.0,
        timeout=(2.0, 2.0),
        min_interval_seconds=min_interval_seconds,
        clock=clock,
        sleep=clock.sleep,
    )
